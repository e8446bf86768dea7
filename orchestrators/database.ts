/**
 * One database, from an empty target to caught up (Online) or done (Offline):
 *
 *   1. prepare the target database (create, or drop and create when overwriting)
 *   2. Online: create the replication slot — BEFORE any row is copied
 *   3. schema pre-data (tables without secondary indexes, FKs, triggers)
 *   4. plan chunks, then copy them with a sliding window of bounded parallelism; a table's keys
 *      and indexes are built as soon as its last chunk lands, while other tables still copy
 *   5. keys for any table still without them; sequences and large objects
 *   6. Offline: post-data, verify, done.  Online: the CDC sub-orchestration until cutover.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { CdcState, ChunkOutcome, CopyPlanSummary, DatabaseInput, DatabaseOutcome, Result } from '../shared/flow/contracts';
import { ACTIVITIES, ORCHESTRATORS, cdcInstanceId } from '../shared/flow/names';
import { transientRetry } from './retry';

/** Chunks copied at once per database (the host's maxConcurrentActivityFunctions bounds the total). */
export const COPY_WINDOW = 4;

export const databaseOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext): Generator<Task, DatabaseOutcome, unknown> {
  const input = context.df.getInput<DatabaseInput>();
  const key = { server: input.server, name: input.name, db: input.db };
  const retry = transientRetry();
  const call = (activity: string, payload: unknown) => context.df.callActivityWithRetry(activity, retry, payload);
  const parent = context.df.parentInstanceId ?? context.df.instanceId;
  const stop = function* (state: 'Failed' | 'Canceled', error?: string): Generator<Task, DatabaseOutcome, unknown> {
    yield call(ACTIVITIES.stopDatabase, { ...key, state, error: error ?? null });
    return error === undefined ? { db: input.db, state } : { db: input.db, state, error };
  };

  try {
    // 1–3
    const steps: Array<[string, unknown]> = [[ACTIVITIES.prepareTargetDatabase, key]];
    if (input.mode === 'Online') steps.push([ACTIVITIES.createSlot, key]);
    steps.push([ACTIVITIES.applySchema, { ...key, phase: 'pre-data' }]);
    for (const [activity, payload] of steps) {
      const r = (yield call(activity, payload)) as Result<unknown>;
      if (!r.ok) return yield* stop('Failed', r.failure.message);
      // The database's owner, privileges and role settings land before its schema (no-op without migrateRoles).
      if (activity === ACTIVITIES.prepareTargetDatabase) yield call(ACTIVITIES.applyDatabaseRoles, { server: key.server, name: key.name, databases: [key.db] });
    }

    // 4. Copy with a sliding window
    const plan = (yield call(ACTIVITIES.planCopy, key)) as Result<CopyPlanSummary>;
    if (!plan.ok) return yield* stop('Failed', plan.failure.message);
    const running: Task[] = [];
    const indexBuilds: Task[] = [];
    let next = 0;
    while (next < plan.value.chunks || running.length > 0) {
      while (running.length < COPY_WINDOW && next < plan.value.chunks) {
        running.push(call(ACTIVITIES.copyChunk, { ...key, chunk: next++ }));
      }
      const done = (yield context.df.Task.any(running)) as Task;
      running.splice(running.indexOf(done), 1);
      const r = done.result as Result<ChunkOutcome>;
      if (!r.ok) return yield* stop('Failed', r.failure.message);
      if (r.value.canceled) return yield* stop('Canceled');
      if (r.value.tableLoaded) indexBuilds.push(call(ACTIVITIES.buildTableIndexes, { ...key, table: r.value.tableLoaded }));
    }
    if (indexBuilds.length > 0) {
      const built = (yield context.df.Task.all(indexBuilds)) as Array<Result<unknown>>;
      const bad = built.find((b) => !b.ok);
      if (bad && !bad.ok) return yield* stop('Failed', bad.failure.message);
    }

    // 5. Keys for the rest, sequences, large objects; records the consistency point
    for (const [activity, payload] of [[ACTIVITIES.applySchema, { ...key, phase: 'keys' }], [ACTIVITIES.finishCopy, key]] as const) {
      const r = (yield call(activity, payload)) as Result<unknown>;
      if (!r.ok) return yield* stop('Failed', r.failure.message);
    }

    // 6.
    if (input.mode === 'Offline') {
      const post = (yield call(ACTIVITIES.applySchema, { ...key, phase: 'post-data' })) as Result<unknown>;
      if (!post.ok) return yield* stop('Failed', post.failure.message);
      const done = (yield call(ACTIVITIES.completeDatabase, { ...key, drained: true })) as Result<unknown>;
      if (!done.ok) return yield* stop('Failed', done.failure.message);
      return { db: input.db, state: 'Succeeded' };
    }
    const cdc: CdcState = { ...key, caughtUp: false };
    return (yield context.df.callSubOrchestrator(ORCHESTRATORS.cdc, cdc, cdcInstanceId(parent, input.index))) as DatabaseOutcome;
  } catch (err) {
    return yield* stop('Failed', err instanceof Error ? err.message : String(err));
  }
};

df.app.orchestration(ORCHESTRATORS.database, databaseOrchestrator);
