/**
 * One schema object on a target session (or several in one transaction): its existence check,
 * its statements, retries after a transient failure, and the error that names it.
 */
import type { Client } from 'pg';
import { isRetryable, sqlstateOf } from '../pg/retryable';
import type { Phase, SchemaObject } from './model';
import type { Sessions } from './sessions';

export type ObjectStatus = 'created' | 'existed' | 'repaired' | 'failed' | 'skipped';

export interface ObjectError {
  /** The statement the server refused. */
  statement: string;
  message: string;
  sqlstate?: string;
  detail?: string;
  hint?: string;
}

export interface ObjectResult {
  id: string;
  kind: SchemaObject['kind'];
  name: string;
  phase: Phase;
  status: ObjectStatus;
  seconds: number;
  error?: ObjectError;
  /** For a skipped object: the name of the failed (or skipped) object it depends on. */
  skippedBecause?: string;
}

export function base(o: SchemaObject): Pick<ObjectResult, 'id' | 'kind' | 'name' | 'phase'> {
  return { id: o.id, kind: o.kind, name: o.name, phase: o.phase };
}


/** "tuple concurrently updated": two sessions touched one catalog row; trying again succeeds. */
function isTransient(err: unknown): boolean {
  if (isRetryable(err)) return true;
  return sqlstateOf(err) === 'XX000' && err instanceof Error && /tuple concurrently (updated|deleted)/.test(err.message);
}

/** A failure of the statement itself, as opposed to the session around it. */
class StatementError extends Error {
  constructor(
    readonly statement: string,
    readonly original: unknown,
  ) {
    super(original instanceof Error ? original.message : String(original));
  }
}

/** duplicate_table, duplicate_object, duplicate_schema, and a catalog unique violation of a concurrent CREATE. */
const CONCURRENT_DUPLICATE = new Set(['42P07', '42710', '42P06', '23505']);

export async function runWithRetries(sessions: Sessions, o: SchemaObject, retries: number, knownState?: string): Promise<ObjectResult> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    let client: Client | undefined;
    try {
      client = await sessions.acquire();
      const status = await execute(client, o, attempt === 0 ? knownState : undefined);
      sessions.release(client);
      return { ...base(o), status, seconds: (Date.now() - started) / 1000 };
    } catch (err) {
      const cause = err instanceof StatementError ? err.original : err;
      if (client) await sessions.afterError(client, o.transactional);
      // A duplicate means another session (a twice-delivered activity) created it meanwhile: the
      // existence check of the next attempt finds it.
      if (attempt < retries && (isTransient(cause) || (o.check !== undefined && CONCURRENT_DUPLICATE.has(sqlstateOf(cause) ?? '')))) {
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
        continue;
      }
      const statement = err instanceof StatementError ? err.statement : '(connecting to the target)';
      return { ...base(o), status: 'failed', seconds: (Date.now() - started) / 1000, error: describe(statement, cause) };
    }
  }
}

/**
 * Several objects in one transaction and one round trip. On any failure the transaction is rolled
 * back and each object runs on its own (checked again: a twin may have created it meanwhile).
 */
export async function runBatch(sessions: Sessions, batch: readonly SchemaObject[], retries: number): Promise<ObjectResult[]> {
  const started = Date.now();
  let client: Client | undefined;
  try {
    client = await sessions.acquire();
    await client.query(['BEGIN', ...batch.flatMap((o) => o.sql), 'COMMIT'].join(';\n'));
    sessions.release(client);
    const seconds = (Date.now() - started) / 1000;
    return batch.map((o) => ({ ...base(o), status: 'created', seconds }));
  } catch {
    if (client) await sessions.afterError(client, true);
    const results: ObjectResult[] = [];
    for (const o of batch) results.push(await runWithRetries(sessions, o, retries));
    return results;
  }
}

/** Runs the object; `knownState` is its check's state read just before the phase (first attempt only). */
async function execute(client: Client, o: SchemaObject, knownState?: string): Promise<ObjectStatus> {
  if (o.sql.length === 0) return 'created';
  let status: ObjectStatus = 'created';
  if (o.check) {
    const state = knownState ?? (await checkState(client, o.check));
    if (state === 'done') {
      // Outside a transaction the statements after the CREATE (comments, CLUSTER ON …) may not
      // have run before a crash; they are idempotent, so they run again.
      if (!o.transactional) for (const stmt of o.sql.slice(1)) await run(client, stmt);
      return 'existed';
    }
    if (state === 'broken' && o.check.repair) {
      await run(client, o.check.repair);
      status = 'repaired';
    }
  }
  if (o.transactional) await runInOneTrip(client, o.sql);
  else for (const stmt of o.sql) await run(client, stmt);
  return status;
}

/**
 * A transactional object's statements between BEGIN and COMMIT in one simple-protocol string:
 * one round trip instead of one per statement plus two (thousands of small objects are mostly
 * round trips). PostgreSQL does not say which statement of a string failed, so after a failure
 * the object runs again statement by statement, which names it (or succeeds, if the failure was
 * passing). A failure leaves the transaction aborted; the caller rolls it back.
 */
async function runInOneTrip(client: Client, sql: readonly string[]): Promise<void> {
  try {
    await client.query(['BEGIN', ...sql, 'COMMIT'].join(';\n'));
    return;
  } catch (err) {
    if (sql.length === 1) throw new StatementError(sql[0] as string, err);
    await client.query('ROLLBACK').catch(() => {
      throw new StatementError(sql.join(';\n'), err);
    });
  }
  await run(client, 'BEGIN');
  for (const stmt of sql) await run(client, stmt);
  await run(client, 'COMMIT');
}

async function checkState(client: Client, check: NonNullable<SchemaObject['check']>): Promise<string> {
  return run(client, check.sql, check.params).then((r) => String(r.rows[0]?.state));
}

async function run(client: Client, text: string, values?: unknown[]) {
  try {
    return await client.query<Record<string, unknown>>(text, values);
  } catch (err) {
    throw new StatementError(text, err);
  }
}

export function describe(statement: string, err: unknown): ObjectError {
  const e = err as { message?: string; detail?: string; hint?: string };
  const sqlstate = sqlstateOf(err);
  return {
    statement,
    message: e?.message ?? String(err),
    ...(sqlstate ? { sqlstate } : {}),
    ...(e?.detail ? { detail: e.detail } : {}),
    ...(e?.hint ? { hint: e.hint } : {}),
  };
}

