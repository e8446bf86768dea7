/**
 * The fallback window's orchestrations (fallbackAfterCutover) as sequences of decisions, driven by
 * the fake context.df (support/fake-df.ts), which also checks the Durable rules on every run: the
 * reverse stream of a database, and the migration's watch of its streams.
 */
import { describe, expect, it } from 'vitest';

import { migrationOrchestrator, WATCH_MS } from '../../orchestrators/migration';
import { REVERSE_BATCHES_PER_EXECUTION, REVERSE_BLOCKED_MS, REVERSE_IDLE_MS, reverseOrchestrator } from '../../orchestrators/reverse';
import { ACTIVITIES as A, EVENTS } from '../../shared/steps/contracts';
import { runExecutions, runOrchestrator, type Responder, type Run } from './support/fake-df';
import { DB_KEY, KEY, MIGRATION_ID, REVERSE_STATE, REVERSING_INPUT, T0, fail, ok, rbatch, reverseScript, reversingScript } from './support/fallback-scripts';

const later = (ms: number) => new Date(T0.getTime() + ms);
const trace = (run: Run) => run.yields.map((t) => (t.kind === 'any' || t.kind === 'all' ? `${t.kind}(${t.children.map((c) => (c.kind === 'event' ? `event ${c.name}` : c.name)).join(', ')})` : t.name));
const timerStates = (run: Run) => run.timers.map((t) => ({ fireAt: t.fireAt, fired: t.isCompleted, cancelled: t.isCanceled }));
const IDLE = `any(timer, event ${EVENTS.fallback}, event ${EVENTS.finalize})`;
const runReverse = (batches: Parameters<typeof reverseScript>[0], o: Parameters<typeof reverseScript>[1] = {}) => runOrchestrator(reverseOrchestrator, reverseScript(batches, o));

describe('reverse stream orchestrator', () => {
  it('opens the source once, applies batches, and on finalize removes the way back, tells the migration and ends Finalized', () => {
    const run = runReverse([rbatch(), rbatch({ control: 'finalize', idle: true })]);
    expect(trace(run)).toEqual([A.openReverse, A.applyReverse, A.applyReverse, A.endReverse, A.databaseFinished]);
    expect(run.inputsOf(A.applyReverse)).toEqual([{ ...DB_KEY, endLsn: null }, { ...DB_KEY, endLsn: null }]);
    expect(run.inputsOf(A.endReverse)).toEqual([{ ...DB_KEY, state: 'Finalized', error: null }]);
    expect(run.inputsOf(A.databaseFinished)).toEqual([{ ...KEY, db: 'app', migrationInstanceId: MIGRATION_ID }]);
    expect(run.output).toEqual({ db: 'app', state: 'Finalized' });
  });

  it('fall back: the end position, a drain to it without idling, every verification share, completeFallback, FellBack', () => {
    const next: Record<number, number | null> = { 0: 4, 4: null };
    const run = runReverse(
      [rbatch({ control: 'fallback' }), rbatch({ idle: true }), rbatch({ idle: true, reachedEnd: true })],
      { activities: { [A.verifyFallback]: (i: { from: number }) => ok({ compared: 4, next: next[i.from] ?? null }) } },
    );
    expect(trace(run)).toEqual([
      A.openReverse, A.applyReverse, A.beginFallback, A.applyReverse, A.applyReverse,
      A.verifyFallback, A.verifyFallback, A.completeFallback, A.databaseFinished,
    ]);
    expect(run.inputsOf<{ endLsn: string | null }>(A.applyReverse).map((i) => i.endLsn)).toEqual([null, '0/F00', '0/F00']);
    expect(run.inputsOf(A.verifyFallback)).toEqual([{ ...DB_KEY, from: 0 }, { ...DB_KEY, from: 4 }]);
    expect(run.names()).not.toContain(A.endReverse);
    expect(run.timers).toEqual([]);
    expect(run.output).toEqual({ db: 'app', state: 'FellBack' });
  });

  it.each<{ what: string; activities: Record<string, Responder>; error: string }>([
    { what: 'tables that differ', activities: { [A.verifyFallback]: () => ok({ compared: 1, next: null, differs: '1 table(s) differ' }) }, error: '1 table(s) differ' },
    { what: 'a failed verification', activities: { [A.verifyFallback]: () => fail('verify broke') }, error: 'verify broke' },
    { what: 'large objects that differ', activities: { [A.completeFallback]: () => ok({ differs: '2 large object(s) differ' }) }, error: '2 large object(s) differ' },
  ])('a fall back that finds $what keeps replicating: fallbackFailed with the reason, the end position forgotten', ({ activities, error }) => {
    const run = runReverse([rbatch({ control: 'fallback' }), rbatch({ reachedEnd: true, idle: true }), rbatch({ idle: true })], { activities });
    expect(run.inputsOf(A.fallbackFailed)).toEqual([{ ...DB_KEY, error }]);
    expect(run.inputsOf<{ endLsn: string | null }>(A.applyReverse).map((i) => i.endLsn)).toEqual([null, '0/F00', null]);
    expect(trace(run).at(-1)).toBe(IDLE);
    expect(run.continuedAsNew).toEqual({ ...REVERSE_STATE, opened: true, troubles: 0 });
    expect(run.names()).not.toContain(A.endReverse);
  });

  it('a fall back that cannot begin is reported and the stream goes on', () => {
    const run = runReverse([rbatch({ control: 'fallback' }), rbatch({ idle: true })], { activities: { [A.beginFallback]: () => fail('target down') } });
    expect(run.inputsOf(A.fallbackFailed)).toEqual([{ ...DB_KEY, error: 'target down' }]);
    expect(run.inputsOf<{ endLsn: string | null }>(A.applyReverse).map((i) => i.endLsn)).toEqual([null, null]);
  });

  it('the way back must close (WAL bound): endReverse Failed with the reason', () => {
    const stopped = 'the reverse slot held back 12 MB of WAL on the target, more than PGFERRY_FALLBACK_MAX_WAL_MB (10 MB)';
    const run = runReverse([rbatch(), rbatch({ idle: true, stopped })]);
    expect(run.inputsOf(A.endReverse)).toEqual([{ ...DB_KEY, state: 'Failed', error: stopped }]);
    expect(run.output).toEqual({ db: 'app', state: 'Failed', error: stopped });
  });

  it('idle: one wait on a REVERSE_IDLE_MS timer or a fallback/finalize event, then continueAsNew (opened)', () => {
    const run = runReverse([rbatch({ idle: true })]);
    expect(trace(run)).toEqual([A.openReverse, A.applyReverse, IDLE]);
    expect(timerStates(run)).toEqual([{ fireAt: later(REVERSE_IDLE_MS), fired: true, cancelled: false }]);
    expect(run.continuedAsNew).toEqual({ ...REVERSE_STATE, opened: true, troubles: 0 });
  });

  it('blocked (a change that cannot be applied now): waits REVERSE_BLOCKED_MS, then tries again', () => {
    const run = runReverse([rbatch({ idle: true, blocked: 'table missing on the source' })], { state: { opened: true } });
    expect(trace(run)).toEqual([A.applyReverse, IDLE]);
    expect(timerStates(run)).toEqual([{ fireAt: later(REVERSE_BLOCKED_MS), fired: true, cancelled: false }]);
  });

  it.each([EVENTS.fallback, EVENTS.finalize])('a %s event wakes the idle wait early: the timer is cancelled', (event) => {
    const run = runReverse([rbatch({ idle: true })], { state: { opened: true }, events: [{ name: event, data: { recorded: true } }] });
    expect(timerStates(run)).toEqual([{ fireAt: later(REVERSE_IDLE_MS), fired: false, cancelled: true }]);
  });

  it('a step that keeps failing never ends the window: noted on the row, a growing wait, then again', () => {
    const runs = runExecutions(reverseOrchestrator, reverseScript([], {
      state: { opened: true },
      activities: { [A.applyReverse]: (_: unknown, n: number) => { if (n <= 2) throw new Error('source down'); return ok(rbatch({ control: 'finalize' })); } },
    }));
    expect(runs.map(trace)).toEqual([
      [A.applyReverse, A.noteReverse, IDLE],
      [A.applyReverse, A.noteReverse, IDLE],
      [A.applyReverse, A.endReverse, A.databaseFinished],
    ]);
    expect(runs[0]?.inputsOf(A.noteReverse)).toEqual([{ ...DB_KEY, message: 'A step of the reverse stream failed (source down); it is retried' }]);
    expect(runs.slice(0, 2).map((r) => r.continuedAsNew)).toEqual([{ ...REVERSE_STATE, opened: true, troubles: 1 }, { ...REVERSE_STATE, opened: true, troubles: 2 }]);
    expect(runs.at(-1)?.output).toEqual({ db: 'app', state: 'Finalized' });
  });

  it(`continues as new after ${REVERSE_BATCHES_PER_EXECUTION} busy batches, carrying the end position`, () => {
    const busy = runReverse([], { state: { opened: true, endLsn: '0/F00' }, then: rbatch({ idle: true }) });
    expect(busy.inputsOf(A.applyReverse)).toHaveLength(REVERSE_BATCHES_PER_EXECUTION);
    expect(busy.timers).toEqual([]);
    expect(busy.continuedAsNew).toEqual({ ...REVERSE_STATE, opened: true, endLsn: '0/F00', troubles: 0 });
  });

  it('an openReverse that fails for good ends it Failed', () => {
    const run = runReverse([], { activities: { [A.openReverse]: () => fail('no reverse slot recorded') } });
    expect(trace(run)).toEqual([A.openReverse, A.endReverse, A.databaseFinished]);
    expect(run.output).toEqual({ db: 'app', state: 'Failed', error: 'no reverse slot recorded' });
  });
});

describe('migration orchestrator: the fallback window', () => {
  const WAIT = `any(timer, event ${EVENTS.fallback}, event ${EVENTS.finalize}, event ${EVENTS.databaseFinished})`;

  it('Succeeded with reverse streams: beginReverse, then continueAsNew into the window instead of finishing', () => {
    const run = runOrchestrator(migrationOrchestrator, {
      instanceId: MIGRATION_ID, now: T0, input: { ...REVERSING_INPUT, reversing: false },
      activities: {
        [A.watchDatabases]: () => ({ finished: true, outcomes: [{ db: 'app', state: 'Succeeded' }] }),
        [A.applyDatabaseRoles]: () => null,
        [A.beginReverse]: () => ({ databases: ['app'] }),
        [A.recordControl]: () => null,
      },
    });
    expect(run.names()).toEqual([A.watchDatabases, A.applyDatabaseRoles, A.beginReverse]);
    expect(run.inputsOf(A.beginReverse)).toEqual([{ ...KEY, migrationInstanceId: MIGRATION_ID }]);
    expect(run.continuedAsNew).toEqual({ ...REVERSING_INPUT, watching: true, reversing: true });
    expect(run.output).toBeUndefined();
  });

  it('one wait per execution and watchReverse, until every stream ended; then finishReverse and Succeeded', () => {
    const runs = runExecutions(migrationOrchestrator, reversingScript([false, false, true]));
    expect(runs.map(trace)).toEqual([[WAIT, A.watchReverse], [WAIT, A.watchReverse], [WAIT, A.watchReverse, A.finishReverse]]);
    expect(runs.map((r) => timerStates(r)[0]?.fireAt)).toEqual([later(WATCH_MS), later(2 * WATCH_MS), later(3 * WATCH_MS)]);
    expect(runs.at(-1)?.inputsOf(A.finishReverse)).toEqual([KEY]);
    expect(runs.at(-1)?.output).toEqual({ state: 'Succeeded' });
    expect(runs.flatMap((r) => r.names())).not.toContain(A.finishMigration);
  });

  it.each([EVENTS.fallback, EVENTS.finalize] as const)('a %s event raised as `az rest` would is recorded by the PATCH\'s rule, before the watch reads the rows', (event) => {
    const run = runOrchestrator(migrationOrchestrator, reversingScript([false], { events: [{ name: event, data: null }] }));
    expect(trace(run)).toEqual([WAIT, A.recordFallbackControl, A.watchReverse]);
    expect(run.inputsOf(A.recordFallbackControl)).toEqual([{ ...KEY, control: event, request: null }]);
    expect(timerStates(run)).toEqual([{ fireAt: later(WATCH_MS), fired: false, cancelled: true }]);
  });
});
