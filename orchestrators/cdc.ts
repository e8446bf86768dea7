/**
 * Change data capture for one database, eternal until cutover or cancel:
 *
 *   apply a batch ─► (first time past the consistency point) post-data, then "caught up"
 *        ▲          ─► cutover requested: record the end position, drain to it, verify, the way back
 *        │             (fallbackAfterCutover: a slot on the target), finish
 *        │          ─► idle: one wait for a short timer or a cutover/cancel event, then continueAsNew
 *        └── continueAsNew after at most CDC_BATCHES_PER_EXECUTION batches, so history stays small
 *
 * What the user asked for (cutover, cancel) is read from Table Storage by applyBatch: the events
 * only wake the wait early, so a request is never lost between executions. Each execution waits
 * at most once, so no event task outlives the Task.any it was made for.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { EVENTS, ORCHESTRATORS, type CdcState, type DatabaseOutcome } from '../shared/steps/contracts';
import { activityCaller, run } from './activity';
import { applySchemaPhase, verifyAllTables } from './shares';

export const CDC_BATCHES_PER_EXECUTION = 50;
/** How long an idle loop sleeps before it looks again (also the cutover/cancel reaction time without an event). */
export const CDC_IDLE_MS = 1_000;
/**
 * Verification ahead of cutover: a new pass (which reads only tables changed since theirs) while
 * idle, AHEAD_REPASS_MS after the first pass ended, then twice as long each time up to
 * AHEAD_REPASS_MAX_MS, so a table that keeps differing is not read over and over; at most
 * AHEAD_MAX_PASSES passes.
 */
export const AHEAD_REPASS_MS = 10_000;
export const AHEAD_REPASS_MAX_MS = 600_000;
export const AHEAD_MAX_PASSES = 1_000;
const repassAfter = (passes: number) => Math.min(AHEAD_REPASS_MAX_MS, AHEAD_REPASS_MS * 2 ** Math.min(20, passes - 1));

export const cdcOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext): Generator<Task, DatabaseOutcome | undefined, unknown> {
  const state = { ...context.df.getInput<CdcState>() };
  const key = { server: state.server, name: state.name, db: state.db };
  const call = activityCaller(context);
  const failed = (error: string): DatabaseOutcome => ({ db: state.db, state: 'Failed', error });

  /**
   * One share of verification ahead of cutover, if one is due; called only when a batch found
   * replay caught up (a share reads while no change waits, so it never holds a backlog back).
   * The first pass starts once post-data is built; later passes see AHEAD_REPASS_MS. Says
   * whether a share ran.
   */
  function* verifyAheadShare(): Generator<Task, boolean, unknown> {
    const now = context.df.currentUtcDateTime.getTime();
    let a = state.ahead ?? { next: 0, passes: 1 };
    if (a.next === null) {
      if (a.passes >= AHEAD_MAX_PASSES || now - (a.endedAt ?? 0) < repassAfter(a.passes)) return false;
      a = { next: 0, passes: a.passes + 1 };
    }
    try {
      const p = yield* run(call('verifyAhead', { ...key, from: a.next ?? 0 }));
      state.ahead = { next: p.next, passes: p.stopped ? AHEAD_MAX_PASSES : a.passes, ...(p.next === null ? { endedAt: now } : {}) };
    } catch {
      // Retries spent on a fault that persists: no more verification ahead; cutover compares every
      // table, as it would without it. Never a reason to fail the database.
      state.ahead = { ...a, next: null, passes: AHEAD_MAX_PASSES, endedAt: now };
    }
    return true;
  }

  try {
    for (let i = 0; i < CDC_BATCHES_PER_EXECUTION; i++) {
      const r = yield* run(call('applyBatch', { ...key, endLsn: state.endLsn ?? null }));
      if (!r.ok) return failed(r.failure.message);
      const o = r.value;
      if (o.control === 'cancel') return { db: state.db, state: 'Canceled' };

      if (!state.caughtUp && o.pastConsistencyPoint) {
        const post = yield* applySchemaPhase(call, key, 'post-data');
        if (!post.ok) return failed(post.failure.message);
        yield call('markCaughtUp', key);
        state.caughtUp = true;
      }
      if (state.caughtUp && o.control === 'cutover' && state.endLsn === undefined) {
        const b = yield* run(call('beginCutover', key));
        if (!b.ok) return failed(b.failure.message);
        state.endLsn = b.value.endLsn;
        continue;
      }
      if (state.endLsn !== undefined && o.reachedEnd) {
        const verified = yield* verifyAllTables(call, (t) => context.df.Task.all(t), key, state.verifyLanes ?? 1);
        if (!verified.ok) return failed(verified.failure.message);
        // fallbackAfterCutover: the way back, now that the forward apply wrote its last change and
        // before the database reports Succeeded (a no-op without it).
        const reverse = yield* run(call('prepareReverse', key));
        if (!reverse.ok) return failed(reverse.failure.message);
        const done = yield* run(call('completeDatabase', key));
        if (!done.ok) return failed(done.failure.message);
        return { db: state.db, state: 'Succeeded' };
      }
      if (state.caughtUp && state.endLsn === undefined && o.control === 'none' && o.idle && !o.busy && (yield* verifyAheadShare())) continue;
      if (o.idle && state.endLsn === undefined) {
        const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + CDC_IDLE_MS));
        const woke = yield context.df.Task.any([timer, context.df.waitForExternalEvent(EVENTS.cutover), context.df.waitForExternalEvent(EVENTS.cancel)]);
        if (woke !== timer) timer.cancel();
        break;
      }
    }
  } catch (err) {
    return failed(err instanceof Error ? err.message : String(err));
  }
  context.df.continueAsNew(state);
  return undefined;
};

df.app.orchestration(ORCHESTRATORS.cdc, cdcOrchestrator);
