/**
 * The reverse stream of one database in a fallback window (fallbackAfterCutover), eternal until
 * the user finalizes or falls back:
 *
 *   open (the source made ready to be written), then
 *   apply a batch (target → source) ─► finalize requested, or the way back must close: remove it, end
 *        ▲                           ─► fall back requested: record the target's position, drain to it,
 *        │                              verify every table, sequences and large objects: fell back, end
 *        │                              (tables that differ: keep replicating, say why)
 *        │                           ─► idle: one wait for a short timer or a fallback/finalize event
 *        └── continueAsNew after at most REVERSE_BATCHES_PER_EXECUTION batches, so history stays small
 *
 * What the user asked is read from Table Storage by applyReverse; events only wake the wait. A
 * step that keeps failing (a server down for longer than the retry policy) never ends the window:
 * it is noted on the database's row and retried after a growing wait — the WAL bound, checked
 * before every batch, is what closes a way back that cannot go on.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { EVENTS, ORCHESTRATORS, type DatabaseKey, type Result, type ReverseEnd, type ReverseLoopState, type VerifyProgress } from '../shared/steps/contracts';
import { activityCaller, run, type Call } from './activity';

export const REVERSE_BATCHES_PER_EXECUTION = 50;
/** How long an idle stream sleeps before it looks again (also the reaction time without an event). */
export const REVERSE_IDLE_MS = 1_000;
/** How long a blocked stream (a change that cannot be applied now) waits before it tries again. */
export const REVERSE_BLOCKED_MS = 5_000;
/** The longest wait after steps that kept failing. */
export const REVERSE_TROUBLE_MAX_MS = 120_000;

export const reverseOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext): Generator<Task, ReverseEnd | undefined, unknown> {
  const state = { ...context.df.getInput<ReverseLoopState>() };
  const key: DatabaseKey = { server: state.server, name: state.name, db: state.db };
  const call = activityCaller(context);
  const finished = function* (end: ReverseEnd): Generator<Task, ReverseEnd, unknown> {
    try {
      yield call('databaseFinished', { server: key.server, name: key.name, db: key.db, migrationInstanceId: state.migrationInstanceId });
    } catch {
      // Only a wake-up: the migration's watch finds the end on the row anyway.
    }
    return end;
  };
  const end = function* (outcome: 'Finalized' | 'Failed', error: string | null): Generator<Task, ReverseEnd, unknown> {
    yield call('endReverse', { ...key, state: outcome, error });
    return yield* finished({ db: key.db, state: outcome, ...(error ? { error } : {}) });
  };

  let waitMs: number | undefined;
  try {
    if (!state.opened) {
      const opened = yield* run(call('openReverse', key));
      if (!opened.ok) return yield* end('Failed', opened.failure.message);
      state.opened = true;
    }
    for (let i = 0; i < REVERSE_BATCHES_PER_EXECUTION; i++) {
      const r = yield* run(call('applyReverse', { ...key, endLsn: state.endLsn ?? null }));
      if (!r.ok) return yield* end('Failed', r.failure.message);
      const o = r.value;
      if (o.control === 'finalize') return yield* end('Finalized', null);
      if (o.stopped !== undefined) return yield* end('Failed', o.stopped);
      if (o.control === 'fallback' && state.endLsn === undefined) {
        const b = yield* run(call('beginFallback', key));
        if (b.ok) state.endLsn = b.value.endLsn;
        else yield call('fallbackFailed', { ...key, error: b.failure.message });
        continue;
      }
      if (state.endLsn !== undefined && o.reachedEnd) {
        const problem = yield* fallBack(call, key);
        if (problem === null) return yield* finished({ db: key.db, state: 'FellBack' });
        yield call('fallbackFailed', { ...key, error: problem });
        delete state.endLsn;
        continue;
      }
      if (o.idle && state.endLsn === undefined) {
        waitMs = o.blocked !== undefined ? REVERSE_BLOCKED_MS : REVERSE_IDLE_MS;
        break;
      }
    }
    state.troubles = 0;
  } catch (err) {
    state.troubles = (state.troubles ?? 0) + 1;
    try {
      yield call('noteReverse', { ...key, message: `A step of the reverse stream failed (${err instanceof Error ? err.message : String(err)}); it is retried` });
    } catch {
      // The row stays as it was; the next execution tries again.
    }
    waitMs = Math.min(REVERSE_IDLE_MS * 2 ** state.troubles, REVERSE_TROUBLE_MAX_MS);
  }
  if (waitMs !== undefined) {
    // This execution's one wait: a fallback or finalize event ends it early.
    const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + waitMs));
    const woke = yield context.df.Task.any([timer, context.df.waitForExternalEvent(EVENTS.fallback), context.df.waitForExternalEvent(EVENTS.finalize)]);
    if (woke !== timer) timer.cancel();
  }
  context.df.continueAsNew(state);
  return undefined;
};

/** Drained: every table compared, then sequences and large objects. Null when the source is ready; else why not. */
function* fallBack(call: Call, key: DatabaseKey): Generator<Task, string | null, unknown> {
  for (let from: number | null = 0; from !== null; ) {
    const v: Result<VerifyProgress & { differs?: string }> = yield* run(call('verifyFallback', { ...key, from }));
    if (!v.ok) return v.failure.message;
    if (v.value.differs !== undefined) return v.value.differs;
    from = v.value.next;
  }
  const done = yield* run(call('completeFallback', key));
  if (!done.ok) return done.failure.message;
  return done.value.differs ?? null;
}

df.app.orchestration(ORCHESTRATORS.reverse, reverseOrchestrator);
