/**
 * The three orchestrators as sequences of decisions, driven by a fake `context.df`
 * (support/fake-df.ts): scripted activity answers in, what they schedule and how they end out.
 * No host, no storage; the real replay engine is exercised by test/e2e/replay.test.ts.
 */
import { describe, expect, it } from 'vitest';

import { CDC_IDLE_MS, CDC_ITERATIONS_PER_EXECUTION, cdcOrchestrator } from '../../orchestrators/cdc';
import { COPY_WINDOW, databaseOrchestrator } from '../../orchestrators/database';
import { migrationOrchestrator } from '../../orchestrators/migration';
import { transientRetry } from '../../orchestrators/retry';
import type { ApplyOutcome, CdcState, DatabaseInput, DatabaseOutcome, MigrationInput } from '../../shared/flow/contracts';
import { ACTIVITIES as A, EVENTS, ORCHESTRATORS, cdcInstanceId, databaseInstanceId, migrationInstanceId } from '../../shared/flow/names';
import { runOrchestrator, type FakeTask, type Responder, type Run, type Script } from './support/fake-df';

const T0 = new Date('2030-01-01T00:00:00Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
const ok = <T>(value: T) => ({ ok: true as const, value });
const fail = (message: string) => ({ ok: false as const, failure: { message } });
const done = () => ok(null);
const nothing = () => null;

// ---------------------------------------------------------------------------------------------
// The migration

const MIGRATION_ID = migrationInstanceId('srv', 'mig');
const KEY = { server: 'srv', name: 'mig' };

function runMigration(input: Partial<MigrationInput>, o: {
  activities?: Record<string, Responder>;
  outcomes?: Record<string, DatabaseOutcome['state']>;
  events?: Script['events'];
} = {}): Run {
  return runOrchestrator(migrationOrchestrator, {
    instanceId: MIGRATION_ID,
    now: T0,
    input: { ...KEY, mode: 'Online', option: 'ValidateAndMigrate', databases: ['a', 'b'], ...input } satisfies MigrationInput,
    activities: {
      [A.setMigrationState]: nothing,
      [A.checkPrerequisites]: done,
      [A.validate]: () => ok({ status: 'Succeeded' }),
      [A.migrateRoles]: () => ok({ skipped: true, created: 0, existing: 0, reserved: 0, warnings: 0 }),
      [A.applyDatabaseRoles]: done,
      [A.recordControl]: nothing,
      [A.finishMigration]: nothing,
      ...o.activities,
    },
    subOrchestrations: {
      [ORCHESTRATORS.database]: (i: DatabaseInput): DatabaseOutcome => {
        const state = o.outcomes?.[i.db] ?? 'Succeeded';
        return state === 'Failed' ? { db: i.db, state, error: `${i.db} broke` } : { db: i.db, state };
      },
    },
    events: o.events ?? [],
  });
}

const subStates = (run: Run) => run.inputsOf<{ subState: string }>(A.setMigrationState).map((s) => s.subState);
const finished = (run: Run) => run.inputsOf(A.finishMigration);
const copied = (run: Run) => run.calls.some((c) => c.kind === 'subOrchestration' || c.name === A.migrateRoles);

describe('migration orchestrator', () => {
  it('runs the numbered steps in order, one database sub-orchestration each, with the transient retry policy', () => {
    const run = runMigration({});
    expect(run.names()).toEqual([
      A.setMigrationState, A.checkPrerequisites,
      A.setMigrationState, A.validate,
      A.setMigrationState, A.migrateRoles,
      ORCHESTRATORS.database, ORCHESTRATORS.database,
      A.finishMigration,
    ]);
    expect(subStates(run)).toEqual(['PerformingPreRequisiteSteps', 'ValidationInProgress', 'MigratingData']);
    const children = run.calls.filter((c) => c.kind === 'subOrchestration');
    expect(children.map((c) => c.instanceId)).toEqual([databaseInstanceId(MIGRATION_ID, 0), databaseInstanceId(MIGRATION_ID, 1)]);
    expect(children.map((c) => c.input)).toEqual([
      { ...KEY, db: 'a', mode: 'Online', index: 0 },
      { ...KEY, db: 'b', mode: 'Online', index: 1 },
    ]);
    for (const c of run.calls.filter((x) => x.kind === 'activity')) expect(c.retry, c.name).toEqual(transientRetry());
  });

  it.each([
    { outcomes: { a: 'Succeeded', b: 'Succeeded' }, state: 'Succeeded' },
    { outcomes: { a: 'Succeeded', b: 'Canceled' }, state: 'Succeeded' },
    { outcomes: { a: 'Canceled', b: 'Canceled' }, state: 'Canceled' },
    { outcomes: { a: 'Succeeded', b: 'Failed' }, state: 'Failed', error: 'b: b broke' },
    { outcomes: { a: 'Failed', b: 'Canceled' }, state: 'Failed', error: 'a: a broke' },
    { outcomes: { a: 'Failed', b: 'Failed' }, state: 'Failed', error: 'a: a broke; b: b broke' },
  ] as const)('databases $outcomes.a and $outcomes.b → $state', ({ outcomes, state, ...rest }) => {
    const error = 'error' in rest ? rest.error : undefined;
    const run = runMigration({}, { outcomes });
    expect(run.output).toMatchObject({ state, databases: [{ db: 'a', state: outcomes.a }, { db: 'b', state: outcomes.b }] });
    expect((run.output as { error?: string }).error).toBe(error);
    expect(finished(run)).toEqual([{ ...KEY, state, error }]);
  });

  it('failed prerequisites fail it before validation', () => {
    const run = runMigration({}, { activities: { [A.checkPrerequisites]: () => fail('source unreachable') } });
    expect(run.output).toEqual({ state: 'Failed', error: 'source unreachable' });
    expect(run.names()).toEqual([A.setMigrationState, A.checkPrerequisites, A.finishMigration]);
  });

  it('a failed validation ends ValidationFailed and copies nothing', () => {
    const run = runMigration({}, { activities: { [A.validate]: () => ok({ status: 'Failed' }) } });
    expect(run.output).toEqual({ state: 'ValidationFailed', error: 'Validation failed: see validationDetails' });
    expect(finished(run)).toEqual([{ ...KEY, state: 'ValidationFailed', error: 'Validation failed: see validationDetails' }]);
    expect(copied(run)).toBe(false);
  });

  it('Validate only stops after validation, Succeeded', () => {
    const run = runMigration({ option: 'Validate' });
    expect(run.output).toEqual({ state: 'Succeeded' });
    expect(run.names().slice(-2)).toEqual([A.validate, A.finishMigration]);
    expect(copied(run)).toBe(false);
  });

  it('Migrate skips validation', () => {
    const run = runMigration({ option: 'Migrate' });
    expect(run.names()).not.toContain(A.validate);
    expect(subStates(run)).toEqual(['PerformingPreRequisiteSteps', 'MigratingData']);
    expect(run.output).toMatchObject({ state: 'Succeeded' });
  });

  it('waits for the window on a durable timer after validation, and copies only once it opened', () => {
    const start = minutes(60);
    const run = runMigration({ migrationWindowStartTimeInUtc: start.toISOString(), migrationWindowEndTimeInUtc: minutes(180).toISOString() });
    expect(subStates(run)).toEqual(['PerformingPreRequisiteSteps', 'ValidationInProgress', 'WaitingForDataMigrationWindow', 'MigratingData']);
    expect(run.timers.map((t) => [t.fireAt, t.isCompleted])).toEqual([[start, true]]);
    expect(run.calls.find((c) => c.name === A.validate)?.at).toEqual(T0);
    for (const c of run.calls.filter((x) => x.name === A.migrateRoles || x.kind === 'subOrchestration')) expect(c.at.getTime()).toBeGreaterThanOrEqual(start.getTime());
    expect(run.output).toMatchObject({ state: 'Succeeded' });
  });

  it('a window that already opened is not waited for', () => {
    const run = runMigration({ migrationWindowStartTimeInUtc: minutes(-5).toISOString() });
    expect(run.timers).toEqual([]);
    expect(subStates(run)).not.toContain('WaitingForDataMigrationWindow');
  });

  it('a cancel during the wait records it, cancels the timer and ends Canceled without copying', () => {
    const run = runMigration({ migrationWindowStartTimeInUtc: minutes(60).toISOString() }, { events: [{ name: EVENTS.cancel, data: { by: 'az rest' } }] });
    expect(run.timers).toHaveLength(1);
    expect(run.timers[0]).toMatchObject({ isCanceled: true, isCompleted: false });
    expect(run.inputsOf(A.recordControl)).toEqual([{ ...KEY, control: 'cancel', request: { by: 'az rest' } }]);
    expect(run.output).toEqual({ state: 'Canceled' });
    expect(copied(run)).toBe(false);
  });

  it('a window whose end has passed fails it without copying', () => {
    const end = minutes(-1).toISOString();
    const run = runMigration({ migrationWindowStartTimeInUtc: minutes(-60).toISOString(), migrationWindowEndTimeInUtc: end });
    const error = (run.output as { error: string }).error;
    expect(run.output).toMatchObject({ state: 'Failed' });
    expect(error).toContain(`The migration window ended at ${end}`);
    expect(error).toContain('no data was copied');
    expect(finished(run)).toEqual([{ ...KEY, state: 'Failed', error }]);
    expect(copied(run)).toBe(false);
  });

  it('records cutover and cancel events that arrive while the databases run, then keeps waiting for them', () => {
    const run = runMigration({}, { events: [{ name: EVENTS.cutover, data: { dbs: ['a'] } }, { name: EVENTS.cancel }] });
    expect(run.inputsOf(A.recordControl)).toEqual([
      { ...KEY, control: 'cutover', request: { dbs: ['a'] } },
      { ...KEY, control: 'cancel', request: null },
    ]);
    expect(run.names().at(-1)).toBe(A.finishMigration);
    expect(run.output).toMatchObject({ state: 'Succeeded' });
  });

  it('with migrateRoles, gives the databases that succeeded their owner and privileges', () => {
    const run = runMigration({ databases: ['a', 'b', 'c'] }, {
      activities: { [A.migrateRoles]: () => ok({ skipped: false, created: 2, existing: 0, reserved: 0, warnings: 0 }) },
      outcomes: { b: 'Canceled' },
    });
    expect(run.inputsOf(A.applyDatabaseRoles)).toEqual([{ ...KEY, databases: ['a', 'c'] }]);
  });

  it('failed role migration fails it before any database', () => {
    const run = runMigration({}, { activities: { [A.migrateRoles]: () => fail('role "x" exists') } });
    expect(run.output).toEqual({ state: 'Failed', error: 'role "x" exists' });
    expect(run.calls.some((c) => c.kind === 'subOrchestration')).toBe(false);
  });

  it('an activity that keeps throwing (retries exhausted) fails it with the message', () => {
    const run = runMigration({}, { activities: { [A.validate]: () => { throw new Error('storage down'); } } });
    expect(run.output).toEqual({ state: 'Failed', error: 'storage down' });
    expect(finished(run)).toEqual([{ ...KEY, state: 'Failed', error: 'storage down' }]);
  });
});

// ---------------------------------------------------------------------------------------------
// One database

const PARENT = migrationInstanceId('srv', 'mig');
const DB_KEY = { ...KEY, db: 'app' };

/** Three tables over `chunks` chunks; the last chunk of each loads it. */
function tablesOver(chunks: number): Map<number, string> {
  const lastOf = new Map<number, string>();
  const third = Math.ceil(chunks / 3);
  ['public.t1', 'public.t2', 'public.t3'].forEach((t, i) => lastOf.set(Math.min(chunks, (i + 1) * third) - 1, t));
  return lastOf;
}

function runDatabase(mode: 'Online' | 'Offline', o: {
  chunks?: number;
  activities?: Record<string, Responder>;
  pick?: Script['pick'];
} = {}): Run {
  const chunks = o.chunks ?? 11;
  const loads = tablesOver(chunks);
  return runOrchestrator(databaseOrchestrator, {
    instanceId: databaseInstanceId(PARENT, 1),
    parentInstanceId: PARENT,
    now: T0,
    input: { ...DB_KEY, mode, index: 1 } satisfies DatabaseInput,
    activities: {
      [A.prepareTargetDatabase]: done,
      [A.applyDatabaseRoles]: done,
      [A.createSlot]: done,
      [A.applySchema]: done,
      [A.planCopy]: () => ok({ chunks, tables: 3 }),
      [A.copyChunk]: (i: { chunk: number }) => ok(loads.has(i.chunk) ? { tableLoaded: loads.get(i.chunk) } : {}),
      [A.buildTableIndexes]: done,
      [A.finishCopy]: done,
      [A.completeDatabase]: done,
      [A.stopDatabase]: nothing,
      ...o.activities,
    },
    subOrchestrations: { [ORCHESTRATORS.cdc]: (s: CdcState): DatabaseOutcome => ({ db: s.db, state: 'Succeeded' }) },
    ...(o.pick ? { pick: o.pick } : {}),
  });
}

const chunksCopied = (run: Run) => run.inputsOf<{ chunk: number }>(A.copyChunk).map((c) => c.chunk);
const phases = (run: Run) => run.inputsOf<{ phase: string }>(A.applySchema).map((c) => c.phase);
const chunkOf = (t: FakeTask) => (t.input as { chunk: number }).chunk;

describe('database orchestrator', () => {
  it.each([
    { order: 'in order', pick: undefined },
    { order: 'newest first', pick: (c: readonly FakeTask[]) => c[c.length - 1] as FakeTask },
    { order: 'odd chunks first', pick: (c: readonly FakeTask[]) => c.find((t) => chunkOf(t) % 2 === 1) ?? (c[0] as FakeTask) },
  ])('copies every chunk exactly once, never more than COPY_WINDOW at a time (completions $order)', ({ pick }) => {
    const run = runDatabase('Offline', { chunks: 11, ...(pick ? { pick } : {}) });
    expect([...chunksCopied(run)].sort((x, y) => x - y)).toEqual([...Array(11).keys()]);
    expect(run.maxInFlight[A.copyChunk]).toBe(COPY_WINDOW);
    expect(run.inputsOf<{ table: string }>(A.buildTableIndexes).map((b) => b.table).sort()).toEqual(['public.t1', 'public.t2', 'public.t3']);
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
  });

  it('builds a table’s indexes as soon as its last chunk landed, while other tables still copy', () => {
    const run = runDatabase('Offline', { chunks: 12 });
    const names = run.calls.map((c) => (c.name === A.copyChunk ? `copy ${(c.input as { chunk: number }).chunk}` : c.name === A.buildTableIndexes ? `index ${(c.input as { table: string }).table}` : c.name));
    expect(names.indexOf('index public.t1')).toBeGreaterThan(names.indexOf('copy 3'));
    expect(names.indexOf('index public.t1')).toBeLessThan(names.indexOf('copy 11'));
    expect(run.inputsOf(A.buildTableIndexes)).toEqual(['public.t1', 'public.t2', 'public.t3'].map((table) => ({ ...DB_KEY, table })));
  });

  it('Online: the slot before any row, pre-data, the copy, keys, then the CDC sub-orchestration decides', () => {
    const run = runDatabase('Online', { chunks: 2 });
    expect(run.names().filter((n) => n !== A.copyChunk && n !== A.buildTableIndexes)).toEqual([
      A.prepareTargetDatabase, A.applyDatabaseRoles, A.createSlot, A.applySchema, A.planCopy, A.applySchema, A.finishCopy, ORCHESTRATORS.cdc,
    ]);
    expect(run.names().indexOf(A.createSlot)).toBeLessThan(run.names().indexOf(A.copyChunk));
    expect(phases(run)).toEqual(['pre-data', 'keys']);
    const cdc = run.calls.find((c) => c.kind === 'subOrchestration');
    expect(cdc).toMatchObject({ name: ORCHESTRATORS.cdc, instanceId: cdcInstanceId(PARENT, 1), input: { ...DB_KEY, caughtUp: false } });
    expect(run.names()).not.toContain(A.completeDatabase);
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
  });

  it('Offline: no slot; ends with post-data and completeDatabase, Succeeded', () => {
    const run = runDatabase('Offline', { chunks: 3 });
    expect(run.names()).not.toContain(A.createSlot);
    expect(run.calls.some((c) => c.kind === 'subOrchestration')).toBe(false);
    expect(phases(run)).toEqual(['pre-data', 'keys', 'post-data']);
    expect(run.names().slice(-3)).toEqual([A.finishCopy, A.applySchema, A.completeDatabase]);
    expect(run.inputsOf(A.completeDatabase)).toEqual([{ ...DB_KEY, drained: true }]);
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
  });

  it('a failed chunk stops scheduling and calls stopDatabase with Failed', () => {
    const run = runDatabase('Online', {
      chunks: 20,
      activities: { [A.copyChunk]: (i: { chunk: number }) => (i.chunk === 5 ? fail('chunk 5: disk full') : ok({})) },
    });
    expect(run.output).toEqual({ db: 'app', state: 'Failed', error: 'chunk 5: disk full' });
    expect(run.names().at(-1)).toBe(A.stopDatabase);
    expect(run.inputsOf(A.stopDatabase)).toEqual([{ ...DB_KEY, state: 'Failed', error: 'chunk 5: disk full' }]);
    expect(Math.max(...chunksCopied(run))).toBeLessThan(5 + COPY_WINDOW);
    expect(run.names()).not.toContain(A.finishCopy);
    expect(run.calls.some((c) => c.kind === 'subOrchestration')).toBe(false);
  });

  it('a canceled chunk ends it Canceled', () => {
    const run = runDatabase('Online', { activities: { [A.copyChunk]: (i: { chunk: number }) => ok(i.chunk === 2 ? { canceled: true } : {}) } });
    expect(run.output).toEqual({ db: 'app', state: 'Canceled' });
    expect(run.inputsOf(A.stopDatabase)).toEqual([{ ...DB_KEY, state: 'Canceled', error: null }]);
    expect(run.names()).not.toContain(A.finishCopy);
  });

  it.each([A.prepareTargetDatabase, A.createSlot, A.planCopy, A.buildTableIndexes, A.finishCopy])('a failed %s stops it Failed', (activity) => {
    const run = runDatabase('Online', { activities: { [activity]: () => fail(`${activity} said no`) } });
    expect(run.output).toEqual({ db: 'app', state: 'Failed', error: `${activity} said no` });
    expect(run.inputsOf(A.stopDatabase)).toEqual([{ ...DB_KEY, state: 'Failed', error: `${activity} said no` }]);
    expect(run.calls.some((c) => c.kind === 'subOrchestration')).toBe(false);
  });

  it('an activity that keeps throwing stops it Failed with the message', () => {
    const run = runDatabase('Offline', { activities: { [A.finishCopy]: () => { throw new Error('connection reset'); } } });
    expect(run.output).toEqual({ db: 'app', state: 'Failed', error: 'connection reset' });
    expect(run.names().at(-1)).toBe(A.stopDatabase);
  });
});

// ---------------------------------------------------------------------------------------------
// The CDC loop

const CDC_ID = cdcInstanceId(PARENT, 0);
const batch = (o: Partial<ApplyOutcome> = {}): ApplyOutcome => ({ idle: false, pastConsistencyPoint: true, reachedEnd: false, control: 'none', ...o });

/** applyBatch answers `batches` in order, then `then` for every later call. */
function runCdc(batches: ApplyOutcome[], o: {
  state?: Partial<CdcState>;
  then?: ApplyOutcome;
  activities?: Record<string, Responder>;
  events?: Script['events'];
} = {}): Run {
  return runOrchestrator(cdcOrchestrator, {
    instanceId: CDC_ID,
    parentInstanceId: databaseInstanceId(PARENT, 0),
    now: T0,
    input: { ...DB_KEY, caughtUp: false, ...o.state } satisfies CdcState,
    activities: {
      [A.applyBatch]: (_: unknown, n: number) => ok(batches[n - 1] ?? o.then ?? batch({ control: 'cancel' })),
      [A.applySchema]: done,
      [A.markCaughtUp]: nothing,
      [A.beginCutover]: () => ok({ endLsn: '0/ABC' }),
      [A.completeDatabase]: done,
      [A.stopDatabase]: nothing,
      ...o.activities,
    },
    events: o.events ?? [],
  });
}

const endLsns = (run: Run) => run.inputsOf<{ endLsn: string | null }>(A.applyBatch).map((b) => b.endLsn);

describe('CDC orchestrator', () => {
  it('once past the consistency point: post-data, then markCaughtUp, once', () => {
    const run = runCdc([batch({ pastConsistencyPoint: false }), batch(), batch({ idle: true }), batch()]);
    expect(run.names().slice(0, 4)).toEqual([A.applyBatch, A.applyBatch, A.applySchema, A.markCaughtUp]);
    expect(run.inputsOf(A.applySchema)).toEqual([{ ...DB_KEY, phase: 'post-data' }]);
    expect(run.inputsOf(A.markCaughtUp)).toEqual([DB_KEY]);
  });

  it('cutover: beginCutover, drain to the end position, completeDatabase, Succeeded', () => {
    const run = runCdc([batch({ idle: true }), batch({ control: 'cutover' }), batch({ idle: true, control: 'cutover' }), batch({ control: 'cutover', reachedEnd: true })]);
    expect(run.names()).toEqual([
      A.applyBatch, A.applySchema, A.markCaughtUp,
      A.applyBatch, A.beginCutover,
      A.applyBatch, A.applyBatch,
      A.completeDatabase,
    ]);
    expect(endLsns(run)).toEqual([null, null, '0/ABC', '0/ABC']);
    // Draining does not idle on a timer, even when a batch found nothing.
    expect(run.timers).toHaveLength(1);
    expect(run.inputsOf(A.completeDatabase)).toEqual([{ ...DB_KEY, drained: true }]);
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
  });

  it('a cutover requested before catching up begins only once caught up', () => {
    const run = runCdc([batch({ pastConsistencyPoint: false, control: 'cutover' }), batch({ control: 'cutover' }), batch({ control: 'cutover', reachedEnd: true })]);
    expect(run.names()).toEqual([A.applyBatch, A.applyBatch, A.applySchema, A.markCaughtUp, A.beginCutover, A.applyBatch, A.completeDatabase]);
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
  });

  it('cancel: stopDatabase Canceled', () => {
    const run = runCdc([batch({ idle: true }), batch({ control: 'cancel' })]);
    expect(run.inputsOf(A.stopDatabase)).toEqual([{ ...DB_KEY, state: 'Canceled', error: null }]);
    expect(run.output).toEqual({ db: 'app', state: 'Canceled' });
    expect(run.names()).not.toContain(A.completeDatabase);
  });

  it('idle: sleeps CDC_IDLE_MS on a timer; an event wakes it early and the timer is cancelled', () => {
    const slept = runCdc([batch({ idle: true }), batch({ idle: true })]);
    expect(slept.timers.map((t) => [t.fireAt, t.isCompleted, t.isCanceled])).toEqual([
      [new Date(T0.getTime() + CDC_IDLE_MS), true, false],
      [new Date(T0.getTime() + 2 * CDC_IDLE_MS), true, false],
    ]);
    const woken = runCdc([batch({ idle: true })], { events: [{ name: EVENTS.cancel }] });
    expect(woken.timers).toHaveLength(1);
    expect(woken.timers[0]).toMatchObject({ isCompleted: false, isCanceled: true });
    expect(woken.output).toEqual({ db: 'app', state: 'Canceled' });
  });

  it('a failed batch or post-data stops it Failed', () => {
    const bad = runCdc([], { activities: { [A.applyBatch]: (_: unknown, n: number) => (n === 2 ? fail('row diverged') : ok(batch({ pastConsistencyPoint: false }))) } });
    expect(bad.output).toEqual({ db: 'app', state: 'Failed', error: 'row diverged' });
    expect(bad.inputsOf(A.stopDatabase)).toEqual([{ ...DB_KEY, state: 'Failed', error: 'row diverged' }]);
    const post = runCdc([batch()], { activities: { [A.applySchema]: () => fail('index build failed') } });
    expect(post.output).toEqual({ db: 'app', state: 'Failed', error: 'index build failed' });
    expect(post.names()).not.toContain(A.markCaughtUp);
  });

  it(`continues as new after ${CDC_ITERATIONS_PER_EXECUTION} batches, carrying caughtUp and the end position`, () => {
    const idle = runCdc([batch({ idle: true })], { then: batch({ idle: true }) });
    expect(idle.inputsOf(A.applyBatch)).toHaveLength(CDC_ITERATIONS_PER_EXECUTION);
    expect(idle.continuedAsNew).toEqual({ ...DB_KEY, caughtUp: true });
    expect(idle.output).toBeUndefined();
    expect(idle.inputsOf(A.markCaughtUp)).toHaveLength(1);

    const draining = runCdc([batch({ control: 'cutover' })], { then: batch({ control: 'cutover' }) });
    expect(draining.continuedAsNew).toEqual({ ...DB_KEY, caughtUp: true, endLsn: '0/ABC' });
  });

  it('a continued execution keeps its state: no second post-data, drains to the end position it carries', () => {
    const run = runCdc([batch(), batch({ reachedEnd: true, control: 'cutover' })], { state: { caughtUp: true, endLsn: '0/1' } });
    expect(run.names()).toEqual([A.applyBatch, A.applyBatch, A.completeDatabase]);
    expect(endLsns(run)).toEqual(['0/1', '0/1']);
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
  });
});
