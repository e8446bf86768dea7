/**
 * What every step shares: how it answers (a Result, or a throw that Durable retries) and how it
 * writes its database's row. Retryable or not is decided by pg/retryable.ts, the one table.
 */
import { isRetryable, sqlstateOf } from '../pg/retryable';
import { updateDatabase, type DatabaseRecord } from '../store/databases';
import type { DatabaseKey, Result } from './contracts';
import type { Runtime } from './runtime';

export const nowIso = (): string => new Date().toISOString();

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export function fail(message: string, context?: Record<string, string>): Result<never> {
  return { ok: false, failure: { message, ...(context ? { context } : {}) } };
}

/** Permanent errors become a failed Result with context; retryable ones are rethrown for Durable. */
export function permanent(err: unknown, context: Record<string, string>): Result<never> {
  if (isRetryable(err)) throw err;
  const code = sqlstateOf(err);
  const message = err instanceof Error ? err.message : String(err);
  return fail(`${context.phase ?? 'step'} failed: ${message}`, { ...context, ...(code ? { sqlstate: code } : {}) });
}

/** Read-modify-write of the database's row (see store/databases.ts). */
export function setDb(rt: Runtime, k: DatabaseKey, mutate: (r: DatabaseRecord) => DatabaseRecord | undefined) {
  return updateDatabase(rt.store, { server: k.server, name: k.name }, k.db, mutate);
}

/** A sequence sync's report on the database row: sequences the target lacks are named, not dropped silently. */
export async function reportMissingSequences(rt: Runtime, k: DatabaseKey, missing: readonly string[]): Promise<void> {
  if (missing.length === 0) return;
  const shown = missing.slice(0, 10).join(', ') + (missing.length > 10 ? ' …' : '');
  await setDb(rt, k, (r) => ({ ...r, message: `${missing.length} source sequence(s) have no counterpart on the target and were not set: ${shown}` }));
}
