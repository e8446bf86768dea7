/**
 * Security end to end, through the built app in the offline host with function keys enforced:
 * - access: 401 without a key, 200 with it (x-functions-key header and ?code=), anonymous health
 *   without one; the Durable webhooks need the system key; the app's own Durable client still works
 *   (the whole migration below runs through it);
 * - secrets: an Online migration with distinctive passwords (dedicated LOGIN roles on the rig
 *   clusters), then every entity of every table in the Azurite account, every instance's history
 *   (through the Durable HTTP API with inputs and outputs), the host's log and every API answer
 *   are scanned for both passwords — plain, JSON-escaped (once and twice), URL-encoded, hex and
 *   base64/base64url at every alignment: zero hits. A wrong password fails the migration with a
 *   message that does not contain it; the wizard's test-connection answers do not either.
 */
import { randomBytes } from 'node:crypto';
import { TableServiceClient, TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestDatabase, dropTestDatabase, sql, withAdmin } from '../support/databases';
import { http, stopAllHosts, useHost, waitFor, type HttpInit, type Reply } from '../support/host';
import { migrationBody, migrationUrl, waitForState } from '../support/e2e';
import type { ServerInfo } from '../support/cluster';
import { createStoreContext } from '../../shared/store/tables';
import { getSecrets } from '../../shared/secrets/store';
import type { MigrationResource } from '../../shared/model/migration-resource';

const source = inject('source');
const target = inject('target');
const azurite = inject('azurite');

const tag = randomBytes(4).toString('hex');
const FUNCTION_KEY = randomBytes(24).toString('base64url');
const SYSTEM_KEY = randomBytes(24).toString('base64url');
// Distinctive, and awkward on purpose: quotes, a backslash and non-ASCII change under every encoding scanned for.
const SOURCE_PASSWORD = `SrcPw-${randomBytes(6).toString('hex')}-"q'\\ü~`;
const TARGET_PASSWORD = `TgtPw-${randomBytes(6).toString('hex')}-"r'\\é!`;
const WRONG_PASSWORD = `WrongPw-${randomBytes(6).toString('hex')}-"x'\\ö`;
const SOURCE_ROLE = `pgf_sec_src_${tag}`;
const TARGET_ROLE = `pgf_sec_tgt_${tag}`;
const SERVER = 'sec-target';

const host = useHost({ functionKey: FUNCTION_KEY, systemKey: SYSTEM_KEY });
let db: string;
/** Every answer this file received from the host, for the scan. */
const answers: string[] = [];

async function call(url: string, init: HttpInit = {}): Promise<Reply> {
  const r = await http(url, init);
  answers.push(r.text);
  return r;
}

// ---- the scanner -----------------------------------------------------------------------------

/** The stable middle of base64(pad + secret) for pad of 0, 1, 2 bytes: whatever precedes it, this text appears. */
function base64Cores(secret: Buffer): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const b64 = Buffer.concat([Buffer.alloc(k), secret]).toString('base64').replace(/=+$/, '');
    const from = Math.ceil((8 * k) / 6);
    const to = Math.floor((8 * (k + secret.length)) / 6);
    const core = b64.slice(from, to);
    out.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return out;
}

function encodedForms(secret: string): string[] {
  const json1 = JSON.stringify(secret).slice(1, -1);
  const json2 = JSON.stringify(json1).slice(1, -1);
  const asciiJson = json1.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const texts = [secret, json1, json2, asciiJson, encodeURIComponent(secret)];
  const base64 = texts.flatMap((t) => base64Cores(Buffer.from(t, 'utf8')));
  return [...new Set([...texts, Buffer.from(secret, 'utf8').toString('hex'), ...base64])];
}

const SECRETS = { source: SOURCE_PASSWORD, target: TARGET_PASSWORD, wrong: WRONG_PASSWORD };

/** Every (secret, form) found in `text`, with where. */
function hits(where: string, text: string): string[] {
  const found: string[] = [];
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const form of encodedForms(secret)) if (text.includes(form)) found.push(`${where}: ${name} password as ${JSON.stringify(form)}`);
  }
  return found;
}

/** Every string an entity holds (binary properties as UTF-8 and base64), and the entity as JSON. */
function entityTexts(e: Record<string, unknown>): string[] {
  const plain = (_k: string, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : typeof v === 'bigint' ? v.toString() : v);
  const out: string[] = [JSON.stringify(e, plain)];
  for (const v of Object.values(e)) {
    if (typeof v === 'string') out.push(v);
    else if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8'));
  }
  return out;
}

async function scanAzurite(): Promise<{ hits: string[]; tables: number; entities: number; ownTables: string[] }> {
  const options = { allowInsecureConnection: true };
  const service = TableServiceClient.fromConnectionString(azurite.connectionString, options);
  const found: string[] = [];
  let tables = 0;
  let entities = 0;
  const ownTables: string[] = [];
  for await (const t of service.listTables()) {
    const name = t.name ?? '';
    tables++;
    if (name.startsWith(host.prefix) || name.startsWith(host.hub)) ownTables.push(name);
    const client = TableClient.fromConnectionString(azurite.connectionString, name, options);
    // Per partition, values are also joined in row order: a body split across properties or rows is scanned whole.
    const partitions = new Map<string, string[]>();
    for await (const e of client.listEntities<Record<string, unknown>>()) {
      entities++;
      const texts = entityTexts(e);
      for (const text of texts) found.push(...hits(`${name}/${String(e.partitionKey)}/${String(e.rowKey)}`, text));
      const key = String(e.partitionKey);
      partitions.set(key, [...(partitions.get(key) ?? []), ...texts.slice(1)]);
    }
    for (const [pk, texts] of partitions) found.push(...hits(`${name}/${pk} (joined)`, texts.join('')));
  }
  return { hits: [...new Set(found)], tables, entities, ownTables };
}

// ---- rig -------------------------------------------------------------------------------------

async function createRole(server: ServerInfo, role: string, password: string): Promise<void> {
  await withAdmin(server, 'postgres', (c) => c.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD ${c.escapeLiteral(password)}`));
}

async function dropRole(server: ServerInfo, role: string): Promise<void> {
  await withAdmin(server, 'postgres', async (c) => {
    const { rows } = await c.query<{ exists: boolean }>('SELECT true AS exists FROM pg_roles WHERE rolname = $1', [role]);
    if (rows.length === 0) return;
    await c.query(`REASSIGN OWNED BY ${role} TO CURRENT_USER`);
    await c.query(`DROP OWNED BY ${role}`);
    await c.query(`DROP ROLE ${role}`);
  });
}

function bodyWith(dbs: string[], o: { sourcePassword: string; targetPassword: string }) {
  const body = migrationBody(source, target, dbs, { mode: 'Online', ...o, sourceUser: SOURCE_ROLE });
  body.properties.secretParameters.targetServerUsername = TARGET_ROLE;
  return body;
}

beforeAll(async () => {
  await createRole(source, SOURCE_ROLE, SOURCE_PASSWORD);
  await createRole(target, TARGET_ROLE, TARGET_PASSWORD);
  db = await createTestDatabase(source, 'secscan');
  await sql(source, db, `
    CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);
    INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 500) g;`);
});

afterAll(async () => {
  await stopAllHosts(); // before the database and the roles it uses go
  if (db) {
    await dropTestDatabase(source, db).catch(() => undefined);
    await dropTestDatabase(target, db).catch(() => undefined);
  }
  await dropRole(source, SOURCE_ROLE).catch(() => undefined);
  await dropRole(target, TARGET_ROLE).catch(() => undefined);
});

describe('access', () => {
  it('answers 401 without a key, 200 with it (header and ?code=), and serves health anonymously', async () => {
    const list = `${host.api}/flexibleServers/${SERVER}/migrations`;
    const none = await call(list, { key: null });
    expect(none.status).toBe(401);
    expect(none.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'Unauthorized', message: expect.stringMatching(/x-functions-key/) });
    expect((await call(list, { key: `${FUNCTION_KEY}x` })).status).toBe(401);
    expect((await call(list, { key: SYSTEM_KEY })).status).toBe(401);
    expect((await call(list, { key: null, headers: { 'x-functions-key': FUNCTION_KEY } })).status).toBe(200);
    expect((await call(`${list}?code=${encodeURIComponent(FUNCTION_KEY)}`, { key: null })).status).toBe(200);
    expect((await call(`${list}?migrationListFilter=All&code=${encodeURIComponent(FUNCTION_KEY)}`, { key: null })).status).toBe(200);
    // POST and PUT too; refused before the body is read.
    expect((await call(`${host.api}/wizard/testConnection`, { key: null, body: { host: source.host, port: source.port, user: SOURCE_ROLE, password: SOURCE_PASSWORD } })).status).toBe(401);
    expect((await call(`${host.api}/health`, { key: null })).status).toBe(200);
  });

  it('guards the Durable HTTP API with the system key, not the function key', async () => {
    const instances = `${host.url}/runtime/webhooks/durabletask/instances`;
    expect((await call(instances, { key: null })).status).toBe(401);
    expect((await call(instances, { key: FUNCTION_KEY })).status).toBe(401);
    expect((await call(`${instances}?code=${SYSTEM_KEY}`, { key: null })).status).toBe(200);
    expect((await call(instances, { key: SYSTEM_KEY })).status).toBe(200);
    const raise = await call(`${instances}/${encodeURIComponent('pgferry:x:y')}/raiseEvent/cutover`, { key: null, method: 'POST', body: {} });
    expect(raise.status).toBe(401);
    // A made-up in-process client path is just another webhook path: it needs the key too.
    expect((await call(`${host.url}/runtime/webhooks/durabletask/rpc-guess/instances`, { key: null })).status).toBe(401);
  });
});

describe('secrets', () => {
  it('the scanner finds every encoding it looks for (positive control)', () => {
    const doc = JSON.stringify({ nested: JSON.stringify({ p: SOURCE_PASSWORD }) });
    expect(hits('doc', doc)).not.toEqual([]);
    for (const pad of ['', 'a', 'ab']) expect(hits('b64', Buffer.from(`${pad}${doc}`).toString('base64'))).not.toEqual([]);
    expect(hits('url', `?p=${encodeURIComponent(TARGET_PASSWORD)}`)).not.toEqual([]);
    expect(hits('clean', 'nothing here')).toEqual([]);
  });

  it('runs an Online migration with distinctive passwords; no password appears in storage, history, logs or answers', async () => {
    const url = migrationUrl(host, SERVER, 'secret1');
    const put = await call(url, { method: 'PUT', body: bodyWith([db], { sourcePassword: SOURCE_PASSWORD, targetPassword: TARGET_PASSWORD }) });
    expect(put.status, put.text).toBe(201);

    const waiting = await waitForState(host, SERVER, 'secret1', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    answers.push(JSON.stringify(waiting));
    // Positive control: the passwords are stored, sealed, where they belong (until the migration ends).
    const store = createStoreContext(azurite.connectionString, { prefix: host.prefix });
    const sealed = await getSecrets(store, SERVER, 'secret1', { current: Buffer.from(host.secretKey, 'base64') });
    expect(sealed).toEqual({ sourcePassword: SOURCE_PASSWORD, targetPassword: TARGET_PASSWORD });
    const midway = await scanAzurite();
    expect(midway.ownTables).toContain(`${host.prefix}Secrets`);
    expect(midway.hits).toEqual([]);
    await sql(source, db, `INSERT INTO notes SELECT g, 'late ' || g FROM generate_series(501, 520) g`);
    const patch = await call(url, { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } });
    expect(patch.status, patch.text).toBe(200);
    const done = await waitForState(host, SERVER, 'secret1', 'Succeeded', 'Completed');
    answers.push(JSON.stringify(done));
    const rows = await sql(target, db, 'SELECT count(*)::int AS n FROM notes');
    expect(rows.rows[0]).toEqual({ n: 520 });

    // A wrong password: the migration fails, saying why, without the password.
    const wrongUrl = migrationUrl(host, SERVER, 'wrongpw');
    expect((await call(wrongUrl, { method: 'PUT', body: bodyWith([db], { sourcePassword: WRONG_PASSWORD, targetPassword: TARGET_PASSWORD }) })).status).toBe(201);
    const failed = await waitFor('wrongpw Failed', async () => {
      const r = await call(wrongUrl);
      const m = r.json<MigrationResource>();
      return m.properties.currentStatus.state === 'Failed' ? m : undefined;
    });
    expect(failed.properties.currentStatus.error).toMatch(/[Pp]assword authentication failed/);
    expect(hits('wrongpw error', JSON.stringify(failed))).toEqual([]);

    // The wizard: a wrong and a right password, answered without either.
    const wrong = await call(`${host.api}/wizard/testConnection`, { body: { host: source.host, port: source.port, user: SOURCE_ROLE, password: WRONG_PASSWORD, sslMode: 'Prefer' } });
    expect(wrong.status).toBe(200);
    expect(wrong.json<{ ok: boolean; kind: string }>()).toMatchObject({ ok: false, kind: 'AuthenticationFailed' });
    const right = await call(`${host.api}/wizard/testConnection`, { body: { host: source.host, port: source.port, user: SOURCE_ROLE, password: SOURCE_PASSWORD, sslMode: 'Prefer' } });
    expect(right.json<{ ok: boolean }>().ok).toBe(true);
    const listed = await call(`${host.api}/wizard/listDatabases`, { body: { host: target.host, port: target.port, user: TARGET_ROLE, password: TARGET_PASSWORD, sslMode: 'Require' } });
    expect(listed.status).toBe(200);

    // Every instance's status with input, output and full history, through the Durable HTTP API.
    const list = await call(`${host.url}/runtime/webhooks/durabletask/instances?showInput=true`);
    expect(list.status).toBe(200);
    const ids = list.json<Array<{ instanceId: string }>>().map((i) => i.instanceId);
    expect(ids).toContain('pgferry:sec-target:secret1');
    expect(ids.length).toBeGreaterThan(3);
    let events = 0;
    for (const id of ids) {
      const s = await call(`${host.url}/runtime/webhooks/durabletask/instances/${encodeURIComponent(id)}?showHistory=true&showHistoryOutput=true&showInput=true`);
      expect([200, 202]).toContain(s.status);
      events += s.json<{ historyEvents?: unknown[] }>().historyEvents?.length ?? 0;
    }
    expect(events).toBeGreaterThan(20);

    const azure = await scanAzurite();
    // Sanity: the scan saw pgferry's tables (secrets included) and the task hub's.
    expect(azure.ownTables.some((t) => t === `${host.prefix}Secrets`)).toBe(true);
    expect(azure.ownTables.some((t) => t.startsWith(host.hub))).toBe(true);
    console.log(`scanned ${azure.tables} tables, ${azure.entities} entities, ${ids.length} instances (${events} history events), ${answers.length} API answers, ${host.logs().length} log characters`);

    // Structured activity lines were written, redacted, with their context.
    expect(host.logs()).toMatch(/\{"time":"[^"]+","level":"info","msg":"copyChunk done","migration":"sec-target\/secret1","database":"[^"]+","phase":"copyChunk","durationMs":\d+/);

    expect(azure.hits).toEqual([]);
    expect(hits('host log', host.logs())).toEqual([]);
    expect(answers.flatMap((a, i) => hits(`answer ${i}`, a))).toEqual([]);
  }, 300_000);
});
