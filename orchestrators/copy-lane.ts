/**
 * One copy lane of a database: copy units lane, lane + lanes, lane + 2·lanes … one after another
 * (a unit is a chunk of a table or a group of small tables), and the keys and load-time indexes
 * of a table as soon as this lane copied its last chunk, or of a group's tables as soon as the
 * group is in (other lanes keep copying meanwhile). Lanes never wait on each other: the database
 * orchestrator starts them all in one Task.all and nothing is yielded twice. continueAsNew every
 * few units keeps the history small whatever the table count. A failed lane marks the database so
 * the others stop.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { ORCHESTRATORS, type CopyLaneInput, type LaneOutcome } from '../shared/steps/contracts';
import { activityCaller, run } from './activity';

/** Units per execution: the history holds at most about 4 events per unit, times this. */
export const LANE_CHUNKS_PER_EXECUTION = 25;

export const copyLaneOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext): Generator<Task, LaneOutcome | undefined, unknown> {
  const input = context.df.getInput<CopyLaneInput>();
  const key = { server: input.server, name: input.name, db: input.db };
  const call = activityCaller(context);
  let next = input.next;
  for (let copied = 0; next < input.units; copied++) {
    if (copied === LANE_CHUNKS_PER_EXECUTION) {
      context.df.continueAsNew({ ...input, next });
      return undefined;
    }
    const r = yield* run(call('copyChunk', { ...key, unit: next }));
    if (!r.ok) return { state: 'Failed', error: r.failure.message };
    if (r.value.canceled) return { state: 'Canceled' };
    if (r.value.stopped) return { state: 'Canceled' };
    if (r.value.tableLoaded) {
      const built = yield* run(call('buildTableIndexes', { ...key, table: r.value.tableLoaded }));
      if (!built.ok) return { state: 'Failed', error: built.failure.message };
    }
    if (r.value.groupLoaded) {
      const built = yield* run(call('buildGroupIndexes', { ...key, unit: next }));
      if (!built.ok) return { state: 'Failed', error: built.failure.message };
    }
    next += input.lanes;
  }
  return { state: 'Succeeded' };
};

df.app.orchestration(ORCHESTRATORS.copyLane, copyLaneOrchestrator);
