/**
 * The orchestrators as sequences of decisions, driven by a fake `context.df`
 * (support/fake-df.ts): scripted activity answers in, what they schedule and how they end out.
 * The fake checks the Durable rules of DESIGN.md on every run (a task once yielded never goes into
 * another Task.any/Task.all; no Task.any/Task.all yielded twice), so every test below also proves
 * its orchestration obeys them. No host, no storage; the real replay engine is exercised by
 * test/e2e/replay.test.ts.
 */
import { createRequire } from 'node:module';

import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { describe, expect, it } from 'vitest';

import { decodeState } from '../../emulator/durable/episode';
import { history, type HistoryEvent } from '../../emulator/durable/history';

import { AHEAD_MAX_PASSES, AHEAD_REPASS_MAX_MS, AHEAD_REPASS_MS, CDC_BATCHES_PER_EXECUTION, CDC_IDLE_MS, cdcOrchestrator } from '../../orchestrators/cdc';
import { LANE_CHUNKS_PER_EXECUTION, copyLaneOrchestrator } from '../../orchestrators/copy-lane';
import { databaseOrchestrator } from '../../orchestrators/database';
import { GATE_MAX_WAIT_MS, GATE_POLL_MS, WATCH_MS, finalState, migrationOrchestrator } from '../../orchestrators/migration';
import { transientRetry } from '../../orchestrators/retry';
import {
  ACTIVITIES as A, COPY_LANES, EVENTS, ORCHESTRATORS, cdcInstanceId, copyLaneInstanceId, databaseInstanceId, migrationInstanceId,
  type ApplyOutcome, type CdcState, type ChunkOutcome, type CopyLaneInput, type DataMigrationGate, type DatabaseInput, type DatabaseOutcome,
  type DatabasesStatus, type LaneOutcome, type MigrationInput, type Result,
} from '../../shared/steps/contracts';
import { DurableRuleError, runExecutions, runOrchestrator, type FakeTask, type Responder, type Run, type Script, type ScriptEvent } from './support/fake-df';
import { reverseOrchestrator } from '../../orchestrators/reverse';
import { rbatch, reverseScript, reversingScript } from './support/fallback-scripts';

const T0 = new Date('2030-01-01T00:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const minutes = (n: number) => later(n * 60_000);
const ok = <T>(value: T) => ({ ok: true as const, value });
const fail = (message: string) => ({ ok: false as const, failure: { message } });
const done = () => ok(null);
const nothing = () => null;

/** A compound task as `any(timer, event cutover, …)`. */
const compound = (t: FakeTask) => `${t.kind}(${t.children.map((c) => (c.kind === 'event' ? `event ${c.name}` : c.name)).join(', ')})`;
/** What the run yielded, in order: activity and orchestrator names, compounds spelled out. */
const trace = (run: Run) => run.yields.map((t) => (t.kind === 'any' || t.kind === 'all' ? compound(t) : t.name));
const compounds = (run: Run) => run.yields.filter((t) => t.kind === 'any' || t.kind === 'all').map(compound);
const timerStates = (run: Run) => run.timers.map((t) => ({ fireAt: t.fireAt, fired: t.isCompleted, cancelled: t.isCanceled }));

// ---------------------------------------------------------------------------------------------
// The migration

const MIGRATION_ID = migrationInstanceId('srv', 'mig');
const KEY = { server: 'srv', name: 'mig' };
const INPUT: MigrationInput = { ...KEY, option: 'ValidateAndMigrate', databases: ['a', 'b'] };
const WATCH = `any(timer, event ${EVENTS.cutover}, event ${EVENTS.cancel}, event ${EVENTS.databaseFinished})`;
/** Step 3's one wait. */
const GATE_WAIT = `any(timer, event ${EVENTS.update}, event ${EVENTS.cutover}, event ${EVENTS.cancel})`;
const OPEN: DataMigrationGate = { open: true, mode: 'Online' };
/** Step 3's answers in turn (the last one repeats). */
const gates = (...answers: DataMigrationGate[]) => (_: unknown, n: number) => answers[Math.min(n, answers.length) - 1];
const windowWait = (start: Date, end?: Date): DataMigrationGate => ({ open: false, waitingFor: 'WaitingForDataMigrationWindow', until: start.toISOString(), ...(end ? { migrationWindowEndTimeInUtc: end.toISOString() } : {}) });
const STILL_RUNNING: DatabasesStatus = { finished: false, outcomes: [] };

function outcomesOf(databases: string[], states: Record<string, DatabaseOutcome['state']> = {}): DatabaseOutcome[] {
  return databases.map((db) => {
    const state = states[db] ?? 'Succeeded';
    return state === 'Failed' ? { db, state, error: `${db} broke` } : { db, state };
  });
}

function migrationScript(input: Partial<MigrationInput>, o: {
  activities?: Record<string, Responder>;
  /** What watchDatabases reports once finished (default: every database Succeeded). */
  outcomes?: Record<string, DatabaseOutcome['state']>;
  events?: Script['events'];
  durations?: Script['durations'];
} = {}): Script {
  const full = { ...INPUT, ...input };
  return {
    instanceId: MIGRATION_ID,
    now: T0,
    input: full,
    activities: {
      [A.setMigrationState]: nothing,
      [A.checkPrerequisites]: done,
      [A.validate]: () => ok({ status: 'Succeeded' }),
      [A.openDataMigration]: () => OPEN,
      [A.migrateRoles]: () => ok({ skipped: true, created: 0, existing: 0, reserved: 0, warnings: 0 }),
      [A.startDatabases]: nothing,
      [A.watchDatabases]: (): DatabasesStatus => ({ finished: true, outcomes: outcomesOf(full.databases, o.outcomes) }),
      [A.recordControl]: nothing,
      [A.applyDatabaseRoles]: nothing,
      [A.beginReverse]: () => ({ databases: [] }),
      [A.finishMigration]: nothing,
      ...o.activities,
    },
    events: o.events ?? [],
    ...(o.durations ? { durations: o.durations } : {}),
  };
}

const runMigration = (input: Partial<MigrationInput>, o: Parameters<typeof migrationScript>[1] = {}) => runOrchestrator(migrationOrchestrator, migrationScript(input, o));
const runChain = (input: Partial<MigrationInput>, o: Parameters<typeof migrationScript>[1] = {}) => runExecutions(migrationOrchestrator, migrationScript(input, o));
const subStates = (run: Run) => run.inputsOf<{ subState: string }>(A.setMigrationState).map((s) => s.subState);
const finished = (run: Run) => run.inputsOf(A.finishMigration);
const recorded = (run: Run) => run.inputsOf(A.recordControl);
const copied = (run: Run) => run.names().some((n) => n === A.migrateRoles || n === A.startDatabases);

describe('migration orchestrator', () => {
  it('runs steps 1–4 in order, starts the databases with the startDatabases activity, then one wait and watchDatabases', () => {
    const run = runMigration({});
    expect(trace(run)).toEqual([
      A.setMigrationState, A.checkPrerequisites,
      A.setMigrationState, A.validate,
      A.openDataMigration, A.migrateRoles, A.startDatabases,
      WATCH, A.watchDatabases,
      A.applyDatabaseRoles, A.beginReverse, A.finishMigration,
    ]);
    // MigratingData is stored by step 3 itself, in the write that decided it (shared/steps/gate.ts).
    expect(subStates(run)).toEqual(['PerformingPreRequisiteSteps', 'ValidationInProgress']);
    expect(run.inputsOf(A.openDataMigration)).toEqual([KEY]);
    expect(run.calls.filter((c) => c.kind === 'subOrchestration')).toEqual([]);
    expect(run.inputsOf(A.startDatabases)).toEqual([{ ...KEY, mode: 'Online', databases: ['a', 'b'], migrationInstanceId: MIGRATION_ID }]);
    expect(run.inputsOf(A.watchDatabases)).toEqual([{ ...KEY, migrationInstanceId: MIGRATION_ID }]);
    expect(timerStates(run)).toEqual([{ fireAt: later(WATCH_MS), fired: true, cancelled: false }]);
    expect(recorded(run)).toEqual([]);
    expect(run.output).toEqual({ state: 'Succeeded', databases: outcomesOf(['a', 'b']) });
    expect(finished(run)).toEqual([{ ...KEY, state: 'Succeeded' }]);
  });

  it.each([
    { outcomes: { a: 'Succeeded', b: 'Succeeded' }, state: 'Succeeded' },
    { outcomes: { a: 'Succeeded', b: 'Canceled' }, state: 'Succeeded' },
    { outcomes: { a: 'Canceled', b: 'Canceled' }, state: 'Canceled' },
    { outcomes: { a: 'Succeeded', b: 'Failed' }, state: 'Failed', error: 'b: b broke. Succeeded: a' },
    { outcomes: { a: 'Failed', b: 'Canceled' }, state: 'Failed', error: 'a: a broke. Canceled: b' },
    { outcomes: { a: 'Failed', b: 'Failed' }, state: 'Failed', error: 'a: a broke; b: b broke' },
  ] as const)('databases $outcomes.a and $outcomes.b → $state (finalState)', ({ outcomes, state, ...rest }) => {
    const error = 'error' in rest ? rest.error : undefined;
    const run = runMigration({}, { outcomes });
    const databases = outcomesOf(['a', 'b'], outcomes);
    expect(finalState(databases)).toEqual({ state, ...(error ? { error } : {}), databases });
    expect(run.output).toEqual(finalState(databases));
    expect(finished(run)).toEqual([{ ...KEY, state, ...(error ? { error } : {}) }]);
  });

  it('gives owner, privileges and role settings to the databases that Succeeded only, and skips that when none did', () => {
    const some = runMigration({ databases: ['a', 'b', 'c'] }, { outcomes: { b: 'Canceled' } });
    expect(some.inputsOf(A.applyDatabaseRoles)).toEqual([{ ...KEY, databases: ['a', 'c'] }]);
    expect(some.names().slice(-3)).toEqual([A.applyDatabaseRoles, A.beginReverse, A.finishMigration]);
    const none = runMigration({}, { outcomes: { a: 'Failed', b: 'Canceled' } });
    expect(none.names()).not.toContain(A.applyDatabaseRoles);
  });

  it('failed prerequisites fail it before validation', () => {
    const run = runMigration({}, { activities: { [A.checkPrerequisites]: () => fail('source unreachable') } });
    expect(run.output).toEqual({ state: 'Failed', error: 'source unreachable' });
    expect(trace(run)).toEqual([A.setMigrationState, A.checkPrerequisites, A.finishMigration]);
  });

  it('a failed validation ends ValidationFailed and copies nothing', () => {
    const run = runMigration({}, { activities: { [A.validate]: () => ok({ status: 'Failed' }) } });
    expect(run.output).toEqual({ state: 'ValidationFailed', error: 'Validation failed: see validationDetails' });
    expect(finished(run)).toEqual([{ ...KEY, state: 'ValidationFailed', error: 'Validation failed: see validationDetails' }]);
    expect(copied(run)).toBe(false);
    expect(run.yields.filter((t) => t.kind === 'any')).toEqual([]);
  });

  it('validation that only warns goes on to migrate', () => {
    const run = runMigration({}, { activities: { [A.validate]: () => ok({ status: 'Warning' }) } });
    expect(run.names()).toContain(A.startDatabases);
    expect(run.output).toMatchObject({ state: 'Succeeded' });
  });

  it('Validate only stops after validation, Succeeded', () => {
    const run = runMigration({ option: 'Validate' });
    expect(run.output).toEqual({ state: 'Succeeded' });
    expect(trace(run).slice(-2)).toEqual([A.validate, A.finishMigration]);
    expect(copied(run)).toBe(false);
  });

  it('Migrate skips validation', () => {
    const run = runMigration({ option: 'Migrate' });
    expect(run.names()).not.toContain(A.validate);
    expect(subStates(run)).toEqual(['PerformingPreRequisiteSteps']);
    expect(run.names()).toContain(A.openDataMigration);
    expect(run.output).toMatchObject({ state: 'Succeeded' });
  });

  it('starts the databases in the mode step 3 read from the row (a PATCH may have changed it)', () => {
    const run = runMigration({}, { activities: { [A.openDataMigration]: () => ({ open: true, mode: 'Offline' }) } });
    expect(run.inputsOf(A.startDatabases)).toEqual([{ ...KEY, mode: 'Offline', databases: ['a', 'b'], migrationInstanceId: MIGRATION_ID }]);
  });

  it('waits for the window on a durable timer after validation, then asks step 3 again and starts the databases', () => {
    const start = minutes(60);
    const runs = runChain({}, { activities: { [A.openDataMigration]: gates(windowWait(start, minutes(180)), { open: true, mode: 'Online', migrationWindowEndTimeInUtc: minutes(180).toISOString() }) } });
    expect(runs).toHaveLength(2);
    expect(trace(runs[0] as Run)).toEqual([A.setMigrationState, A.checkPrerequisites, A.setMigrationState, A.validate, A.openDataMigration, GATE_WAIT]);
    expect(runs[0]?.continuedAsNew).toEqual({ ...INPUT, waitingToStart: true });
    // The next execution skips steps 1–2: validation ran once, before the wait.
    expect(trace(runs[1] as Run).slice(0, 3)).toEqual([A.openDataMigration, A.migrateRoles, A.startDatabases]);
    expect(runs.flatMap(timerStates)).toEqual([
      { fireAt: start, fired: true, cancelled: false },
      { fireAt: new Date(start.getTime() + WATCH_MS), fired: true, cancelled: false },
    ]);
    expect(runs[0]?.calls.find((c) => c.name === A.validate)?.at).toEqual(T0);
    for (const c of runs[1]?.calls.filter((x) => x.name === A.migrateRoles || x.name === A.startDatabases) ?? []) expect(c.at.getTime()).toBeGreaterThanOrEqual(start.getTime());
    expect(runs.at(-1)?.output).toMatchObject({ state: 'Succeeded' });
  });

  it.each([
    { waitingFor: 'WaitingForTargetDBOverwriteConfirmation' as const },
    { waitingFor: 'WaitingForDataMigrationScheduling' as const },
  ])('$waitingFor: one wait of GATE_POLL_MS, woken at once by the update event a PATCH raises', ({ waitingFor }) => {
    const runs = runChain({}, {
      activities: { [A.openDataMigration]: gates({ open: false, waitingFor }, OPEN) },
      events: [{ name: EVENTS.update, data: { dbs: [], recorded: true }, during: 'timer' }],
    });
    expect(runs).toHaveLength(2);
    expect(timerStates(runs[0] as Run)).toEqual([{ fireAt: later(GATE_POLL_MS), fired: false, cancelled: true }]);
    expect(recorded(runs[0] as Run)).toEqual([]);
    expect(runs[1]?.names()).toContain(A.startDatabases);
    expect(runs.flatMap((r) => r.inputsOf(A.validate))).toHaveLength(1);
  });

  it('approaches a far window in timers of at most GATE_MAX_WAIT_MS', () => {
    const run = runMigration({}, { activities: { [A.openDataMigration]: () => windowWait(minutes(60 * 24 * 3)) } });
    expect(timerStates(run)).toEqual([{ fireAt: later(GATE_MAX_WAIT_MS), fired: true, cancelled: false }]);
    expect(run.continuedAsNew).toEqual({ ...INPUT, waitingToStart: true });
    expect(copied(run)).toBe(false);
  });

  it('a cancel during the wait records it, cancels the timer, and step 3 then ends it Canceled without copying', () => {
    const runs = runChain({}, {
      activities: { [A.openDataMigration]: gates(windowWait(minutes(60)), { open: false, end: 'Canceled' }) },
      events: [{ name: EVENTS.cancel, data: { by: 'az rest' }, during: 'timer' }],
    });
    expect(timerStates(runs[0] as Run)).toEqual([{ fireAt: minutes(60), fired: false, cancelled: true }]);
    expect(trace(runs[0] as Run).slice(-2)).toEqual([GATE_WAIT, A.recordControl]);
    expect(recorded(runs[0] as Run)).toEqual([{ ...KEY, control: 'cancel', request: { by: 'az rest' } }]);
    expect(trace(runs[1] as Run)).toEqual([A.openDataMigration, A.finishMigration]);
    expect(runs[1]?.output).toEqual({ state: 'Canceled' });
    expect(finished(runs[1] as Run)).toEqual([{ ...KEY, state: 'Canceled' }]);
    expect(runs.some(copied)).toBe(false);
  });

  it('step 3 ending it (a cancel stored before any data moved, an unreadable target) finishes without copying', () => {
    const run = runMigration({}, { activities: { [A.openDataMigration]: () => ({ open: false, end: 'Failed', error: 'Cannot read the target' }) } });
    expect(run.output).toEqual({ state: 'Failed', error: 'Cannot read the target' });
    expect(copied(run)).toBe(false);
  });

  it('a window whose end has passed fails it without copying', () => {
    const end = minutes(-1).toISOString();
    const run = runMigration({}, { activities: { [A.openDataMigration]: () => ({ open: true, mode: 'Online', migrationWindowEndTimeInUtc: end }) } });
    const error = (run.output as { error: string }).error;
    expect(run.output).toMatchObject({ state: 'Failed' });
    expect(error).toContain(`The migration window ended at ${end}`);
    expect(error).toContain('no data was copied');
    expect(finished(run)).toEqual([{ ...KEY, state: 'Failed', error }]);
    expect(copied(run)).toBe(false);
  });

  it('a window that ends while it waits fails it rather than waiting on', () => {
    const end = minutes(-1).toISOString();
    const run = runMigration({}, { activities: { [A.openDataMigration]: () => ({ open: false, waitingFor: 'WaitingForDataMigrationScheduling', migrationWindowEndTimeInUtc: end }) } });
    expect(run.output).toMatchObject({ state: 'Failed', error: expect.stringContaining(`The migration window ended at ${end}`) });
    expect(run.yields.filter((t) => t.kind === 'any')).toEqual([]);
  });

  it('a window that ends while the roles migrate fails it before any database starts', () => {
    const end = minutes(60).toISOString();
    const run = runMigration({}, {
      activities: { [A.openDataMigration]: () => ({ open: true, mode: 'Online', migrationWindowEndTimeInUtc: end }) },
      durations: { [A.migrateRoles]: 2 * 3_600_000 },
    });
    expect(run.output).toMatchObject({ state: 'Failed', error: expect.stringContaining(`The migration window ended at ${end}`) });
    expect(run.names()).toContain(A.migrateRoles);
    expect(run.names()).not.toContain(A.startDatabases);
  });

  it('failed role migration fails it before any database', () => {
    const run = runMigration({}, { activities: { [A.migrateRoles]: () => fail('role "x" exists') } });
    expect(run.output).toEqual({ state: 'Failed', error: 'role "x" exists' });
    expect(run.names()).not.toContain(A.startDatabases);
  });

  it('an activity that keeps throwing (retries exhausted) fails it with the message', () => {
    const run = runMigration({}, { activities: { [A.validate]: () => { throw new Error('storage down'); } } });
    expect(run.output).toEqual({ state: 'Failed', error: 'storage down' });
    expect(finished(run)).toEqual([{ ...KEY, state: 'Failed', error: 'storage down' }]);
  });

  it('databases still running: continueAsNew({ ...input, watching: true }) and no end', () => {
    const run = runMigration({}, { activities: { [A.watchDatabases]: () => STILL_RUNNING } });
    expect(trace(run).slice(-3)).toEqual([A.startDatabases, WATCH, A.watchDatabases]);
    expect(run.continuedAsNew).toEqual({ ...INPUT, watching: true });
    expect(run.output).toBeUndefined();
    expect(run.names()).not.toContain(A.applyDatabaseRoles);
    expect(run.names()).not.toContain(A.finishMigration);
  });

  it('an execution with watching: true skips steps 1–4 and goes straight to the watch', () => {
    const running = runMigration({ watching: true }, { activities: { [A.watchDatabases]: () => STILL_RUNNING } });
    expect(trace(running)).toEqual([WATCH, A.watchDatabases]);
    expect(running.continuedAsNew).toEqual({ ...INPUT, watching: true });
    const ended = runMigration({ watching: true });
    expect(trace(ended)).toEqual([WATCH, A.watchDatabases, A.applyDatabaseRoles, A.beginReverse, A.finishMigration]);
    expect(ended.output).toMatchObject({ state: 'Succeeded' });
  });

  it('a chain of executions: exactly one wait each, the databases started once, finished on the third watch', () => {
    const runs = runExecutions(migrationOrchestrator, migrationScript({}, {
      activities: { [A.watchDatabases]: (_: unknown, n: number): DatabasesStatus => (n < 3 ? STILL_RUNNING : { finished: true, outcomes: outcomesOf(['a', 'b']) }) },
    }));
    expect(runs).toHaveLength(3);
    for (const r of runs) expect(compounds(r)).toEqual([WATCH]);
    expect(runs.map((r) => r.inputsOf(A.startDatabases).length)).toEqual([1, 0, 0]);
    expect(runs.slice(1).map(trace)).toEqual([
      [WATCH, A.watchDatabases],
      [WATCH, A.watchDatabases, A.applyDatabaseRoles, A.beginReverse, A.finishMigration],
    ]);
    expect(runs.slice(0, 2).map((r) => r.continuedAsNew)).toEqual([{ ...INPUT, watching: true }, { ...INPUT, watching: true }]);
    expect(runs.flatMap(timerStates)).toEqual([1, 2, 3].map((k) => ({ fireAt: later(k * WATCH_MS), fired: true, cancelled: false })));
    expect(runs.at(-1)?.output).toMatchObject({ state: 'Succeeded' });
  });

  it('a cutover event wakes the watch: the timer is cancelled, and the request is recorded after watchDatabases', () => {
    const run = runMigration({ watching: true }, { activities: { [A.watchDatabases]: () => STILL_RUNNING }, events: [{ name: EVENTS.cutover, data: { dbs: ['a'] }, during: 'timer' }] });
    expect(timerStates(run)).toEqual([{ fireAt: later(WATCH_MS), fired: false, cancelled: true }]);
    expect(trace(run)).toEqual([WATCH, A.watchDatabases, A.recordControl]);
    expect(recorded(run)).toEqual([{ ...KEY, control: 'cutover', request: { dbs: ['a'] } }]);
    expect(run.continuedAsNew).toEqual({ ...INPUT, watching: true });
  });

  it('a databaseFinished event wakes the watch early and is not recorded', () => {
    const run = runMigration({ watching: true }, { events: [{ name: EVENTS.databaseFinished, data: { db: 'a' }, during: 'timer' }] });
    expect(timerStates(run)).toEqual([{ fireAt: later(WATCH_MS), fired: false, cancelled: true }]);
    expect(trace(run)).toEqual([WATCH, A.watchDatabases, A.applyDatabaseRoles, A.beginReverse, A.finishMigration]);
    expect(recorded(run)).toEqual([]);
  });

  it('cutover and cancel raised while watchDatabases runs are recorded by this execution, though the timer woke it', () => {
    const run = runMigration({ watching: true }, {
      activities: { [A.watchDatabases]: () => STILL_RUNNING },
      events: [{ name: EVENTS.cutover, data: { dbs: ['b'] }, during: A.watchDatabases }, { name: EVENTS.cancel, during: A.watchDatabases }],
    });
    expect(timerStates(run)).toEqual([{ fireAt: later(WATCH_MS), fired: true, cancelled: false }]);
    expect(recorded(run)).toEqual([
      { ...KEY, control: 'cutover', request: { dbs: ['b'] } },
      { ...KEY, control: 'cancel', request: null },
    ]);
    expect(run.continuedAsNew).toEqual({ ...INPUT, watching: true });
  });

  it('events raised before the databases started wait for the watch and are recorded there', () => {
    const run = runMigration({}, { events: [{ name: EVENTS.cutover, data: { dbs: ['a'] } }, { name: EVENTS.cancel, data: { recorded: true } }] });
    expect(recorded(run)).toEqual([
      { ...KEY, control: 'cutover', request: { dbs: ['a'] } },
      { ...KEY, control: 'cancel', request: { recorded: true } },
    ]);
    expect(run.timers.at(-1)).toMatchObject({ isCanceled: true, isCompleted: false });
  });

  it('a cutover raised during the wait of step 3 is recorded (refused there) before the execution continues as new', () => {
    const run = runMigration({}, { activities: { [A.openDataMigration]: () => windowWait(minutes(60)) }, events: [{ name: EVENTS.cutover, data: { dbs: ['a'] }, during: 'timer' }] });
    expect(timerStates(run).map((t) => [t.fired, t.cancelled])).toEqual([[false, true]]);
    expect(recorded(run)).toEqual([{ ...KEY, control: 'cutover', request: { dbs: ['a'] } }]);
    expect(run.continuedAsNew).toEqual({ ...INPUT, waitingToStart: true });
  });

  it('events raised during validation are recorded by the wait of step 3', () => {
    const run = runMigration({}, { activities: { [A.openDataMigration]: () => windowWait(minutes(60)) }, events: [{ name: EVENTS.cancel, data: { dbs: ['b'] }, during: A.validate }] });
    expect(recorded(run)).toEqual([{ ...KEY, control: 'cancel', request: { dbs: ['b'] } }]);
  });

  it.each([
    { when: 'without a wait', gate: [OPEN] },
    { when: 'after a wait in step 3', gate: [windowWait(minutes(60)), OPEN] },
  ])('a cancel raised (az rest) while the roles migrate is recorded by the watch ($when)', ({ gate }) => {
    const runs = runChain({}, {
      activities: { [A.openDataMigration]: gates(...gate), [A.watchDatabases]: (_: unknown, n: number): DatabasesStatus => (n === 1 ? STILL_RUNNING : { finished: true, outcomes: outcomesOf(['a', 'b']) }) },
      events: [{ name: EVENTS.cancel, data: { dbs: ['a'] }, during: A.migrateRoles }],
    });
    expect(runs.flatMap(recorded)).toEqual([{ ...KEY, control: 'cancel', request: { dbs: ['a'] } }]);
  });
});

// ---------------------------------------------------------------------------------------------
// One database

const DB_ID = databaseInstanceId(MIGRATION_ID, 1);
const DB_KEY = { ...KEY, db: 'app' };
/** What databaseFinished is told at every end. */
const FINISHED = { ...DB_KEY, migrationInstanceId: MIGRATION_ID };

function runDatabase(mode: 'Online' | 'Offline', o: {
  units?: number;
  /** Lane outcomes by lane (default Succeeded). */
  lanes?: Record<number, LaneOutcome>;
  cdc?: DatabaseOutcome;
  activities?: Record<string, Responder>;
  subOrchestrations?: Record<string, Responder>;
} = {}): Run {
  return runOrchestrator(databaseOrchestrator, {
    instanceId: DB_ID,
    parentInstanceId: MIGRATION_ID,
    now: T0,
    input: { ...DB_KEY, mode, index: 1, migrationInstanceId: MIGRATION_ID } satisfies DatabaseInput,
    activities: {
      [A.prepareTargetDatabase]: done,
      [A.applyDatabaseRoles]: nothing,
      [A.createSlot]: () => ok({ plugin: 'pgoutput', startLsn: '0/1' }),
      [A.applySchema]: () => ok({ created: 1, existed: 0 }),
      [A.planCopy]: () => ok({ chunks: 40, tables: 30, units: o.units ?? 11 }),
      [A.finishCopy]: () => ok({ consistencyLsn: '0/2' }),
      [A.verifyTables]: () => ok({ compared: 3, next: null }),
      [A.verifyAhead]: () => ({ next: null }),
      [A.completeDatabase]: done,
      [A.stopDatabase]: nothing,
      [A.databaseFinished]: nothing,
      ...o.activities,
    },
    subOrchestrations: {
      [ORCHESTRATORS.copyLane]: (i: CopyLaneInput): LaneOutcome => o.lanes?.[i.lane] ?? { state: 'Succeeded' },
      [ORCHESTRATORS.cdc]: (s: CdcState): DatabaseOutcome => o.cdc ?? { db: s.db, state: 'Succeeded' },
      ...o.subOrchestrations,
    },
  });
}

const phases = (run: Run) => run.inputsOf<{ phase: string }>(A.applySchema).map((c) => c.phase);
const lanesOf = (run: Run) => run.calls.filter((c) => c.name === ORCHESTRATORS.copyLane);
/** Pre-data's first share and the copy plan, in one Task.all (the plan reads only the source). */
const PRE_AND_PLAN = `all(${A.applySchema}, ${A.planCopy})`;
const allLanes = (n: number) => `all(${Array<string>(n).fill(ORCHESTRATORS.copyLane).join(', ')})`;

/** Every end: stopDatabase (state, error) unless Succeeded, then databaseFinished, last. */
function expectEnd(run: Run, outcome: DatabaseOutcome): void {
  expect(run.output).toEqual(outcome);
  expect(run.inputsOf(A.databaseFinished)).toEqual([FINISHED]);
  expect(run.names().at(-1)).toBe(A.databaseFinished);
  if (outcome.state === 'Succeeded') {
    expect(run.names()).not.toContain(A.stopDatabase);
  } else {
    expect(run.inputsOf(A.stopDatabase)).toEqual([{ ...DB_KEY, state: outcome.state, error: outcome.error ?? null }]);
    expect(run.names().at(-2)).toBe(A.stopDatabase);
  }
}

describe('database orchestrator', () => {
  it('Online: target, roles, slot before any row, pre-data and the plan together, lanes in one Task.all, keys, finishCopy, then CDC', () => {
    const run = runDatabase('Online', { units: 11 });
    expect(trace(run)).toEqual([
      A.prepareTargetDatabase, A.applyDatabaseRoles, A.createSlot, PRE_AND_PLAN,
      allLanes(COPY_LANES),
      A.applySchema, A.finishCopy, ORCHESTRATORS.cdc, A.databaseFinished,
    ]);
    expect(phases(run)).toEqual(['pre-data', 'keys']);
    expect(run.inputsOf(A.prepareTargetDatabase)).toEqual([DB_KEY]);
    expect(run.inputsOf(A.applyDatabaseRoles)).toEqual([{ ...KEY, databases: ['app'] }]);
    expect(run.inputsOf(A.createSlot)).toEqual([DB_KEY]);
    expect(run.inputsOf(A.finishCopy)).toEqual([DB_KEY]);
    expect(run.names()).not.toContain(A.completeDatabase);
    expectEnd(run, { db: 'app', state: 'Succeeded' });
  });

  it.each([1, 3, 4, 11, 1000])('%i copy unit(s): min(COPY_LANES, units) lanes, named and numbered, started together in one Task.all', (units) => {
    const lanes = Math.min(COPY_LANES, units);
    const run = runDatabase('Offline', { units });
    expect(lanesOf(run).map((c) => c.instanceId)).toEqual([...Array(lanes).keys()].map((lane) => copyLaneInstanceId(DB_ID, lane)));
    expect(lanesOf(run).map((c) => c.input)).toEqual([...Array(lanes).keys()].map((lane) => ({ ...DB_KEY, lane, lanes, units, next: lane })));
    expect(compounds(run)).toEqual([PRE_AND_PLAN, allLanes(lanes)]);
    expect(run.yields.filter((t) => t.name === ORCHESTRATORS.copyLane)).toEqual([]);
    expect(run.maxInFlight[ORCHESTRATORS.copyLane]).toBe(lanes);
    expectEnd(run, { db: 'app', state: 'Succeeded' });
  });

  it.each([[1, 11], [8, 11], [8, 5]])('a plan with %i lane(s) (PGFERRY_COPY_LANES) and %i units runs min(lanes, units) lanes', (planned, units) => {
    const lanes = Math.min(planned, units);
    const run = runDatabase('Offline', { units, activities: { [A.planCopy]: () => ok({ chunks: 40, tables: 30, units, lanes: planned }) } });
    expect(lanesOf(run).map((c) => c.input)).toEqual([...Array(lanes).keys()].map((lane) => ({ ...DB_KEY, lane, lanes, units, next: lane })));
    expect(run.maxInFlight[ORCHESTRATORS.copyLane]).toBe(lanes);
    expectEnd(run, { db: 'app', state: 'Succeeded' });
  });

  it('no copy units: no lane and no lanes’ Task.all, straight on to keys and finishCopy', () => {
    const run = runDatabase('Online', { units: 0 });
    expect(lanesOf(run)).toEqual([]);
    expect(compounds(run)).toEqual([PRE_AND_PLAN]);
    expect(trace(run).slice(3)).toEqual([PRE_AND_PLAN, A.applySchema, A.finishCopy, ORCHESTRATORS.cdc, A.databaseFinished]);
    expectEnd(run, { db: 'app', state: 'Succeeded' });
  });

  it('pre-data in several shares: the first beside the plan, the rest one by one after it, then the lanes', () => {
    let shares = 0;
    const run = runDatabase('Offline', {
      units: 2,
      activities: { [A.applySchema]: (i: { phase: string }) => ok({ created: 1, existed: 0, ...(i.phase === 'pre-data' && ++shares < 3 ? { more: true } : {}) }) },
    });
    expect(trace(run).slice(2, 6)).toEqual([PRE_AND_PLAN, A.applySchema, A.applySchema, allLanes(2)]);
    expect(phases(run).slice(0, 3)).toEqual(['pre-data', 'pre-data', 'pre-data']);
    expect(run.inputsOf(A.planCopy)).toEqual([DB_KEY]);
    expectEnd(run, { db: 'app', state: 'Succeeded' });
  });

  it('a Failed lane fails the database with that lane’s error (before any Canceled one), and nothing after the copy runs', () => {
    const run = runDatabase('Online', {
      lanes: { 0: { state: 'Canceled' }, 1: { state: 'Failed', error: 'chunk 5: disk full' }, 3: { state: 'Failed', error: 'chunk 7: stopped' } },
    });
    expectEnd(run, { db: 'app', state: 'Failed', error: 'chunk 5: disk full' });
    expect(phases(run)).toEqual(['pre-data']);
    expect(run.names()).not.toContain(A.finishCopy);
    expect(run.names()).not.toContain(ORCHESTRATORS.cdc);
  });

  it('a Canceled lane cancels the database', () => {
    const run = runDatabase('Online', { lanes: { 2: { state: 'Canceled' } } });
    expectEnd(run, { db: 'app', state: 'Canceled' });
    expect(run.names()).not.toContain(A.finishCopy);
    expect(run.names()).not.toContain(ORCHESTRATORS.cdc);
  });

  it('a lane orchestration that fails outright fails the database with its message', () => {
    const run = runDatabase('Offline', { subOrchestrations: { [ORCHESTRATORS.copyLane]: (i: CopyLaneInput) => { if (i.lane === 2) throw new Error('lane 2 crashed'); return { state: 'Succeeded' }; } } });
    expectEnd(run, { db: 'app', state: 'Failed', error: 'lane 2 crashed' });
  });

  it('Offline: no slot, no CDC; post-data, verification from 0 through every next until null, completeDatabase', () => {
    const next: Record<number, number | null> = { 0: 4, 4: 9, 9: null };
    const run = runDatabase('Offline', { units: 3, activities: { [A.verifyTables]: (i: { from: number }) => ok({ compared: 4, next: next[i.from] ?? null }) } });
    expect(run.names()).not.toContain(A.createSlot);
    expect(run.calls.filter((c) => c.name === ORCHESTRATORS.cdc)).toEqual([]);
    expect(phases(run)).toEqual(['pre-data', 'keys', 'post-data']);
    expect(trace(run).slice(-8)).toEqual([A.applySchema, A.finishCopy, A.applySchema, A.verifyTables, A.verifyTables, A.verifyTables, A.completeDatabase, A.databaseFinished]);
    expect(run.inputsOf(A.verifyTables)).toEqual([0, 4, 9].map((from) => ({ ...DB_KEY, from })));
    expect(run.inputsOf(A.completeDatabase)).toEqual([DB_KEY]);
    expectEnd(run, { db: 'app', state: 'Succeeded' });
  });

  it('Offline with lanes planned: verification in min(lanes, tables) lanes, each from 0 through its own next, the shares of a round in one Task.all', () => {
    // Lane 0 needs two shares, lane 1 three, lane 2 one.
    const next: Record<string, number | null> = { '0:0': 5, '0:5': null, '1:0': 2, '1:2': 4, '1:4': null, '2:0': null };
    const run = runDatabase('Offline', {
      units: 3,
      activities: {
        [A.planCopy]: () => ok({ chunks: 3, tables: 3, units: 3, lanes: 4 }),
        [A.verifyTables]: (i: { from: number; lane: number }) => ok({ compared: 1, next: next[`${i.lane}:${i.from}`] ?? null }),
      },
    });
    const v = A.verifyTables;
    expect(compounds(run).slice(2)).toEqual([`all(${v}, ${v}, ${v})`, `all(${v}, ${v})`, `all(${v})`]);
    expect(run.inputsOf(A.verifyTables)).toEqual([
      { ...DB_KEY, from: 0, lane: 0, lanes: 3 }, { ...DB_KEY, from: 0, lane: 1, lanes: 3 }, { ...DB_KEY, from: 0, lane: 2, lanes: 3 },
      { ...DB_KEY, from: 5, lane: 0, lanes: 3 }, { ...DB_KEY, from: 2, lane: 1, lanes: 3 },
      { ...DB_KEY, from: 4, lane: 1, lanes: 3 },
    ]);
    expect(trace(run).slice(-2)).toEqual([A.completeDatabase, A.databaseFinished]);
    expectEnd(run, { db: 'app', state: 'Succeeded' });
  });

  it('a verification lane that finds a difference fails the database, even while another lane has more to do', () => {
    const run = runDatabase('Offline', {
      activities: {
        [A.planCopy]: () => ok({ chunks: 8, tables: 8, units: 2, lanes: 2 }),
        [A.verifyTables]: (i: { from: number; lane: number }) => (i.lane === 1 ? fail('verification of app found 1 table(s) that differ: public.t2') : ok({ compared: 1, next: 1 })),
      },
    });
    expectEnd(run, { db: 'app', state: 'Failed', error: 'verification of app found 1 table(s) that differ: public.t2' });
    expect(run.names()).not.toContain(A.completeDatabase);
  });

  it('Online: the verification lanes travel to the CDC orchestration', () => {
    const run = runDatabase('Online', { activities: { [A.planCopy]: () => ok({ chunks: 40, tables: 30, units: 11, lanes: 6 }) } });
    expect(run.calls.find((c) => c.name === ORCHESTRATORS.cdc)?.input).toMatchObject({ verifyLanes: 6 });
  });

  it.each<DatabaseOutcome>([
    { db: 'app', state: 'Succeeded' },
    { db: 'app', state: 'Canceled' },
    { db: 'app', state: 'Failed', error: 'cutover: public.t1 differs' },
  ])('Online: the CDC sub-orchestration’s outcome ($state) is the database’s', (cdc) => {
    const run = runDatabase('Online', { cdc });
    const call = run.calls.find((c) => c.name === ORCHESTRATORS.cdc);
    expect(call).toMatchObject({ kind: 'subOrchestration', instanceId: cdcInstanceId(MIGRATION_ID, 1), input: { ...DB_KEY, caughtUp: false, migrationInstanceId: MIGRATION_ID } });
    expectEnd(run, cdc);
  });

  it.each([
    { mode: 'Online', step: 'prepareTargetDatabase', activity: A.prepareTargetDatabase },
    { mode: 'Online', step: 'createSlot', activity: A.createSlot },
    { mode: 'Online', step: 'applySchema pre-data', activity: A.applySchema, phase: 'pre-data' },
    { mode: 'Online', step: 'planCopy', activity: A.planCopy },
    { mode: 'Online', step: 'applySchema keys', activity: A.applySchema, phase: 'keys' },
    { mode: 'Online', step: 'finishCopy', activity: A.finishCopy },
    { mode: 'Offline', step: 'applySchema post-data', activity: A.applySchema, phase: 'post-data' },
    { mode: 'Offline', step: 'verifyTables', activity: A.verifyTables },
    { mode: 'Offline', step: 'completeDatabase', activity: A.completeDatabase },
  ] as const)('$mode: a failed $step fails the database', ({ mode, activity, ...rest }) => {
    const phase = 'phase' in rest ? rest.phase : undefined;
    const error = `${activity} said no`;
    const run = runDatabase(mode, {
      activities: { [activity]: (i: { phase?: string }) => (phase === undefined || i.phase === phase ? fail(error) : ok({ created: 0, existed: 0 })) },
    });
    expectEnd(run, { db: 'app', state: 'Failed', error });
    expect(run.names()).not.toContain(ORCHESTRATORS.cdc);
    if (activity !== A.completeDatabase) expect(run.names()).not.toContain(A.completeDatabase);
  });

  it('an activity that keeps throwing fails the database with the message', () => {
    const run = runDatabase('Offline', { activities: { [A.finishCopy]: () => { throw new Error('connection reset'); } } });
    expectEnd(run, { db: 'app', state: 'Failed', error: 'connection reset' });
  });

  it('a database that completed stays Succeeded when telling the migration (databaseFinished) fails once', () => {
    const run = runDatabase('Offline', {
      activities: { [A.databaseFinished]: (_: unknown, n: number) => { if (n === 1) throw new Error('host webhook unreachable'); return null; } },
    });
    expect(run.names()).toContain(A.completeDatabase);
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
    expect(run.names()).not.toContain(A.stopDatabase);
  });

  it('a stopDatabase that fails once keeps the database’s own error, and the migration is still told', () => {
    const run = runDatabase('Online', {
      activities: {
        [A.createSlot]: () => fail('wal_level is not logical'),
        [A.stopDatabase]: (_: unknown, n: number) => { if (n === 1) throw new Error('source unreachable'); return null; },
      },
    });
    expect(run.output).toEqual({ db: 'app', state: 'Failed', error: 'wal_level is not logical' });
    expect(run.inputsOf(A.stopDatabase).at(-1)).toEqual({ ...DB_KEY, state: 'Failed', error: 'wal_level is not logical' });
    expect(run.names().at(-1)).toBe(A.databaseFinished);
  });
});

// ---------------------------------------------------------------------------------------------
// One copy lane

const LANE_INPUT: CopyLaneInput = { ...DB_KEY, lane: 1, lanes: 4, units: 11, next: 1 };

function laneScript(input: Partial<CopyLaneInput>, o: {
  /** copyChunk answers by unit (default ok({})). */
  answers?: Record<number, Result<ChunkOutcome>>;
  activities?: Record<string, Responder>;
} = {}): Script {
  return {
    instanceId: copyLaneInstanceId(DB_ID, input.lane ?? LANE_INPUT.lane),
    parentInstanceId: DB_ID,
    now: T0,
    input: { ...LANE_INPUT, ...input },
    activities: {
      [A.copyChunk]: (i: { unit: number }) => o.answers?.[i.unit] ?? ok({}),
      [A.buildTableIndexes]: done,
      [A.buildGroupIndexes]: done,
      ...o.activities,
    },
  };
}

const runLane = (input: Partial<CopyLaneInput>, o: Parameters<typeof laneScript>[1] = {}) => runOrchestrator(copyLaneOrchestrator, laneScript(input, o));
const chunksCopied = (run: Run) => run.inputsOf<{ unit: number }>(A.copyChunk).map((c) => c.unit);

describe('copy lane orchestrator', () => {
  it('copies units next, next + lanes, … below units, one at a time, then Succeeded', () => {
    const run = runLane({});
    expect(chunksCopied(run)).toEqual([1, 5, 9]);
    expect(run.inputsOf(A.copyChunk)).toEqual([1, 5, 9].map((unit) => ({ ...DB_KEY, unit })));
    expect(trace(run)).toEqual([A.copyChunk, A.copyChunk, A.copyChunk]);
    expect(run.maxInFlight[A.copyChunk]).toBe(1);
    expect(run.output).toEqual({ state: 'Succeeded' });
    expect(run.continuedAsNew).toBeUndefined();
  });

  it('a chunk that loads its table builds that table’s indexes before the next chunk', () => {
    const run = runLane({}, { answers: { 5: ok({ tableLoaded: 'public.t1' }), 9: ok({ tableLoaded: 'public.t2' }) } });
    expect(trace(run)).toEqual([A.copyChunk, A.copyChunk, A.buildTableIndexes, A.copyChunk, A.buildTableIndexes]);
    expect(run.inputsOf(A.buildTableIndexes)).toEqual([{ ...DB_KEY, table: 'public.t1' }, { ...DB_KEY, table: 'public.t2' }]);
    expect(run.output).toEqual({ state: 'Succeeded' });
  });

  it('a unit that loads a group of small tables builds the group’s indexes (by unit) before the next unit', () => {
    const run = runLane({}, { answers: { 1: ok({ groupLoaded: true }), 9: ok({ groupLoaded: true }) } });
    expect(trace(run)).toEqual([A.copyChunk, A.buildGroupIndexes, A.copyChunk, A.copyChunk, A.buildGroupIndexes]);
    expect(run.inputsOf(A.buildGroupIndexes)).toEqual([{ ...DB_KEY, unit: 1 }, { ...DB_KEY, unit: 9 }]);
    expect(run.names()).not.toContain(A.buildTableIndexes);
    expect(run.output).toEqual({ state: 'Succeeded' });
  });

  it('a failed group index build ends the lane Failed', () => {
    const run = runLane({}, { answers: { 1: ok({ groupLoaded: true }) }, activities: { [A.buildGroupIndexes]: () => fail('indexes of 3 tables: duplicate key') } });
    expect(chunksCopied(run)).toEqual([1]);
    expect(run.output).toEqual({ state: 'Failed', error: 'indexes of 3 tables: duplicate key' });
  });

  it('a failed chunk ends the lane Failed with its error, copying nothing more', () => {
    const run = runLane({}, { answers: { 5: fail('chunk 5: disk full') } });
    expect(chunksCopied(run)).toEqual([1, 5]);
    expect(run.output).toEqual({ state: 'Failed', error: 'chunk 5: disk full' });
  });

  it('a failed index build ends the lane Failed', () => {
    const run = runLane({}, { answers: { 1: ok({ tableLoaded: 'public.t1' }) }, activities: { [A.buildTableIndexes]: () => fail('duplicate key') } });
    expect(chunksCopied(run)).toEqual([1]);
    expect(run.output).toEqual({ state: 'Failed', error: 'duplicate key' });
  });

  it.each<[string, ChunkOutcome]>([
    ['canceled', { canceled: true }],
    ['stopped', { stopped: true }],
    ['stopped after loading a table', { stopped: true, tableLoaded: 'public.t1' }],
    ['stopped after loading a group', { stopped: true, groupLoaded: true }],
  ])('a chunk answering %s ends the lane Canceled', (_, answer) => {
    const run = runLane({}, { answers: { 5: ok(answer) } });
    expect(chunksCopied(run)).toEqual([1, 5]);
    expect(run.names()).not.toContain(A.buildTableIndexes);
    expect(run.names()).not.toContain(A.buildGroupIndexes);
    expect(run.output).toEqual({ state: 'Canceled' });
  });

  it(`continues as new after ${LANE_CHUNKS_PER_EXECUTION} chunks, carrying next`, () => {
    const run = runLane({ lane: 0, lanes: 2, units: 200, next: 0 });
    expect(chunksCopied(run)).toEqual([...Array(LANE_CHUNKS_PER_EXECUTION).keys()].map((k) => 2 * k));
    expect(run.continuedAsNew).toEqual({ ...LANE_INPUT, lane: 0, lanes: 2, units: 200, next: 2 * LANE_CHUNKS_PER_EXECUTION });
    expect(run.output).toBeUndefined();
  });

  it('a continued execution starts at next; exactly LANE_CHUNKS_PER_EXECUTION chunks left end it without continuing', () => {
    const units = 3 + 2 * LANE_CHUNKS_PER_EXECUTION;
    const run = runLane({ lane: 1, lanes: 2, units, next: 3 });
    expect(chunksCopied(run)[0]).toBe(3);
    expect(chunksCopied(run)).toHaveLength(LANE_CHUNKS_PER_EXECUTION);
    expect(run.continuedAsNew).toBeUndefined();
    expect(run.output).toEqual({ state: 'Succeeded' });
  });

  it('over a chain of executions every chunk of the lane is copied exactly once', () => {
    const runs = runExecutions(copyLaneOrchestrator, laneScript({ lane: 2, lanes: 3, units: 200, next: 2 }));
    expect(runs).toHaveLength(Math.ceil(66 / LANE_CHUNKS_PER_EXECUTION));
    expect(runs.flatMap(chunksCopied)).toEqual([...Array(66).keys()].map((k) => 2 + 3 * k));
    expect(runs.at(-1)?.output).toEqual({ state: 'Succeeded' });
  });

  it('a lane with nothing left to copy succeeds at once', () => {
    const run = runLane({ lane: 3, lanes: 4, units: 3, next: 3 });
    expect(run.calls).toEqual([]);
    expect(run.output).toEqual({ state: 'Succeeded' });
  });

  it('a chunk that keeps throwing fails the lane orchestration itself (its database’s Task.all then fails)', () => {
    expect(() => runLane({}, { activities: { [A.copyChunk]: () => { throw new Error('connection reset'); } } })).toThrow('connection reset');
  });
});

// ---------------------------------------------------------------------------------------------
// The CDC loop

const CDC_STATE: CdcState = { ...DB_KEY, caughtUp: false, migrationInstanceId: MIGRATION_ID };
const IDLE_WAIT = `any(timer, event ${EVENTS.cutover}, event ${EVENTS.cancel})`;
const batch = (o: Partial<ApplyOutcome> = {}): ApplyOutcome => ({ idle: false, pastConsistencyPoint: true, reachedEnd: false, control: 'none', ...o });
/** A first pass of verification ahead that ended at T0 (the default verifyAhead answers it in one share). */
const AHEAD_DONE = { next: null, passes: 1, endedAt: T0.getTime() };

/** applyBatch answers `batches` in order (counted across a chain), then `then` for every later call. */
function cdcScript(batches: ApplyOutcome[], o: {
  state?: Partial<CdcState>;
  then?: ApplyOutcome;
  activities?: Record<string, Responder>;
  events?: Script['events'];
} = {}): Script {
  return {
    instanceId: cdcInstanceId(MIGRATION_ID, 1),
    parentInstanceId: DB_ID,
    now: T0,
    input: { ...CDC_STATE, ...o.state },
    activities: {
      [A.applyBatch]: (_: unknown, n: number) => ok(batches[n - 1] ?? o.then ?? batch({ control: 'cancel' })),
      [A.applySchema]: () => ok({ created: 2, existed: 0 }),
      [A.markCaughtUp]: nothing,
      [A.beginCutover]: () => ok({ endLsn: '0/ABC' }),
      [A.verifyTables]: () => ok({ compared: 3, next: null }),
      [A.verifyAhead]: () => ({ next: null }),
      [A.prepareReverse]: () => ok({ enabled: false }),
      [A.completeDatabase]: done,
      ...o.activities,
    },
    events: o.events ?? [],
  };
}

const runCdc = (batches: ApplyOutcome[], o: Parameters<typeof cdcScript>[1] = {}) => runOrchestrator(cdcOrchestrator, cdcScript(batches, o));
const endLsns = (run: Run) => run.inputsOf<{ endLsn: string | null }>(A.applyBatch).map((b) => b.endLsn);

describe('CDC orchestrator', () => {
  it('once past the consistency point: post-data, then markCaughtUp, once', () => {
    const run = runCdc([batch({ pastConsistencyPoint: false }), batch(), batch(), batch({ control: 'cancel' })]);
    expect(trace(run)).toEqual([A.applyBatch, A.applyBatch, A.applySchema, A.markCaughtUp, A.applyBatch, A.applyBatch]);
    expect(run.inputsOf(A.applySchema)).toEqual([{ ...DB_KEY, phase: 'post-data' }]);
    expect(run.inputsOf(A.markCaughtUp)).toEqual([DB_KEY]);
    expect(run.inputsOf(A.applyBatch)).toEqual([null, null, null, null].map((endLsn) => ({ ...DB_KEY, endLsn })));
  });

  it('cutover with verification lanes: every lane verified in one Task.all before the way back and completeDatabase', () => {
    const run = runCdc([batch(), batch({ control: 'cutover' }), batch({ control: 'cutover', reachedEnd: true })], { state: { verifyLanes: 3 } });
    const v = A.verifyTables;
    expect(trace(run).slice(-3)).toEqual([`all(${v}, ${v}, ${v})`, A.prepareReverse, A.completeDatabase]);
    expect(run.inputsOf(A.verifyTables)).toEqual([0, 1, 2].map((lane) => ({ ...DB_KEY, from: 0, lane, lanes: 3 })));
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
  });

  it('cutover once caught up: beginCutover, drain to the end position without idling, verify every share, completeDatabase, Succeeded', () => {
    const next: Record<number, number | null> = { 0: 2, 2: null };
    const run = runCdc(
      [batch(), batch({ control: 'cutover' }), batch({ idle: true, control: 'cutover' }), batch({ control: 'cutover', reachedEnd: true })],
      { activities: { [A.verifyTables]: (i: { from: number }) => ok({ compared: 2, next: next[i.from] ?? null }) } },
    );
    expect(trace(run)).toEqual([
      A.applyBatch, A.applySchema, A.markCaughtUp,
      A.applyBatch, A.beginCutover,
      A.applyBatch, A.applyBatch,
      A.verifyTables, A.verifyTables, A.prepareReverse, A.completeDatabase,
    ]);
    expect(endLsns(run)).toEqual([null, null, '0/ABC', '0/ABC']);
    expect(run.inputsOf(A.verifyTables)).toEqual([{ ...DB_KEY, from: 0 }, { ...DB_KEY, from: 2 }]);
    expect(run.inputsOf(A.completeDatabase)).toEqual([DB_KEY]);
    expect(run.timers).toEqual([]);
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
  });

  it('a cutover requested before catching up begins only once caught up', () => {
    const run = runCdc([batch({ pastConsistencyPoint: false, control: 'cutover' }), batch({ control: 'cutover' }), batch({ control: 'cutover', reachedEnd: true })]);
    expect(trace(run)).toEqual([A.applyBatch, A.applyBatch, A.applySchema, A.markCaughtUp, A.beginCutover, A.applyBatch, A.verifyTables, A.prepareReverse, A.completeDatabase]);
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
  });

  it('cancel: Canceled, without stopDatabase (the database orchestrator calls it)', () => {
    const run = runCdc([batch(), batch({ control: 'cancel' })]);
    expect(run.output).toEqual({ db: 'app', state: 'Canceled' });
    expect(run.names()).not.toContain(A.stopDatabase);
    expect(run.names()).not.toContain(A.completeDatabase);
  });

  it('idle and not draining: one wait on a CDC_IDLE_MS timer or a cutover/cancel event, then continueAsNew', () => {
    const run = runCdc([batch({ idle: true })], { state: { caughtUp: true, ahead: AHEAD_DONE } });
    expect(trace(run)).toEqual([A.applyBatch, IDLE_WAIT]);
    expect(timerStates(run)).toEqual([{ fireAt: later(CDC_IDLE_MS), fired: true, cancelled: false }]);
    expect(run.continuedAsNew).toEqual({ ...CDC_STATE, caughtUp: true, ahead: AHEAD_DONE });
    expect(run.output).toBeUndefined();
  });

  it.each([
    { event: EVENTS.cancel, during: undefined },
    { event: EVENTS.cutover, during: 'timer' },
  ])('a $event event wakes the idle wait early: the timer is cancelled and the loop continues as new', ({ event, during }) => {
    const run = runCdc([batch({ idle: true })], { state: { caughtUp: true, ahead: AHEAD_DONE }, events: [{ name: event, data: { dbs: ['app'], recorded: true }, ...(during ? { during } : {}) }] });
    expect(trace(run)).toEqual([A.applyBatch, IDLE_WAIT]);
    expect(timerStates(run)).toEqual([{ fireAt: later(CDC_IDLE_MS), fired: false, cancelled: true }]);
    expect(run.continuedAsNew).toEqual({ ...CDC_STATE, caughtUp: true, ahead: AHEAD_DONE });
  });

  it.each([
    { activity: A.applyBatch, at: 2 },
    { activity: A.applySchema, at: 1 },
    { activity: A.beginCutover, at: 1 },
    { activity: A.verifyTables, at: 1 },
    { activity: A.prepareReverse, at: 1 },
    { activity: A.completeDatabase, at: 1 },
  ])('a failed $activity ends it Failed with the error', ({ activity, at }) => {
    const batches = [batch({ pastConsistencyPoint: false }), batch({ control: 'cutover' }), batch({ control: 'cutover', reachedEnd: true })];
    const error = `${activity} said no`;
    const run = runCdc(batches, {
      activities: { [activity]: (i: unknown, n: number) => (n === at ? fail(error) : cdcScript(batches).activities?.[activity]?.(i as never, n)) },
    });
    expect(run.output).toEqual({ db: 'app', state: 'Failed', error });
    expect(run.names().at(-1)).toBe(activity);
    expect(run.names()).not.toContain(A.stopDatabase);
    if (activity === A.applySchema) expect(run.names()).not.toContain(A.markCaughtUp);
  });

  it('an activity that keeps throwing ends it Failed with the message', () => {
    const run = runCdc([batch()], { activities: { [A.markCaughtUp]: () => { throw new Error('storage down'); } } });
    expect(run.output).toEqual({ db: 'app', state: 'Failed', error: 'storage down' });
  });

  it(`continues as new after ${CDC_BATCHES_PER_EXECUTION} batches, carrying caughtUp and the end position`, () => {
    const busy = runCdc([], { then: batch() });
    expect(busy.inputsOf(A.applyBatch)).toHaveLength(CDC_BATCHES_PER_EXECUTION);
    expect(busy.inputsOf(A.markCaughtUp)).toHaveLength(1);
    // Never caught up: no verification ahead.
    expect(busy.names()).not.toContain(A.verifyAhead);
    expect(busy.continuedAsNew).toEqual({ ...CDC_STATE, caughtUp: true });
    expect(busy.output).toBeUndefined();
    expect(busy.timers).toEqual([]);

    const draining = runCdc([batch({ control: 'cutover' })], { then: batch({ control: 'cutover', idle: true }) });
    expect(draining.inputsOf(A.applyBatch)).toHaveLength(CDC_BATCHES_PER_EXECUTION);
    expect(draining.continuedAsNew).toEqual({ ...CDC_STATE, caughtUp: true, endLsn: '0/ABC' });
    expect(draining.timers).toEqual([]);
  });

  it('a continued execution keeps its state: no second post-data, drains to the end position it carries', () => {
    const run = runCdc([batch(), batch({ reachedEnd: true, control: 'cutover' })], { state: { caughtUp: true, endLsn: '0/1' } });
    expect(trace(run)).toEqual([A.applyBatch, A.applyBatch, A.verifyTables, A.prepareReverse, A.completeDatabase]);
    expect(endLsns(run)).toEqual(['0/1', '0/1']);
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
  });

  it('verification ahead: share after share, only while replay is caught up (not busy, not cutting over)', () => {
    const next: Record<number, number | null> = { 0: 2, 2: null };
    const run = runCdc([batch({ idle: true }), batch(), batch({ idle: true }), batch({ control: 'cutover' }), batch({ control: 'cutover', idle: true, reachedEnd: true })], {
      activities: { [A.verifyAhead]: (i: { from: number }) => ({ next: next[i.from] ?? null }) },
    });
    expect(trace(run)).toEqual([
      A.applyBatch, A.applySchema, A.markCaughtUp, A.verifyAhead,
      A.applyBatch,
      A.applyBatch, A.verifyAhead,
      A.applyBatch, A.beginCutover, A.applyBatch, A.verifyTables, A.prepareReverse, A.completeDatabase,
    ]);
    expect(run.inputsOf(A.verifyAhead)).toEqual([{ ...DB_KEY, from: 0 }, { ...DB_KEY, from: 2 }]);
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
  });

  it(`a later pass of verification ahead starts only while idle, ${AHEAD_REPASS_MS} ms after the first pass ended, twice as long after each later one`, () => {
    const ended = { ...AHEAD_DONE, endedAt: T0.getTime() - AHEAD_REPASS_MS };
    const recent = runCdc([batch({ idle: true })], { state: { caughtUp: true, ahead: { ...ended, endedAt: T0.getTime() - AHEAD_REPASS_MS + 1 } } });
    expect(recent.names()).not.toContain(A.verifyAhead);
    const busy = runCdc([batch(), batch({ idle: true, busy: true }), batch({ control: 'cancel' })], { state: { caughtUp: true, ahead: ended } });
    expect(busy.names()).not.toContain(A.verifyAhead);
    const idle = runCdc([batch({ idle: true }), batch({ control: 'cancel' })], { state: { caughtUp: true, ahead: ended } });
    expect(trace(idle)).toEqual([A.applyBatch, A.verifyAhead, A.applyBatch]);
    expect(idle.inputsOf(A.verifyAhead)).toEqual([{ ...DB_KEY, from: 0 }]);
    // After the third pass the wait has doubled twice; it never exceeds AHEAD_REPASS_MAX_MS.
    const third = { ...ended, passes: 3, endedAt: T0.getTime() - 4 * AHEAD_REPASS_MS + 1 };
    expect(runCdc([batch({ idle: true })], { state: { caughtUp: true, ahead: third } }).names()).not.toContain(A.verifyAhead);
    expect(runCdc([batch({ idle: true }), batch({ control: 'cancel' })], { state: { caughtUp: true, ahead: { ...third, endedAt: T0.getTime() - 4 * AHEAD_REPASS_MS } } }).names()).toContain(A.verifyAhead);
    const late = { ...ended, passes: 60, endedAt: T0.getTime() - AHEAD_REPASS_MAX_MS };
    expect(runCdc([batch({ idle: true }), batch({ control: 'cancel' })], { state: { caughtUp: true, ahead: late } }).names()).toContain(A.verifyAhead);
  });

  it('a verifyAhead that keeps throwing never fails the database: no more passes, cutover verifies every table', () => {
    const run = runCdc([batch({ idle: true }), batch(), batch({ control: 'cutover' }), batch({ control: 'cutover', reachedEnd: true })], {
      activities: { [A.verifyAhead]: () => { throw new Error('target unreachable'); } },
    });
    expect(run.inputsOf(A.verifyAhead)).toHaveLength(1);
    expect(run.inputsOf(A.verifyTables)).toEqual([{ ...DB_KEY, from: 0 }]);
    expect(run.output).toEqual({ db: 'app', state: 'Succeeded' });
    const stopped = runCdc([batch({ idle: true }), batch({ idle: true })], { state: { caughtUp: true, ahead: { ...AHEAD_DONE, next: 0 } }, activities: { [A.verifyAhead]: () => ({ next: null, stopped: true }) } });
    expect((stopped.continuedAsNew as CdcState | undefined)?.ahead).toEqual({ next: null, passes: AHEAD_MAX_PASSES, endedAt: T0.getTime() });
  });

  it('over a chain of executions: at most one wait each, caught up once, then cutover to Succeeded', () => {
    const runs = runExecutions(cdcOrchestrator, cdcScript([
      batch({ idle: true }), batch({ idle: true }), batch({ control: 'cutover' }), batch({ control: 'cutover', idle: true }), batch({ control: 'cutover', reachedEnd: true }),
    ]));
    expect(runs.map(trace)).toEqual([
      [A.applyBatch, A.applySchema, A.markCaughtUp, A.verifyAhead, A.applyBatch, IDLE_WAIT],
      [A.applyBatch, A.beginCutover, A.applyBatch, A.applyBatch, A.verifyTables, A.prepareReverse, A.completeDatabase],
    ]);
    expect(runs[0]?.continuedAsNew).toEqual({ ...CDC_STATE, caughtUp: true, ahead: AHEAD_DONE });
    expect(runs.at(-1)?.output).toEqual({ db: 'app', state: 'Succeeded' });
  });
});

// ---------------------------------------------------------------------------------------------
// Across the orchestrators

describe('every orchestrator', () => {
  it('calls every activity of the contract through callActivityWithRetry with the transient policy', () => {
    const runs = [
      ...runExecutions(migrationOrchestrator, migrationScript({}, {
        activities: {
          [A.openDataMigration]: gates(windowWait(minutes(10)), OPEN),
          [A.watchDatabases]: (_: unknown, n: number): DatabasesStatus => (n === 1 ? STILL_RUNNING : { finished: true, outcomes: outcomesOf(['a', 'b']) }),
        },
        events: [{ name: EVENTS.cutover, during: A.watchDatabases }],
      })),
      // The migration failing while its databases run stops them.
      runOrchestrator(migrationOrchestrator, migrationScript({ watching: true }, {
        activities: { [A.watchDatabases]: () => { throw new Error('storage down'); }, [A.stopDatabases]: nothing },
      })),
      runDatabase('Online', { cdc: { db: 'app', state: 'Canceled' } }),
      runDatabase('Offline'),
      runLane({}, { answers: { 1: ok({ tableLoaded: 'public.t1' }), 5: ok({ groupLoaded: true }) } }),
      runCdc([batch({ idle: true }), batch({ control: 'cutover' }), batch({ control: 'cutover', reachedEnd: true })]),
      // The fallback window: the migration's watch, and reverse streams that fall back (once with
      // tables that differ), meet a failing step, and finalize.
      runOrchestrator(migrationOrchestrator, migrationScript({}, { activities: { [A.beginReverse]: () => ({ databases: ['a'] }) } })),
      ...runExecutions(migrationOrchestrator, reversingScript([false, true], { events: [{ name: EVENTS.fallback, data: null }] })),
      ...runExecutions(reverseOrchestrator, reverseScript([rbatch({ control: 'fallback' }), rbatch({ reachedEnd: true }), rbatch({ control: 'fallback' }), rbatch({ reachedEnd: true })], {
        activities: { [A.verifyFallback]: (_: unknown, n: number) => (n === 1 ? { ok: true, value: { compared: 1, next: null, differs: 'x' } } : { ok: true, value: { compared: 1, next: null } }) },
      })),
      ...runExecutions(reverseOrchestrator, reverseScript([], { activities: { [A.applyReverse]: (_: unknown, n: number) => { if (n === 1) throw new Error('down'); return ok(rbatch({ control: 'finalize' })); } } })),
    ];
    const activities = runs.flatMap((r) => r.calls).filter((c) => c.kind === 'activity');
    expect(new Set(activities.map((c) => c.name))).toEqual(new Set(Object.values(A)));
    for (const c of activities) expect(c.retry, c.name).toEqual(transientRetry());
  });
});

// ---------------------------------------------------------------------------------------------
// The fake's Durable-rule check (support/fake-df.ts), on tiny orchestrators written here

describe('the fake context.df enforces the Durable rules', () => {
  const retry = transientRetry();

  it('a task already yielded, put into a new Task.any, fails the run, even inside the orchestrator’s try/catch', () => {
    const rebuilds: OrchestrationHandler = function* (context) {
      try {
        const running = [context.df.callActivityWithRetry('a', retry, 1), context.df.callActivityWithRetry('b', retry, 2)];
        yield context.df.Task.any(running);
        // Wrong: `running` holds the winner and the loser, both yielded already.
        yield context.df.Task.any(running);
        return 'done';
      } catch {
        return 'swallowed';
      }
    };
    const run = () => runOrchestrator(rebuilds, { input: null, activities: { a: () => 'A', b: () => 'B' } });
    expect(run).toThrow(DurableRuleError);
    expect(run).toThrow('Task.any is given activity a, which was yielded already: the extension would schedule it again as new');
  });

  it('the same Task.any yielded twice fails the run', () => {
    const twice: OrchestrationHandler = function* (context) {
      const any = context.df.Task.any([context.df.callActivityWithRetry('a', retry, 1)]);
      yield any;
      yield any;
    };
    expect(() => runOrchestrator(twice, { input: null, activities: { a: () => 'A' } })).toThrow('the same Task.any was yielded twice');
  });

  it('the rule-abiding pattern passes: the loser of a Task.any is read or yielded alone, never raced again', () => {
    const abides: OrchestrationHandler = function* (context) {
      const a = context.df.callActivityWithRetry('a', retry, 1);
      const b = context.df.callActivityWithRetry('b', retry, 2);
      const first = yield context.df.Task.any([a, b]);
      const other = first === a ? b : a;
      const rest = yield other;
      return [first === a ? 'a' : 'b', rest, yield context.df.Task.any([context.df.callActivityWithRetry('c', retry, 3)])];
    };
    const run = runOrchestrator(abides, { input: null, activities: { a: () => 'A', b: () => 'B', c: () => 'C' } });
    expect(run.output).toEqual(['a', 'B', expect.objectContaining({ result: 'C' })]);
  });

  it('delivers an event as the real SDK does: to the newest listening waiter, even a stale one', async () => {
    // The window-then-watch shape of the migration: a Task.any the timer won leaves its waiter listening.
    const windowThenWatch = function* (context: OrchestrationContext): Generator<unknown, unknown, unknown> {
      const t1 = context.df.createTimer(new Date(T0.getTime() + 1_000));
      const c1 = context.df.waitForExternalEvent('cancel');
      yield context.df.Task.any([t1, c1]);
      yield context.df.callActivity('roles', null);
      const t2 = context.df.createTimer(new Date(T0.getTime() + 10_000));
      const c2 = context.df.waitForExternalEvent('cancel');
      const woke = yield context.df.Task.any([t2, c2]);
      return { c1: c1.isCompleted, c2: c2.isCompleted, woke: woke === c2 ? 'c2' : 't2' };
    };
    const raisedDuringRoles = { c1: true, c2: false, woke: 't2' };
    const raisedDuringWatch = { c1: false, c2: true, woke: 'c2' };

    // The real replay engine, on the histories the extension would write.
    const at = (ms: number) => new Date(T0.getTime() + ms).toISOString();
    const episodes = (...eps: Array<[number, ...HistoryEvent[]]>) =>
      eps.flatMap(([ms, ...events]) => [history.orchestratorStarted(at(ms)), ...events, history.orchestratorCompleted(at(ms))]).map((e) => ({ ...e, IsPlayed: true }));
    const start: Array<[number, ...HistoryEvent[]]> = [
      [0, history.executionStarted(at(0), { name: 'w', instanceId: 'w', executionId: 'e', input: 'null' }), history.timerCreated(at(0), 0, at(1_000))],
      [1_000, history.timerFired(at(1_000), 0, at(1_000)), history.taskScheduled(at(1_000), 1, 'roles', 'null')],
    ];
    const cancel = history.eventRaised(at(1_500), 'cancel', '{"dbs":["a"]}');
    const sdk = async (events: HistoryEvent[]) => {
      const { Orchestrator } = createRequire(__filename)('durable-functions/lib/src/orchestrations/Orchestrator') as {
        Orchestrator: new (fn: typeof windowThenWatch) => { listen(): (trigger: unknown, context: unknown) => Promise<unknown> };
      };
      const trigger = JSON.parse(JSON.stringify({
        history: events, instanceId: 'w', isReplaying: false, input: null,
        upperSchemaVersion: 1, upperSchemaVersionNew: 2, maximumShortTimerDuration: '3650.00:00:00', longRunningTimerIntervalDuration: '3.00:00:00',
      })) as unknown;
      const state = decodeState(await new Orchestrator(windowThenWatch).listen()(trigger, new df.DummyOrchestrationContext()));
      return state.kind === 'done' ? JSON.parse(String(state.output)) as unknown : state;
    };
    expect(await sdk(episodes(...start, [1_500, cancel],
      [2_000, history.taskCompleted(at(2_000), 1, 'null'), history.timerCreated(at(2_000), 2, at(10_000))],
      [10_000, history.timerFired(at(10_000), 2, at(10_000))]))).toEqual(raisedDuringRoles);
    expect(await sdk(episodes(...start,
      [2_000, history.taskCompleted(at(2_000), 1, 'null'), history.timerCreated(at(2_000), 2, at(10_000))],
      [3_000, cancel]))).toEqual(raisedDuringWatch);

    // The fake, on the same stories.
    const fake = (event: ScriptEvent) => runOrchestrator(windowThenWatch as OrchestrationHandler, { input: null, now: T0, activities: { roles: nothing }, events: [event] }).output;
    expect(fake({ name: 'cancel', data: { dbs: ['a'] }, during: 'roles' })).toEqual(raisedDuringRoles);
    expect(fake({ name: 'cancel', data: { dbs: ['a'] }, during: 'timer', nth: 2 })).toEqual(raisedDuringWatch);
  });
});
