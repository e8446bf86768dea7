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
import { ORCHESTRATORS, cdcInstanceId, type CdcState, type ChunkOutcome, type DatabaseInput, type DatabaseOutcome, type Result } from '../shared/steps/contracts';
import { activityCaller, outputOf, run, type ActivityTask } from './activity';

/** Chunks copied at once per database (the host's maxConcurrentActivityFunctions bounds the total). */
export const COPY_WINDOW = 4;

export const databaseOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext): Generator<Task, DatabaseOutcome, unknown> {
  const input = context.df.getInput<DatabaseInput>();
  const key = { server: input.server, name: input.name, db: input.db };
  const call = activityCaller(context);
  const parent = context.df.parentInstanceId ?? context.df.instanceId;
  const stop = function* (state: 'Failed' | 'Canceled', error?: string): Generator<Task, DatabaseOutcome, unknown> {
    yield call('stopDatabase', { ...key, state, error: error ?? null });
    return error === undefined ? { db: input.db, state } : { db: input.db, state, error };
  };

  try {
    // 1. The target database, then its owner, privileges and role settings before its schema
    // (a no-op without migrateRoles).
    const prepared = yield* run(call('prepareTargetDatabase', key));
    if (!prepared.ok) return yield* stop('Failed', prepared.failure.message);
    yield call('applyDatabaseRoles', { server: key.server, name: key.name, databases: [key.db] });
    // 2. Online: the slot, before any row is copied.
    if (input.mode === 'Online') {
      const slot = yield* run(call('createSlot', key));
      if (!slot.ok) return yield* stop('Failed', slot.failure.message);
    }
    // 3.
    const pre = yield* run(call('applySchema', { ...key, phase: 'pre-data' }));
    if (!pre.ok) return yield* stop('Failed', pre.failure.message);

    // 4. Copy with a sliding window
    const plan = yield* run(call('planCopy', key));
    if (!plan.ok) return yield* stop('Failed', plan.failure.message);
    const running: Array<ActivityTask<Result<ChunkOutcome>>> = [];
    const indexBuilds: Array<ActivityTask<Result<null>>> = [];
    let next = 0;
    while (next < plan.value.chunks || running.length > 0) {
      while (running.length < COPY_WINDOW && next < plan.value.chunks) {
        running.push(call('copyChunk', { ...key, chunk: next++ }));
      }
      const done = yield context.df.Task.any(running);
      const index = running.findIndex((t) => t === done);
      const [finished] = running.splice(index, 1);
      if (!finished) throw new Error('Task.any returned a task that is not running');
      const r = outputOf(finished);
      if (!r.ok) return yield* stop('Failed', r.failure.message);
      if (r.value.canceled) return yield* stop('Canceled');
      if (r.value.tableLoaded) indexBuilds.push(call('buildTableIndexes', { ...key, table: r.value.tableLoaded }));
    }
    if (indexBuilds.length > 0) {
      yield context.df.Task.all(indexBuilds);
      const bad = indexBuilds.map(outputOf).find((b) => !b.ok);
      if (bad && !bad.ok) return yield* stop('Failed', bad.failure.message);
    }

    // 5. Keys for the rest, sequences, large objects; records the consistency point
    const keys = yield* run(call('applySchema', { ...key, phase: 'keys' }));
    if (!keys.ok) return yield* stop('Failed', keys.failure.message);
    const finished = yield* run(call('finishCopy', key));
    if (!finished.ok) return yield* stop('Failed', finished.failure.message);

    // 6.
    if (input.mode === 'Offline') {
      const post = yield* run(call('applySchema', { ...key, phase: 'post-data' }));
      if (!post.ok) return yield* stop('Failed', post.failure.message);
      const done = yield* run(call('completeDatabase', key));
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
