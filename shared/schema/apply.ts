/**
 * Runs a phase (or any set of objects) on the target: up to `concurrency` sessions, each object
 * as soon as its dependencies are done, each in its own transaction (or, with `batch`, several
 * ready small objects in one: one commit instead of many). Re-running is safe: every
 * object's existence check runs first, and a broken leftover (an invalid index) is dropped and
 * rebuilt. A failed object is reported with its name, the statement and the server's message;
 * the objects depending on it are skipped and reported as such; everything else continues. With a
 * deadline, no object starts after it: the caller runs the phase again for the deferred rest.
 */
import type { Phase, SchemaObject, SchemaPlan } from './model';
import { precheckStates } from './precheck';
import { Sessions, type ConnectTarget } from './sessions';
import { base, describe, runBatch, runWithRetries, type ObjectResult, type ObjectStatus } from './run-object';

export type { ConnectTarget };
export type { ObjectError, ObjectResult, ObjectStatus } from './run-object';

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
  /**
   * Ready objects run together in one transaction, up to this many (default 1): for phases of
   * catalog-only objects or builds on small tables, where the commit costs more than the work.
   * Only transactional objects whose check found them absent (or that have no check) join one;
   * when a batch fails it is rolled back and its objects run one by one, which names the failure.
   */
  batch?: number;
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
  const failedDepOf = (o: SchemaObject) => o.deps.find((d) => bad.has(d) && !o.orderOnly?.includes(d));
  const maxBatch = opts.batch ?? 1;
  const batchable = (o: SchemaObject) => maxBatch > 1 && o.transactional && o.sql.length > 0 && (o.check === undefined || known.get(o.id) === 'absent');

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
          const failedDep = failedDepOf(o);
          if (failedDep !== undefined) {
            settle(o, { ...base(o), status: 'skipped', seconds: 0, skippedBecause: bad.get(failedDep) ?? failedDep });
            continue;
          }
          // Ready objects behind it join its transaction (one whose dependency failed is left to be skipped).
          const batch = [o];
          for (let next = queue[head]; batchable(o) && next && batch.length < maxBatch && batchable(next) && failedDepOf(next) === undefined; next = queue[head]) {
            batch.push(next);
            head++;
          }
          running++;
          started += batch.length;
          const runs: Promise<ObjectResult[]> = batch.length > 1
            ? runBatch(sessions, batch, opts.retries ?? 2)
            : runWithRetries(sessions, o, opts.retries ?? 2, known.get(o.id)).then((r) => [r]);
          void runs
            .catch((err: unknown): ObjectResult[] => batch.map((x) => ({ ...base(x), status: 'failed', seconds: 0, error: describe('(pgferry)', err) })))
            .then((rs) => {
              running--;
              rs.forEach((r, n) => settle(batch[n] as SchemaObject, r));
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

/** One line per failed or skipped object, for logs and error messages. */
export function describeFailures(report: PhaseReport): string[] {
  return report.results.flatMap((r) => {
    if (r.status === 'failed' && r.error) return [`${r.name}: ${r.error.message}${r.error.sqlstate ? ` (${r.error.sqlstate})` : ''} — in: ${r.error.statement}`];
    if (r.status === 'skipped') return [`${r.name}: skipped, it depends on ${r.skippedBecause ?? 'a failed object'}`];
    return [];
  });
}
