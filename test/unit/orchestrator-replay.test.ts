/**
 * The replay check of test/support/replay.ts on histories with retries, which a clean recorded run
 * rarely has: the host's own retry bookkeeping (back-off timers, next attempts; spec §5 step 3) is
 * told apart from what the orchestrator scheduled, including a task scheduled right after the timer
 * that follows the last attempt. Each history is first replayed by the real durable-functions engine
 * to prove it is one the SDK agrees with.
 */
import { createRequire } from 'node:module';

import * as df from 'durable-functions';
import { describe, expect, it } from 'vitest';

import { decodeState } from '../../emulator/durable/episode';
import { history, type HistoryEvent } from '../../emulator/durable/history';
import { mismatches, recordedSchedule, recordedView, replayedView, type Recording } from '../support/replay';

type Handler = (trigger: unknown, context: unknown) => Promise<unknown>;
type OrchestratorFn = (context: df.OrchestrationContext) => Generator<unknown, unknown, unknown>;
const { Orchestrator } = createRequire(__filename)('durable-functions/lib/src/orchestrations/Orchestrator') as {
  Orchestrator: new (fn: OrchestratorFn) => { listen(): Handler };
};

const T0 = Date.parse('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const boom = { reason: 'boom', details: 'boom', failureDetails: { ErrorType: 'Error', ErrorMessage: 'boom' } };

/** Episodes as the host records them: OrchestratorStarted, the delivered event, what it scheduled. */
function episodes(...eps: Array<[number, ...HistoryEvent[]]>): HistoryEvent[] {
  return eps.flatMap(([ms, ...events]) => [history.orchestratorStarted(at(ms)), ...events, history.orchestratorCompleted(at(ms))]).map((e) => ({ ...e, IsPlayed: true }));
}

async function replay(fn: OrchestratorFn, events: HistoryEvent[]) {
  const trigger = JSON.parse(JSON.stringify({
    history: events, instanceId: 'r', isReplaying: false, input: null,
    upperSchemaVersion: 1, upperSchemaVersionNew: 2, maximumShortTimerDuration: '3650.00:00:00', longRunningTimerIntervalDuration: '3.00:00:00',
  })) as unknown;
  const state = decodeState(await new Orchestrator(fn).listen()(trigger, new df.DummyOrchestrationContext()));
  if (state.kind === 'failed') throw new Error(state.error);
  return state;
}

const rec = (events: HistoryEvent[]): Recording => ({ instanceId: 'r', name: 'r', status: 'Completed', input: 'null', history: events });
const started = history.executionStarted(at(0), { name: 'r', instanceId: 'r', executionId: 'e', input: 'null' });

describe('replay check with the host’s retry bookkeeping', () => {
  it('a retried activity that succeeds on attempt 2: the back-off timer and the attempt are the host’s', async () => {
    const fn: OrchestratorFn = function* (ctx) {
      const v = yield ctx.df.callActivityWithRetry('Flaky', new df.RetryOptions(1000, 3), 'k');
      const w = yield ctx.df.callActivity('Next', v);
      return [v, w];
    };
    const events = episodes(
      [0, started, history.taskScheduled(at(0), 0, 'Flaky', '"k"')],
      [10, history.taskFailed(at(10), 0, boom), history.timerCreated(at(10), 1, at(1010))],
      [1010, history.timerFired(at(1010), 1, at(1010)), history.taskScheduled(at(1010), 2, 'Flaky', '"k"')],
      [1020, history.taskCompleted(at(1020), 2, '"v"'), history.taskScheduled(at(1020), 3, 'Next', '"v"')],
      [1030, history.taskCompleted(at(1030), 3, '"w"'), history.executionCompleted(at(1030), 'Completed', '["v","w"]')],
    );
    const state = await replay(fn, events);
    expect(state).toMatchObject({ kind: 'done', output: '["v","w"]' });
    const scheduling = recordedSchedule(events, state.actions);
    expect(scheduling.map((s) => [s.seq, s.by])).toEqual([[0, 'orchestrator'], [1, 'retry'], [2, 'retry'], [3, 'orchestrator']]);
    const expected = recordedView(rec(events), scheduling);
    expect(expected).toEqual({
      schedule: [{ kind: 'activity', name: 'Flaky', input: 'k' }, { kind: 'activity', name: 'Next', input: 'v' }],
      outcome: { kind: 'completed', output: ['v', 'w'] },
    });
    expect(mismatches(expected, replayedView('r', state, state.actions))).toEqual([]);
  });

  it('after the last attempt, the task scheduled when the final back-off timer fires is the orchestrator’s', async () => {
    const fn: OrchestratorFn = function* (ctx) {
      try {
        yield ctx.df.callActivityWithRetry('Flaky', new df.RetryOptions(1000, 2), 'k');
        return 'no';
      } catch {
        return yield ctx.df.callActivity('Fallback', 1);
      }
    };
    const events = episodes(
      [0, started, history.taskScheduled(at(0), 0, 'Flaky', '"k"')],
      [10, history.taskFailed(at(10), 0, boom), history.timerCreated(at(10), 1, at(1010))],
      [1010, history.timerFired(at(1010), 1, at(1010)), history.taskScheduled(at(1010), 2, 'Flaky', '"k"')],
      [1020, history.taskFailed(at(1020), 2, boom), history.timerCreated(at(1020), 3, at(2020))],
      [2020, history.timerFired(at(2020), 3, at(2020)), history.taskScheduled(at(2020), 4, 'Fallback', '1')],
      [2030, history.taskCompleted(at(2030), 4, '"fb"'), history.executionCompleted(at(2030), 'Completed', '"fb"')],
    );
    const state = await replay(fn, events);
    expect(state).toMatchObject({ kind: 'done', output: '"fb"' });
    const scheduling = recordedSchedule(events, state.actions);
    expect(scheduling.map((s) => [s.seq, s.by])).toEqual([[0, 'orchestrator'], [1, 'retry'], [2, 'retry'], [3, 'retry'], [4, 'orchestrator']]);
    const expected = recordedView(rec(events), scheduling);
    expect(expected.schedule).toEqual([{ kind: 'activity', name: 'Flaky', input: 'k' }, { kind: 'activity', name: 'Fallback', input: 1 }]);
    expect(mismatches(expected, replayedView('r', state, state.actions))).toEqual([]);
    // Per episode: the fallback belongs to episode 4, the outcome to episode 5.
    expect(recordedView(rec(events), scheduling, 3)).toEqual({ schedule: [{ kind: 'activity', name: 'Flaky', input: 'k' }], outcome: { kind: 'running' } });
    expect(recordedView(rec(events), scheduling, 4).schedule).toHaveLength(2);
  });

  it('mismatches names each differing position and the outcome', () => {
    const a = { kind: 'activity' as const, name: 'A', input: 1 };
    const b = { kind: 'activity' as const, name: 'B', input: 2 };
    expect(mismatches({ schedule: [a, b], outcome: { kind: 'running' } }, { schedule: [b, a], outcome: { kind: 'running' } })).toEqual([
      'schedule[0]: recorded {"kind":"activity","name":"A","input":1}, replay {"kind":"activity","name":"B","input":2}',
      'schedule[1]: recorded {"kind":"activity","name":"B","input":2}, replay {"kind":"activity","name":"A","input":1}',
    ]);
    expect(mismatches({ schedule: [a], outcome: { kind: 'completed', output: 1 } }, { schedule: [], outcome: { kind: 'running' } }, 'episode 3: ')).toEqual([
      'episode 3: schedule[0]: recorded {"kind":"activity","name":"A","input":1}, replay nothing',
      'episode 3: outcome: recorded {"kind":"completed","output":1}, replay {"kind":"running"}',
    ]);
  });
});
