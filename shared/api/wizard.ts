/**
 * The wizard's helpers (seed: "Test Connection", database list): connect with what the user typed,
 * answer a classified result. The password is used for this call only and never stored or echoed.
 */
import { z } from 'zod';
import { armEnum } from '../model/flags';
import { SSL_MODES } from '../model/states';
import { fromSafeParse, unwrap } from '../model/errors';
import { testConnection, type TestConnectionResult } from '../pg/test-connection';
import { listDatabases, type DatabaseInfo } from '../pg/list-databases';
import type { ServerEndpoint } from '../pg/endpoint';
import { addKnownSecret } from '../log/redact';

const connectionSchema = z
  .object({
    host: z.string().trim().min(1, 'is empty').max(255),
    port: z.coerce.number().int().min(1).max(65535).default(5432),
    user: z.string().min(1, 'is empty').max(128),
    password: z.string().max(1024).default(''),
    sslMode: armEnum(SSL_MODES).default('Prefer'),
    database: z.string().min(1).max(63).optional(),
  })
  .strict();

export function parseConnectionBody(body: unknown): ServerEndpoint {
  const v = unwrap(fromSafeParse(connectionSchema.safeParse(body)));
  addKnownSecret(v.password);
  return { host: v.host, port: v.port, user: v.user, password: v.password, sslMode: v.sslMode, ...(v.database ? { database: v.database } : {}) };
}

/** The facts object is left out: a wizard needs the verdict, version, SSL and role abilities. */
export async function wizardTestConnection(body: unknown, timeoutMs: number): Promise<Omit<TestConnectionResult, 'facts'>> {
  const result = await testConnection(parseConnectionBody(body), { timeoutMs });
  if (!result.ok) return result;
  const { facts: _facts, ...rest } = result;
  return rest;
}

export async function wizardListDatabases(body: unknown, timeoutMs: number): Promise<{ value: DatabaseInfo[] } | Omit<TestConnectionResult, 'facts'>> {
  const endpoint = parseConnectionBody(body);
  const probe = await wizardTestConnection(body, timeoutMs);
  if (!probe.ok) return probe;
  return { value: await listDatabases(endpoint, { timeoutMs }) };
}
