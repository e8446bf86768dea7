/**
 * The host's scheduler transitions (state.ts, settle.ts) driving the REAL durable-functions replay
 * engine in memory, on a virtual clock: one event per episode, the trigger value passed through
 * JSON as the host sends it. If the host allocated a sequence number differently from the SDK, an
 * answer would reach the wrong task and these orchestrations would hang or return wrong values.
 * No I/O: activities and sub-orchestrations are answered by the simulated world.
 */
import { createRequire } from 'node:module';

import * as df from 'durable-functions';
import { describe, expect, it } from 'vitest';

import { decodeFailure, decodeState, type EpisodeOutcome } from '../../emulator/durable/episode';
import { EventType, history, type HistoryEvent } from '../../emulator/durable/history';
import { isTerminal, type InstanceRecord } from '../../emulator/durable/model';
import { settleEpisode } from '../../emulator/durable/settle';
import { newExecution, prepareEvent, type PendingTask } from '../../emulator/durable/state';

type Handler = (trigger: unknown, context: unknown) => Promise<unknown>;
type OrchestratorFn = (context: df.OrchestrationContext) => Generator<unknown, unknown, unknown>;
const { Orchestrator } = createRequire(__filename)('durable-functions/lib/src/orchestrations/Orchestrator') as {
  Orchestrator: new (fn: OrchestratorFn) => { listen(): Handler };
};

interface World {
  /** Virtual ms an activity takes, and what it returns or throws. */
  activity(name: string, input: unknown, attempt: number): { ms: number; result?: unknown; error?: string };
  subOrchestration?(name: string, input: unknown, instanceId: string): { ms: number; result?: unknown; error?: string };
  /** Events raised at virtual times (ms after start). */
  events?: Array<{ at: number; name: string; data?: unknown }>;
}

const T0 = Date.parse('2030-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** Runs `fn` to its end as the host would; returns the final record and how many episodes ran. */
async function simulate(fn: OrchestratorFn, input: unknown, world: World, instanceId = 'sim'): Promise<{ record: InstanceRecord; episodes: number; seqs: number }> {
  const handler = new Orchestrator(fn).listen();
  let rec: InstanceRecord = {
    instanceId,
    name: 'sim',
    status: 'Pending',
    createdTime: iso(T0),
    lastUpdatedTime: iso(T0),
    input: JSON.stringify(input),
    exec: newExecution('e0'),
    episodes: 0,
  };
  let past: HistoryEvent[] = [];
  let now = T0;
  let order = 0;
  const queue: Array<{ due: number; order: number; exec: string; event: HistoryEvent }> = [];
  const push = (due: number, event: HistoryEvent, exec = rec.exec.executionId) => queue.push({ due, order: order++, exec, event });
  for (const e of world.events ?? []) push(T0 + e.at, history.eventRaised(iso(T0 + e.at), e.name, e.data === undefined ? undefined : JSON.stringify(e.data)), '');
  const attempts = new Map<string, number>();
  const answer = (t: PendingTask) => {
    if (t.kind === 'timer' || t.kind === 'retryTimer') return push(Math.max(now, Date.parse(t.fireAt)), history.timerFired(iso(now), t.seq, t.fireAt));
    const key = `${t.kind}:${t.name}:${t.input ?? ''}`;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const parsed: unknown = t.input === undefined ? undefined : JSON.parse(t.input);
    const r = t.kind === 'activity' ? world.activity(t.name, parsed, attempt) : (world.subOrchestration?.(t.name, parsed, t.instanceId) ?? { ms: 0, error: 'no world' });
    const failure = { reason: r.error ?? '', details: '', failureDetails: { ErrorType: 'Error', ErrorMessage: r.error ?? '' } };
    const at = iso(now + r.ms);
    const event =
      t.kind === 'activity'
        ? r.error !== undefined ? history.taskFailed(at, t.seq, failure) : history.taskCompleted(at, t.seq, JSON.stringify(r.result ?? null))
        : r.error !== undefined ? history.subOrchestrationFailed(at, t.seq, failure) : history.subOrchestrationCompleted(at, t.seq, JSON.stringify(r.result ?? null));
    push(now + r.ms, event);
  };

  for (let episodes = 1; episodes < 500; episodes++) {
    let event: HistoryEvent;
    if (past.length === 0) {
      event = history.executionStarted(iso(now), { name: 'sim', instanceId, executionId: rec.exec.executionId, input: rec.input });
    } else {
      queue.sort((a, b) => a.due - b.due || a.order - b.order);
      const next = queue.shift();
      if (!next) throw new Error(`orchestration waits forever; pending ${JSON.stringify(rec.exec.pending)}`);
      now = Math.max(now, next.due);
      if (next.exec !== '' && next.exec !== rec.exec.executionId) continue;
      event = next.event;
    }
    const prep = prepareEvent(rec.exec, event, instanceId, new Date(now));
    if (prep.stale) continue;
    const clock = iso(Math.max(now, prep.fireAt ? Date.parse(prep.fireAt) : 0));
    const fresh = [history.orchestratorStarted(clock), { ...event, IsPlayed: false }];
    const trigger = JSON.parse(JSON.stringify({
      history: [...past, ...fresh], instanceId, isReplaying: false, input: rec.input === undefined ? undefined : JSON.parse(rec.input),
      upperSchemaVersion: 1, upperSchemaVersionNew: 2, maximumShortTimerDuration: '3650.00:00:00', longRunningTimerIntervalDuration: '3.00:00:00',
    })) as unknown;
    let outcome: EpisodeOutcome;
    try {
      outcome = decodeState(await handler(trigger, new df.DummyOrchestrationContext()), { name: 'sim', instanceId });
    } catch (e) {
      outcome = decodeFailure(e);
    }
    const settled = settleEpisode(rec, prep, outcome, fresh, clock, `e${episodes}`);
    rec = settled.record;
    past = settled.continuedAsNew ? [] : [...past, ...settled.recorded];
    if (isTerminal(rec.status)) return { record: rec, episodes, seqs: rec.exec.nextSeq };
    settled.start.forEach(answer);
    for (const f of prep.failNow) push(now, history.taskFailed(iso(now), f.seq, f.failure));
  }
  throw new Error('too many episodes');
}

const hello = (name: string, input: unknown) => ({ ms: 10, result: `${name}(${JSON.stringify(input)})` });
const output = (r: { record: InstanceRecord }) => (r.record.output === undefined ? undefined : JSON.parse(r.record.output));

describe('scheduler + real replay engine', () => {
  it('runs a sequence, with string inputs reaching activities as strings', async () => {
    const r = await simulate(function* (ctx) {
      const a = yield ctx.df.callActivity('A', 'Tokyo');
      const b = yield ctx.df.callActivity('B', { x: 1 });
      const c = yield ctx.df.callActivity('C');
      return [a, b, c];
    }, null, { activity: hello });
    expect(r.record.status).toBe('Completed');
    expect(output(r)).toEqual(['A("Tokyo")', 'B({"x":1})', 'C(undefined)']);
    expect(r.seqs).toBe(3);
  });

  it('fans out and in whatever order the answers arrive', async () => {
    const r = await simulate(function* (ctx) {
      const tasks = [0, 1, 2, 3, 4].map((i) => ctx.df.callActivity('Work', i));
      const all = yield ctx.df.Task.all(tasks);
      const after = yield ctx.df.callActivity('After', 'x');
      return { all, after };
    }, null, { activity: (n, i) => (n === 'Work' ? { ms: 100 - Number(i) * 10, result: Number(i) * 2 } : { ms: 1, result: 'done' }) });
    expect(output(r)).toEqual({ all: [0, 2, 4, 6, 8], after: 'done' });
  });

  it('allocates retry timers and attempts as the SDK does: success on attempt 3, then more work', async () => {
    const r = await simulate(function* (ctx) {
      const v = yield ctx.df.callActivityWithRetry('Flaky', new df.RetryOptions(1000, 5), 'k');
      const w = yield ctx.df.callActivity('Next', v);
      return [v, w];
    }, null, { activity: (n, input, attempt) => (n === 'Flaky' && attempt < 3 ? { ms: 5, error: `attempt ${attempt}` } : { ms: 5, result: `${n}:${attempt}` }) });
    expect(output(r)).toEqual(['Flaky:3', 'Next:1']);
    // attempts 0, 2, 4 and back-off timers 1, 3; Next is 5.
    expect(r.seqs).toBe(6);
  });

  it('fails the task after the timer that follows the last attempt', async () => {
    const r = await simulate(function* (ctx) {
      try {
        yield ctx.df.callActivityWithRetry('Flaky', new df.RetryOptions(500, 2), 'k');
        return 'no';
      } catch (e) {
        const after = yield ctx.df.callActivity('After', 1);
        return { message: (e as Error).message, after, at: ctx.df.currentUtcDateTime.getTime() - T0 };
      }
    }, null, { activity: (n, _i, attempt) => (n === 'Flaky' ? { ms: 0, error: `boom ${attempt}` } : { ms: 0, result: 'ok' }) });
    // 2 attempts, 2 back-off timers of 500 ms each (the second one after the last attempt).
    expect(output(r)).toEqual({ message: 'Error: boom 2', after: 'ok', at: 1000 });
  });

  it('stops retrying once retryTimeout has passed, without hanging the SDK', async () => {
    const r = await simulate(function* (ctx) {
      const opts = new df.RetryOptions(1000, 10);
      opts.retryTimeoutInMilliseconds = 2500;
      try {
        yield ctx.df.callActivityWithRetry('Flaky', opts, 'k');
        return 'no';
      } catch (e) {
        return (e as Error).message;
      }
    }, null, { activity: (_n, _i, attempt) => ({ ms: 0, error: `boom ${attempt}` }) });
    // As DTFx: attempts failing at 0, 1000 and 2000 ms are retried; the one failing at 3000 is not.
    expect(output(r)).toBe('Error: boom 4');
  });

  it('fails a task yielded again inside a new Task.any as non-deterministic (the extension would schedule it twice)', async () => {
    const r = await simulate(function* (ctx) {
      const slow = ctx.df.callActivity('Slow', 1);
      const t1 = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 100));
      const first = yield ctx.df.Task.any([slow, t1]);
      if (first === slow) return 'too fast';
      const t2 = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 10_000));
      const second = yield ctx.df.Task.any([slow, t2]);
      if (second !== slow) return 'timed out';
      t2.cancel();
      return slow.result;
    }, null, { activity: () => ({ ms: 500, result: 'slow' }) });
    expect(r.record.status).toBe('Failed');
    expect(output(r)).toBe(
      "Non-deterministic orchestration 'sim' (instance sim): a Task.any/Task.all holds activity 'Slow' (input 1) that was already scheduled; " +
        'the Durable extension would schedule it again. Yield each task in at most one Task.any/Task.all.',
    );
    expect(r.record.failure?.failureDetails.ErrorType).toBe('NonDeterministicOrchestrationException');
  });

  it('keeps waiting for a task that lost a race by yielding it alone (no new compound), with distinct equal tasks later', async () => {
    const r = await simulate(function* (ctx) {
      const slow = ctx.df.callActivity('Slow', 1);
      const t1 = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 100));
      const first = yield ctx.df.Task.any([slow, t1]);
      if (first === slow) return 'too fast';
      const value = yield slow;
      const same = ctx.df.callActivity('Slow', 1);
      return [value, yield same];
    }, null, { activity: (_n, _i, attempt) => ({ ms: attempt === 1 ? 500 : 1, result: `slow ${attempt}` }) });
    expect(output(r)).toEqual(['slow 1', 'slow 2']);
    expect(r.record.exec.pending).toEqual({});
  });

  it('races an event against a timer both ways, cancelling the timer', async () => {
    const orchestrator: OrchestratorFn = function* (ctx) {
      const ev = ctx.df.waitForExternalEvent('Go');
      const timer = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 1000));
      const w = yield ctx.df.Task.any([ev, timer]);
      if (w === ev) {
        timer.cancel();
        return { event: ev.result };
      }
      return 'timeout';
    };
    expect(output(await simulate(orchestrator, null, { activity: hello, events: [{ at: 200, name: 'Go', data: { ok: 1 } }] }))).toEqual({ event: { ok: 1 } });
    expect(output(await simulate(orchestrator, null, { activity: hello, events: [{ at: 5000, name: 'Go' }] }))).toBe('timeout');
  });

  it('buffers an event that arrives before the wait', async () => {
    const r = await simulate(function* (ctx) {
      yield ctx.df.callActivity('Slow', 1);
      return yield ctx.df.waitForExternalEvent('Early');
    }, null, { activity: () => ({ ms: 1000, result: 1 }), events: [{ at: 1, name: 'Early', data: 'first' }] });
    expect(output(r)).toBe('first');
  });

  it('continues as new with fresh sequence numbers; later executions receive raised events', async () => {
    const r = await simulate(function* (ctx) {
      const n = ctx.df.getInput<number>();
      yield ctx.df.callActivity('Tick', n);
      if (n < 3) {
        ctx.df.continueAsNew(n + 1);
        return undefined;
      }
      const e = yield ctx.df.waitForExternalEvent('Stop');
      return { n, e };
    }, 0, { activity: () => ({ ms: 10, result: null }), events: [{ at: 100, name: 'Stop', data: 'later' }] });
    expect(output(r)).toEqual({ n: 3, e: 'later' });
    expect(r.seqs).toBe(1);
  });

  it('answers sub-orchestrations with generated and explicit ids, with retry', async () => {
    const ids: string[] = [];
    const r = await simulate(function* (ctx) {
      const a = yield ctx.df.callSubOrchestrator('Child', 'a');
      const b = yield ctx.df.callSubOrchestrator('Child', 'b', 'explicit');
      const c = yield ctx.df.callSubOrchestratorWithRetry('Flaky', new df.RetryOptions(100, 3), 'c');
      return [a, b, c];
    }, null, {
      activity: hello,
      subOrchestration: (name, input, id) => {
        ids.push(id);
        const flakyCalls = ids.length - 2;
        return name === 'Flaky' && flakyCalls < 3 ? { ms: 5, error: 'child failed' } : { ms: 5, result: `${name}:${String(input)}` };
      },
    }, 'p');
    expect(output(r)).toEqual(['Child:a', 'Child:b', 'Flaky:c']);
    // Flaky attempts are 2, 4 and 6; 3 and 5 are the back-off timers.
    expect(ids).toEqual(['p:0', 'explicit', 'p:2', 'p:4', 'p:6']);
  });

  it('fails the instance with the error when the orchestrator throws', async () => {
    const r = await simulate(function* (ctx) {
      yield ctx.df.callActivity('A', 1);
      throw new Error('nope');
    }, null, { activity: hello });
    expect(r.record.status).toBe('Failed');
    expect(output(r)).toBe("Orchestrator function 'sim' failed: nope");
    expect(r.record.failure?.failureDetails.ErrorMessage).toBe("Orchestrator function 'sim' failed: nope");
  });

  it('fails the instance on an action the host cannot run', async () => {
    const r = await simulate(function* (ctx) {
      yield ctx.df.callHttp({ method: 'GET', url: 'http://example.invalid', enablePolling: false });
      return 'no';
    }, null, { activity: hello });
    expect(r.record).toMatchObject({ status: 'Failed', output: JSON.stringify("Orchestrator function 'sim' failed: callHttp is not supported by the offline host") });
  });

  it('records OrchestratorStarted no earlier than a timer fireAt', () => {
    const exec = { ...newExecution('e'), nextSeq: 1, pending: { 0: { kind: 'timer' as const, seq: 0, fireAt: iso(T0 + 5000), actionIndex: 0 } } };
    const prep = prepareEvent(exec, history.timerFired(iso(T0), 0, iso(T0 + 5000)), 'x', new Date(T0));
    expect(prep).toMatchObject({ stale: false, fireAt: iso(T0 + 5000) });
    expect(prepareEvent(exec, history.timerFired(iso(T0), 7, iso(T0)), 'x', new Date(T0)).stale).toBe(true);
    expect(prepareEvent(exec, history.taskCompleted(iso(T0), 0, 'null'), 'x', new Date(T0)).stale).toBe(true);
    expect(prepareEvent(exec, { ...history.eventRaised(iso(T0), 'e'), EventType: EventType.EventRaised }, 'x', new Date(T0)).stale).toBe(false);
  });
});
