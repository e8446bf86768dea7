/**
 * Runs a phase (or any set of objects) on the target: up to `concurrency` sessions, each object
 * as soon as its dependencies are done, each in its own transaction. Re-running is safe: every
 * object's existence check runs first, and a broken leftover (an invalid index) is dropped and
 * rebuilt. A failed object is reported with its name, the statement and the server's message;
 * the objects depending on it are skipped and reported as such; everything else continues. With a
 * deadline, no object starts after it: the caller runs the phase again for the deferred rest.
 */
import type { Client } from 'pg';
import { isRetryable, sqlstateOf } from '../pg/retryable';
import type { Phase, SchemaObject, SchemaPlan } from './model';
import { precheckStates } from './precheck';
import { Sessions, type ConnectTarget } from './sessions';

export type { ConnectTarget };

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

export interface PhaseReport {
  phase: Phase | 'subset';
  /** No object failed or was skipped. */
  ok: boolean;
  counts: Record<ObjectStatus, number>;
  results: ObjectResult[];
  seconds: number;
  /** Objects not started because the deadline passed (not in results). */
  deferred: number;
}

export interface ApplyOptions {
  /** Sessions (and statements) in flight at once; default 4. */
  concurrency?: number;
  /** Attempts after a transient failure (lost connection, deadlock, lock timeout); default 2. */
  retries?: number;
  /** Earlier phases' reports: objects depending on one that failed there are skipped. */
  previous?: readonly PhaseReport[];
  /** maintenance_work_mem of the sessions, for index builds; default '256MB'. */
  maintenanceWorkMem?: string;
  /** Called as each object finishes, for progress. */
  onResult?: (result: ObjectResult) => void;
  /** Epoch ms after which no object starts (at least one does). */
  deadline?: number;
}

export async function applyPhase(plan: SchemaPlan, phase: Phase, connectTarget: ConnectTarget, opts: ApplyOptions = {}): Promise<PhaseReport> {
  // Objects held until replay has drained are created by applyObjects at completion.
  const report = await runObjects(plan, plan.objects.filter((o) => o.phase === phase && o.readiness !== 'drained'), connectTarget, opts);
  return { ...report, phase };
}

/** Runs the given objects (e.g. one table's `afterLoad` ids); dependencies outside them count as done. */
export async function applyObjects(plan: SchemaPlan, ids: readonly string[], connectTarget: ConnectTarget, opts: ApplyOptions = {}): Promise<PhaseReport> {
  const wanted = new Set(ids);
  return runObjects(plan, plan.objects.filter((o) => wanted.has(o.id)), connectTarget, opts);
}

async function runObjects(plan: SchemaPlan, objects: SchemaObject[], connectTarget: ConnectTarget, opts: ApplyOptions): Promise<PhaseReport> {
  const t0 = Date.now();
  const sessions = new Sessions(connectTarget, sessionSetup(plan, opts));
  const results = new Map<string, ObjectResult>();
  const bad = new Map<string, string>();
  for (const r of opts.previous?.flatMap((p) => p.results) ?? []) if (r.status === 'failed' || r.status === 'skipped') bad.set(r.id, r.name);

  const inSet = new Set(objects.map((o) => o.id));
  const pending = new Map(objects.map((o) => [o.id, o.deps.filter((d) => inSet.has(d)).length]));
  const dependents = new Map<string, SchemaObject[]>();
  for (const o of objects) {
    for (const d of o.deps) {
      if (!inSet.has(d)) continue;
      const list = dependents.get(d);
      if (list) list.push(o);
      else dependents.set(d, [o]);
    }
  }
  const known = await precheckStates(sessions, objects);
  const queue = objects.filter((o) => pending.get(o.id) === 0);
  let head = 0;
  let running = 0;
  let started = 0;
  const pastDeadline = () => opts.deadline !== undefined && started > 0 && Date.now() >= opts.deadline;

  const settle = (o: SchemaObject, r: ObjectResult) => {
    results.set(o.id, r);
    opts.onResult?.(r);
    if (r.status === 'failed' || r.status === 'skipped') bad.set(o.id, o.name);
    for (const next of dependents.get(o.id) ?? []) {
      const left = (pending.get(next.id) ?? 1) - 1;
      pending.set(next.id, left);
      if (left === 0) queue.push(next);
    }
  };

  try {
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (running < (opts.concurrency ?? 4) && head < queue.length && !pastDeadline()) {
          const o = queue[head++] as SchemaObject;
          const failedDep = o.deps.find((d) => bad.has(d) && !o.orderOnly?.includes(d));
          if (failedDep !== undefined) {
            settle(o, { ...base(o), status: 'skipped', seconds: 0, skippedBecause: bad.get(failedDep) ?? failedDep });
            continue;
          }
          running++;
          started++;
          void runWithRetries(sessions, o, opts.retries ?? 2, known.get(o.id))
            .catch((err: unknown): ObjectResult => ({ ...base(o), status: 'failed', seconds: 0, error: describe('(pgferry)', err) }))
            .then((r) => {
              running--;
              settle(o, r);
              pump();
            });
        }
        if (running === 0 && (head >= queue.length || pastDeadline())) resolve();
      };
      pump();
    });
    // Every object committed without waiting for its WAL flush; one flushed commit covers them all.
    if (started > 0) await sessions.flushCommits();
  } finally {
    await sessions.closeAll();
  }

  // Past the deadline, what did not start is deferred, not skipped.
  const deferred = pastDeadline() ? objects.filter((o) => !results.has(o.id)).length : 0;
  const ordered = objects.filter((o) => deferred === 0 || results.has(o.id))
    .map((o) => results.get(o.id) ?? { ...base(o), status: 'skipped' as const, seconds: 0, skippedBecause: 'unmet dependency' });
  const counts: Record<ObjectStatus, number> = { created: 0, existed: 0, repaired: 0, failed: 0, skipped: 0 };
  for (const r of ordered) counts[r.status]++;
  return { phase: 'subset', ok: counts.failed === 0 && counts.skipped === 0, counts, results: ordered, seconds: (Date.now() - t0) / 1000, deferred };
}

function base(o: SchemaObject): Pick<ObjectResult, 'id' | 'kind' | 'name' | 'phase'> {
  return { id: o.id, kind: o.kind, name: o.name, phase: o.phase };
}

/** Session settings: pg_dump's restore settings, plus no body checks and bigger index memory. */
function sessionSetup(plan: SchemaPlan, opts: ApplyOptions): string {
  const mem = (opts.maintenanceWorkMem ?? '256MB').replace(/[^0-9A-Za-z]/g, '');
  return [
    `SELECT pg_catalog.set_config('search_path', '', false)`,
    'SET check_function_bodies = off',
    'SET client_min_messages = warning',
    'SET statement_timeout = 0',
    'SET lock_timeout = 0',
    'SET idle_in_transaction_session_timeout = 0',
    'SET standard_conforming_strings = on',
    'SET xmloption = content',
    'SET row_security = off',
    `SET default_tablespace = ''`,
    ...(plan.targetVersionNum >= 120000 ? ['SET default_table_access_method = heap'] : []),
    `SET maintenance_work_mem = '${mem}'`,
  ].join(';\n');
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

async function runWithRetries(sessions: Sessions, o: SchemaObject, retries: number, knownState?: string): Promise<ObjectResult> {
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

function describe(statement: string, err: unknown): ObjectError {
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

/** One line per failed or skipped object, for logs and error messages. */
export function describeFailures(report: PhaseReport): string[] {
  return report.results.flatMap((r) => {
    if (r.status === 'failed' && r.error) return [`${r.name}: ${r.error.message}${r.error.sqlstate ? ` (${r.error.sqlstate})` : ''} — in: ${r.error.statement}`];
    if (r.status === 'skipped') return [`${r.name}: skipped, it depends on ${r.skippedBecause ?? 'a failed object'}`];
    return [];
  });
}
