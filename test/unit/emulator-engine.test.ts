/**
 * The scheduler (emulator/durable/engine.ts) in memory (test/support/memory-engine.ts), driving
 * the REAL durable-functions replay engine: an episode takes every event waiting in the inbox, the
 * batch is cut where the SDK's sequence numbers require it, continueAsNew drops the raised events
 * no waiter consumed (and keeps those that arrived after the last episode took its batch), and a
 * Task.any holding a task yielded before fails the orchestration. Episodes can be held mid-flight
 * so the test decides what arrives meanwhile.
 */
import * as df from 'durable-functions';
import { describe, expect, it } from 'vitest';

import { MAX_BATCH, takeBatch, unconsumedEvents } from '../../emulator/durable/batch';
import { history } from '../../emulator/durable/history';
import { newExecution } from '../../emulator/durable/state';
import { memoryEngine, type MemoryEngine, type OrchestratorFn } from '../support/memory-engine';

const running = (m: MemoryEngine, id: string) => () => m.status(id)?.status === 'Running';
const done = (m: MemoryEngine, id: string) => () => ['Completed', 'Failed', 'Terminated'].includes(m.status(id)?.status ?? '');
const output = (m: MemoryEngine, id: string): unknown => JSON.parse(m.status(id)?.output ?? 'null');

/** Parks the next episode: raises a harmless event and waits until its episode is held. */
async function holdAnEpisode(m: MemoryEngine, id: string): Promise<void> {
  m.invoker.hold();
  expect(await m.engine.raiseEvent(id, 'Ping')).toBe('accepted');
  await m.until('an episode to park', () => m.invoker.parked === 1);
}

describe('an episode takes every event waiting', () => {
  it('delivers events raised during an episode together in the next one', async () => {
    const collect: OrchestratorFn = function* (ctx) {
      const got: unknown[] = [];
      for (let i = 0; i < 3; i++) got.push(yield ctx.df.waitForExternalEvent('E'));
      return got;
    };
    const m = memoryEngine({ Collect: collect });
    m.invoker.hold();
    await m.engine.startNew('Collect', { instanceId: 'c1' });
    await m.until('the first episode to park', () => m.invoker.parked === 1);
    for (const n of [1, 2, 3]) expect(await m.engine.raiseEvent('c1', 'E', JSON.stringify(n))).toBe('accepted');
    m.invoker.release();
    await m.until('completion', done(m, 'c1'));
    expect(output(m, 'c1')).toEqual([1, 2, 3]);
    expect(m.store.deliveredPerEpisode('c1')).toEqual([['ExecutionStarted'], ['EventRaised:E', 'EventRaised:E', 'EventRaised:E']]);
    expect(m.invoker.episodes).toBe(2);
    expect(m.store.inboxes.get('c1')?.size ?? 0).toBe(0);
  });

  it('cuts a batch before a retry failure that follows a completion, so sequence numbers match the SDK', async () => {
    const orchestrator: OrchestratorFn = function* (ctx) {
      const r = ctx.df.callActivityWithRetry('R', new df.RetryOptions(20, 3), 'r');
      const b = ctx.df.callActivity('B', 'b');
      yield ctx.df.Task.any([b, r]);
      const c = yield ctx.df.callActivity('C', 'c');
      const rr = yield r;
      return [b.result, c, rr];
    };
    const m = memoryEngine({ Cut: orchestrator });
    await m.engine.startNew('Cut', { instanceId: 'cut' });
    await m.until('R and B scheduled', () => m.activities.jobs.length === 2);
    await holdAnEpisode(m, 'cut');
    // In one inbox: B's completion (user code resumes and schedules C), then R's failure (the SDK
    // allocates its back-off timer only then). One episode would give the timer C's number.
    await m.activities.complete('B', 'b done');
    await m.activities.fail('R', 'first attempt');
    m.invoker.release();
    await m.until('C scheduled', () => m.activities.jobs.some((j) => j.job.name === 'C'));
    const c = m.activities.jobs.find((j) => j.job.name === 'C');
    expect(c?.job.seq).toBe(2);
    await m.activities.complete('C', 'c done');
    await m.until('the retry attempt', () => m.activities.jobs.some((j) => j.job.name === 'R'));
    await m.activities.complete('R', 'r done');
    await m.until('completion', done(m, 'cut'));
    expect(output(m, 'cut')).toEqual(['b done', 'c done', 'r done']);
    const episodes = m.store.deliveredPerEpisode('cut');
    expect(episodes.findIndex((e) => e.includes('TaskCompleted'))).toBeLessThan(episodes.findIndex((e) => e.includes('TaskFailed')));
  });

  it('takes a run of retry failures together with what follows them', () => {
    const exec = {
      ...newExecution('x'),
      nextSeq: 3,
      pending: {
        0: { kind: 'activity' as const, seq: 0, name: 'R', retry: { policy: { firstRetryIntervalInMilliseconds: 10, maxNumberOfAttempts: 3 }, attempt: 1, firstAttemptAt: '2030-01-01T00:00:00.000Z' } },
        1: { kind: 'activity' as const, seq: 1, name: 'R', retry: { policy: { firstRetryIntervalInMilliseconds: 10, maxNumberOfAttempts: 3 }, attempt: 1, firstAttemptAt: '2030-01-01T00:00:00.000Z' } },
        2: { kind: 'activity' as const, seq: 2, name: 'B' },
      },
    };
    const at = '2030-01-01T00:00:01.000Z';
    const f = { reason: 'x', details: 'x', failureDetails: { ErrorType: 'Error', ErrorMessage: 'x' } };
    const entry = (key: string, event: ReturnType<typeof history.taskCompleted>, executionId = 'x') => ({ key, executionId, event });
    const inbox = [
      entry('1', history.taskFailed(at, 0, f)),
      entry('2', history.taskFailed(at, 1, f)),
      entry('3', history.taskCompleted(at, 2, '1')),
      entry('4', history.taskCompleted(at, 9, '1')),
      entry('5', history.taskCompleted(at, 0, '1'), 'older execution'),
      { key: '6', event: history.eventRaised(at, 'E') },
    ];
    const b = takeBatch(exec, inbox, 'i', new Date(at));
    expect(b.deliver.map((e) => e.key)).toEqual(['1', '2', '3', '6']);
    expect(b.drop.map((e) => e.key)).toEqual(['4', '5']);
    expect(b.prep.exec.nextSeq).toBe(5);
    expect(b.prep.recorded.map((e) => e.EventId)).toEqual([3, 4]);
    expect(takeBatch(exec, [inbox[2], inbox[0]].filter((e) => e !== undefined), 'i', new Date(at)).deliver.map((e) => e.key)).toEqual(['3']);
    const many = Array.from({ length: 40 }, (_, i) => ({ key: String(i), event: history.eventRaised(at, 'E') }));
    expect(takeBatch(exec, many, 'i', new Date(at)).deliver).toHaveLength(MAX_BATCH);
  });
});

describe('continueAsNew and raised events', () => {
  /** Execution 0 runs activity A, then continues as new; execution 1 waits for Go or a long timer. */
  const loop: OrchestratorFn = function* (ctx) {
    if (ctx.df.getInput<number>() === 0) {
      yield ctx.df.callActivity('A', 0);
      ctx.df.continueAsNew(1);
      return undefined;
    }
    const go = ctx.df.waitForExternalEvent('Go');
    const timer = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 3_600_000));
    if ((yield ctx.df.Task.any([go, timer])) === go) {
      timer.cancel();
      return { go: go.result };
    }
    return 'timeout';
  };

  it('drops an event that reached the last episode with the completion but no waiter, with a warning naming it', async () => {
    const m = memoryEngine({ Loop: loop });
    await m.engine.startNew('Loop', { instanceId: 'drop', input: '0' });
    await m.until('A scheduled', () => m.activities.jobs.length === 1);
    await holdAnEpisode(m, 'drop');
    await m.activities.complete('A', null);
    expect(await m.engine.raiseEvent('drop', 'Go', '"early"')).toBe('accepted');
    m.invoker.release();
    await m.until('the new execution', () => m.status('drop')?.input === '1' && m.store.historyOf('drop').length > 0);
    await m.until('the new execution waiting', running(m, 'drop'));
    expect(m.log.warnings().join('\n')).toMatch(/Orchestration drop \('Loop'\) continued as new: event 'Go' raised at \S+ was not consumed by a waiter and is dropped/);
    expect(m.log.warnings().join('\n')).toMatch(/event 'Ping'/);
    expect(m.store.inboxes.get('drop')?.size ?? 0).toBe(0);
    // The new execution did not get it: a new Go completes it.
    expect(m.status('drop')?.status).toBe('Running');
    expect(await m.engine.raiseEvent('drop', 'Go', '"second"')).toBe('accepted');
    await m.until('completion', done(m, 'drop'));
    expect(output(m, 'drop')).toEqual({ go: 'second' });
  });

  it('gives the new execution an event raised while the last episode ran', async () => {
    const m = memoryEngine({ Loop: loop });
    await m.engine.startNew('Loop', { instanceId: 'keep', input: '0' });
    await m.until('A scheduled', () => m.activities.jobs.length === 1);
    m.invoker.hold();
    await m.activities.complete('A', null);
    await m.until('the continueAsNew episode to park', () => m.invoker.parked === 1);
    expect(await m.engine.raiseEvent('keep', 'Go', '"during"')).toBe('accepted');
    m.invoker.release();
    await m.until('completion', done(m, 'keep'));
    expect(output(m, 'keep')).toEqual({ go: 'during' });
    expect(m.log.warnings().filter((w) => w.includes('continued as new'))).toEqual([]);
  });

  it('drops an event that was waiting when the last episode began even if the batch was cut before it', async () => {
    const cut: OrchestratorFn = function* (ctx) {
      if (ctx.df.getInput<number>() === 0) {
        // R's failure makes the SDK allocate a back-off timer: the batch is cut before it.
        yield ctx.df.Task.any([ctx.df.callActivity('A', 0), ctx.df.callActivityWithRetry('R', new df.RetryOptions(10, 2), 'r')]);
        ctx.df.continueAsNew(1);
        return undefined;
      }
      return yield* (loop(ctx) as Generator<unknown, unknown, unknown>);
    };
    const m = memoryEngine({ Cut: cut });
    await m.engine.startNew('Cut', { instanceId: 'cut-drop', input: '0' });
    await m.until('A and R scheduled', () => m.activities.jobs.length === 2);
    await holdAnEpisode(m, 'cut-drop');
    await m.activities.complete('A', null);
    await m.activities.fail('R', 'no');
    expect(await m.engine.raiseEvent('cut-drop', 'Go', '"waiting"')).toBe('accepted');
    m.invoker.release();
    await m.until('the new execution waiting', () => m.status('cut-drop')?.input === '1' && m.store.historyOf('cut-drop').length > 0);
    expect(m.log.warnings().join('\n')).toMatch(/continued as new: event 'Go' raised at \S+ was not consumed by a waiter and is dropped/);
    expect(m.status('cut-drop')?.status).toBe('Running');
    expect(await m.engine.raiseEvent('cut-drop', 'Go', '"later"')).toBe('accepted');
    await m.until('completion', done(m, 'cut-drop'));
    expect(output(m, 'cut-drop')).toEqual({ go: 'later' });
  });

  it('counts waiters per name, case-insensitively, and drops the latest events beyond them', () => {
    const at = (s: number) => `2030-01-01T00:00:0${s}.000Z`;
    const events = [history.eventRaised(at(1), 'Go'), history.eventRaised(at(2), 'go'), history.eventRaised(at(3), 'Other'), history.executionStarted(at(0), { name: 'x', instanceId: 'i', executionId: 'e' })];
    expect(unconsumedEvents(events, [{ type: 'waitForEvent', name: 'GO' }]).map((e) => e.Timestamp)).toEqual([at(2), at(3)]);
    expect(unconsumedEvents(events, [{ type: 'waitForEvent', name: 'Go' }, { type: 'waitForEvent', name: 'go' }, { type: 'waitForEvent', name: 'other' }])).toEqual([]);
  });
});

describe('the Durable rules', () => {
  it('fails a sliding window (Task.any rebuilt from tasks already started) with the non-determinism error', async () => {
    const window: OrchestratorFn = function* (ctx) {
      const tasks = [0, 1, 2].map((i) => ctx.df.callActivity('copyChunk', { chunk: i }));
      const running = tasks.slice(0, 2);
      const first = yield ctx.df.Task.any(running);
      running.splice(running.indexOf(first as (typeof running)[number]), 1);
      running.push(tasks[2] as (typeof tasks)[number]);
      yield ctx.df.Task.any(running);
      return 'never';
    };
    const m = memoryEngine({ migrateDatabase: window });
    await m.engine.startNew('migrateDatabase', { instanceId: 'w' });
    await m.until('two chunks scheduled', () => m.activities.jobs.length === 2);
    await m.activities.complete('copyChunk', {});
    await m.until('failure', done(m, 'w'));
    expect(m.status('w')).toMatchObject({ status: 'Failed' });
    expect(output(m, 'w')).toBe(
      "Non-deterministic orchestration 'migrateDatabase' (instance w): a Task.any/Task.all holds activity 'copyChunk' (input {\"chunk\":1}) " +
        'that was already scheduled; the Durable extension would schedule it again. Yield each task in at most one Task.any/Task.all.',
    );
    // Nothing was scheduled twice.
    expect(m.activities.jobs.map((j) => j.job.seq)).toEqual([1]);
  });
});
