/**
 * One database, from an empty target to caught up (Online) or done (Offline):
 *
 *   1. prepare the target database (create, or drop and create when overwriting)
 *   2. Online: create the replication slot — BEFORE any row is copied
 *   3. schema pre-data (tables without secondary indexes, FKs, triggers)
 *   4. plan chunks, then copy them in COPY_LANES lanes (sub-orchestrations started together in one
 *      Task.all), small tables in groups; a table's keys and indexes are built as soon as its last
 *      chunk lands, a group's as soon as the group is in
 *   5. keys for any table still without them; sequences and large objects
 *   6. Offline: post-data, verify, done.  Online: the CDC sub-orchestration until cutover.
 *   Whatever the end, the migration's orchestration is told (it watches the databases' rows).
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import {
  COPY_LANES, ORCHESTRATORS, cdcInstanceId, copyLaneInstanceId,
  type CdcState, type CopyLaneInput, type DatabaseInput, type DatabaseOutcome, type LaneOutcome,
} from '../shared/steps/contracts';
import { activityCaller, outputOf, run, type ActivityTask, type Call } from './activity';
import { applySchemaPhase, verifyAllTables } from './shares';


export const databaseOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext): Generator<Task, DatabaseOutcome, unknown> {
  const input = context.df.getInput<DatabaseInput>();
  const key = { server: input.server, name: input.name, db: input.db };
  const call = activityCaller(context);
  let outcome: DatabaseOutcome;
  try {
    outcome = yield* migrate(context, call, input);
  } catch (err) {
    outcome = { db: input.db, state: 'Failed', error: err instanceof Error ? err.message : String(err) };
  }
  // The end is recorded outside the steps' try: a failing clean-up or notice never rewrites the outcome.
  if (outcome.state !== 'Succeeded') {
    try {
      yield call('stopDatabase', { ...key, state: outcome.state, error: outcome.error ?? null });
    } catch {
      // The slot stays for finishMigration's safety net; the watch reads this orchestration's output.
    }
  }
  try {
    yield call('databaseFinished', { server: key.server, name: key.name, db: key.db, migrationInstanceId: input.migrationInstanceId });
  } catch {
    // Only a wake-up: the watch's timer finds the outcome anyway.
  }
  return outcome;
};

/** Steps 1–6; the outcome of the database (its end is recorded by the caller). */
function* migrate(context: OrchestrationContext, call: Call, input: DatabaseInput): Generator<Task, DatabaseOutcome, unknown> {
  const key = { server: input.server, name: input.name, db: input.db };
  const failed = (error: string): DatabaseOutcome => ({ db: input.db, state: 'Failed', error });

  // 1. The target database, then its owner, privileges and role settings before its schema
  // (a no-op without migrateRoles).
  const prepared = yield* run(call('prepareTargetDatabase', key));
  if (!prepared.ok) return failed(prepared.failure.message);
  yield call('applyDatabaseRoles', { server: key.server, name: key.name, databases: [key.db] });
  // 2. Online: the slot, before any row is copied.
  if (input.mode === 'Online') {
    const slot = yield* run(call('createSlot', key));
    if (!slot.ok) return failed(slot.failure.message);
  }
  // 3. Pre-data, and meanwhile the copy plan (it reads only the source: at thousands of tables
  // its inventory and stored chunks take seconds that no longer wait for the schema).
  const planTask = call('planCopy', key);
  const firstShare = call('applySchema', { ...key, phase: 'pre-data' });
  yield context.df.Task.all([firstShare, planTask]);
  const first = outputOf(firstShare);
  const pre = first.ok && first.value.more ? yield* applySchemaPhase(call, key, 'pre-data') : first;
  if (!pre.ok) return failed(pre.failure.message);

  // 4. Copy in lanes.
  const plan = outputOf(planTask);
  if (!plan.ok) return failed(plan.failure.message);
  const lanes = Math.min(plan.value.lanes ?? COPY_LANES, plan.value.units);
  // Verification reads the tables in as many lanes as the copy (plans from before lanes were
  // carried verify in one, as they did).
  const verifyLanes = Math.max(1, Math.min(plan.value.lanes ?? 1, plan.value.tables));
  const laneTasks: Array<ActivityTask<LaneOutcome>> = [];
  for (let lane = 0; lane < lanes; lane++) {
    const laneInput: CopyLaneInput = { ...key, lane, lanes, units: plan.value.units, next: lane };
    laneTasks.push(context.df.callSubOrchestrator(ORCHESTRATORS.copyLane, laneInput, copyLaneInstanceId(context.df.instanceId, lane)));
  }
  if (laneTasks.length > 0) yield context.df.Task.all(laneTasks);
  const outcomes = laneTasks.map(outputOf);
  const laneFailure = outcomes.find((o) => o.state === 'Failed');
  if (laneFailure) return failed(laneFailure.error ?? 'a copy lane failed');
  if (outcomes.some((o) => o.state === 'Canceled')) return { db: input.db, state: 'Canceled' };

  // 5. Keys for the rest, sequences, large objects; records the consistency point
  const keys = yield* applySchemaPhase(call, key, 'keys');
  if (!keys.ok) return failed(keys.failure.message);
  const finished = yield* run(call('finishCopy', key));
  if (!finished.ok) return failed(finished.failure.message);

  // 6.
  if (input.mode === 'Offline') {
    const post = yield* applySchemaPhase(call, key, 'post-data');
    if (!post.ok) return failed(post.failure.message);
    const verified = yield* verifyAllTables(call, (t) => context.df.Task.all(t), key, verifyLanes);
    if (!verified.ok) return failed(verified.failure.message);
    const done = yield* run(call('completeDatabase', key));
    if (!done.ok) return failed(done.failure.message);
    return { db: input.db, state: 'Succeeded' };
  }
  const cdc: CdcState = { ...key, caughtUp: false, migrationInstanceId: input.migrationInstanceId, ...(verifyLanes > 1 ? { verifyLanes } : {}) };
  const cdcTask: ActivityTask<DatabaseOutcome> = context.df.callSubOrchestrator(ORCHESTRATORS.cdc, cdc, cdcInstanceId(input.migrationInstanceId, input.index));
  return yield* run(cdcTask);
}

df.app.orchestration(ORCHESTRATORS.database, databaseOrchestrator);
