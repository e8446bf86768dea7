/**
 * The schema steps: pre-data before the copy, a table's keys and load-time indexes as soon as its
 * last chunk lands, keys for the rest after the copy, post-data once replay is consistent.
 * The plan is extracted from the source catalogs once per process (caches.ts).
 */
import { connect } from '../pg/connect';
import { applyObjects, applyPhase, describeFailures, type PhaseReport } from '../schema';
import type { DatabaseKey, Failure, Result, SchemaPhase } from './contracts';
import { copyPlanFor, schemaPlanFor, unitsOf } from './caches';
import { databaseEndpoints, type MigrationEndpoints } from './endpoints';
import { CREATING_SCHEMA, stopCopy } from './copy';
import { tableKeyOf } from '../copy/types';
import { ok, permanent, setDb } from './record';
import type { Runtime } from './runtime';

const OPERATION: Record<SchemaPhase, string> = {
  'pre-data': CREATING_SCHEMA,
  keys: 'Building primary keys',
  'post-data': 'Building indexes, constraints and triggers',
};

function planOf(rt: Runtime, k: DatabaseKey, e: MigrationEndpoints) {
  const timeoutMs = rt.settings.connectTimeoutMs;
  return schemaPlanFor({ ...k, run: e.record.migrationId }, () => connect(e.source, { timeoutMs }), () => connect(e.target, { timeoutMs }));
}

function reportFailure(report: PhaseReport, phase: string, k: DatabaseKey): Failure | undefined {
  const problems = describeFailures(report);
  if (problems.length === 0) return undefined;
  const shown = problems.slice(0, 5).join('; ');
  return { message: `${phase} of ${k.db}: ${problems.length} object(s) could not be created: ${shown}${problems.length > 5 ? ' …' : ''}`, context: { phase, database: k.db } };
}

/**
 * Objects per transaction where each is catalog work or a build on a small table (pre-data, a
 * group's indexes): at 2,000 tables, pre-data took 2.2 s one object per transaction and 1.3 s
 * in batches of 32; a group's keys and indexes 2.3 s and 1.7 s.
 */
export const SMALL_OBJECT_BATCH = 32;

/** Longest one applySchema call keeps starting objects (an index build already started finishes). */
export const SCHEMA_BUDGET_MS = 120_000;

/** One share of a phase: objects are started until the budget is spent; `more` asks for another share. */
export async function applySchema(rt: Runtime, i: DatabaseKey & { phase: SchemaPhase }): Promise<Result<{ created: number; existed: number; more?: boolean }>> {
  const e = await databaseEndpoints(rt, i);
  await setDb(rt, i, (r) => ({ ...r, migrationOperation: OPERATION[i.phase] }));
  try {
    const plan = await planOf(rt, i, e);
    const report = await applyPhase(plan, i.phase, () => connect(e.target, { timeoutMs: rt.settings.connectTimeoutMs }), {
      concurrency: 4,
      deadline: Date.now() + SCHEMA_BUDGET_MS,
      // Pre-data is catalog work only (tables are empty); keys and post-data build on big tables too.
      ...(i.phase === 'pre-data' ? { batch: SMALL_OBJECT_BATCH } : {}),
    });
    const failure = reportFailure(report, i.phase, i);
    if (failure) {
      // Rows cannot load without pre-data, nor replay without keys; a missing index or trigger is
      // reported on the database and the migration goes on.
      if (i.phase !== 'post-data') return { ok: false, failure };
      await setDb(rt, i, (r) => ({ ...r, message: failure.message }));
    }
    return ok({ created: report.counts.created ?? 0, existed: report.counts.existed ?? 0, ...(report.deferred > 0 ? { more: true } : {}) });
  } catch (err) {
    return permanent(err, { phase: i.phase, database: i.db });
  }
}

/**
 * Objects held until replay has drained (foreign keys on a target without replica mode), at
 * completion; already created ones are skipped, so a retry only finishes the rest. As in
 * post-data, one that cannot be created is reported on the database and the migration goes on.
 */
export async function applyDrainedObjects(rt: Runtime, k: DatabaseKey, e: MigrationEndpoints): Promise<void> {
  const plan = await planOf(rt, k, e);
  const held = plan.objects.filter((o) => o.readiness === 'drained').map((o) => o.id);
  if (held.length === 0) return undefined;
  await setDb(rt, k, (r) => ({ ...r, migrationOperation: 'Creating foreign keys' }));
  const report = await applyObjects(plan, held, () => connect(e.target, { timeoutMs: rt.settings.connectTimeoutMs }), { concurrency: 4 });
  const failure = reportFailure(report, 'foreign keys', k);
  if (failure) await setDb(rt, k, (r) => ({ ...r, message: failure.message }));
}

/** A table's keys and load-time indexes, as soon as its last chunk landed. */
export async function buildTableIndexes(rt: Runtime, i: DatabaseKey & { table: string }): Promise<Result<null>> {
  return buildIndexesOf(rt, i, [i.table], i.table);
}

/** Index builds at once for a group of small tables (target connections of one activity). */
export const GROUP_INDEX_CONCURRENCY = 4;

/**
 * The keys and load-time indexes of every table of a group (a copy unit of small tables, all
 * loaded), several CREATE INDEX at once on a bounded number of target connections.
 */
export async function buildGroupIndexes(rt: Runtime, i: DatabaseKey & { unit: number }): Promise<Result<null>> {
  const e = await databaseEndpoints(rt, i);
  const plan = await copyPlanFor(rt, { ...i, run: e.record.migrationId });
  const tables = [...new Set((unitsOf(plan)[i.unit] ?? []).map((n) => plan[n]).flatMap((p) => (p ? [tableKeyOf(p.record)] : [])))];
  return buildIndexesOf(rt, i, tables, `${tables.length} tables`, GROUP_INDEX_CONCURRENCY, SMALL_OBJECT_BATCH);
}

async function buildIndexesOf(rt: Runtime, i: DatabaseKey, tableKeys: readonly string[], what: string, concurrency = 2, batch = 1): Promise<Result<null>> {
  const e = await databaseEndpoints(rt, i);
  try {
    const plan = await planOf(rt, i, e);
    const wanted = new Set(tableKeys);
    const ids = plan.tables.filter((x) => wanted.has(tableKeyOf({ schema: x.schema, table: x.name }))).flatMap((t) => [...t.keys, ...t.afterLoad]);
    if (ids.length === 0) return ok(null);
    const report = await applyObjects(plan, ids, () => connect(e.target, { timeoutMs: rt.settings.connectTimeoutMs }), { concurrency, batch });
    const failure = reportFailure(report, `indexes of ${what}`, i);
    if (!failure) return ok(null);
    await stopCopy(rt, i, failure.message);
    return { ok: false, failure };
  } catch (err) {
    const result = permanent(err, { phase: 'indexes', database: i.db, table: what });
    if (!result.ok) await stopCopy(rt, i, result.failure.message);
    return result;
  }
}
