/**
 * A migration of several databases in which one fails (docs/api.md "When a database fails"):
 * the rule that decides what the migration shows and whether cutover may start
 * (shared/model/failed-databases.ts), the final state and error, and the migration orchestration
 * that fails while its databases run: it stops them (stopDatabases) and ends Failed only once each
 * ended, so no database orchestration or slot outlives a Failed migration. Driven by the fake
 * context.df (support/fake-df.ts), which checks the Durable rules on every run.
 */
import { describe, expect, it } from 'vitest';

import { MAX_STOP_REQUESTS, WATCH_MS, finalState, migrationOrchestrator } from '../../orchestrators/migration';
import {
  cutoverDecision, failureNotice, presentedStatus, stateWhenCaughtUp,
  type DatabaseState, type MigrationStatusLine,
} from '../../shared/model/failed-databases';
import type { DbMigrationState } from '../../shared/model/states';
import { ACTIVITIES as A, EVENTS, migrationInstanceId, type DatabasesStatus, type MigrationInput } from '../../shared/steps/contracts';
import { runExecutions, runOrchestrator, type FakeTask, type Responder, type Run, type Script } from './support/fake-df';

const dbs = (states: Record<string, DbMigrationState>): DatabaseState[] =>
  Object.entries(states).map(([databaseName, migrationState]) => ({ databaseName, migrationState, ...(migrationState === 'Failed' ? { message: `${databaseName} broke` } : {}) }));
const WAITING: MigrationStatusLine = { state: 'WaitingForUserAction', subState: 'WaitingForCutoverTrigger' };
const MIGRATING: MigrationStatusLine = { state: 'InProgress', subState: 'MigratingData' };

describe('what a migration with a failed database shows', () => {
  it('is never WaitingForUserAction while a database is Failed, even when its stored row says so', () => {
    const shown = presentedStatus(WAITING, dbs({ a: 'WaitingForCutoverTrigger', b: 'Failed' }));
    expect(shown).toEqual({
      state: 'InProgress', subState: 'WaitingForCutoverTrigger',
      error: 'Database b failed: b broke. The migration will end Failed; the other databases (a) keep running: cut them over once each is WaitingForCutoverTrigger (triggerCutover skips failed databases), or cancel.',
    });
  });

  it.each([
    { stored: MIGRATING, states: { a: 'InProgress', b: 'Failed' } as const, state: 'InProgress', subState: 'MigratingData' },
    { stored: { state: 'InProgress', subState: 'CompletingMigration' } as const, states: { a: 'InProgress', b: 'Failed' } as const, state: 'InProgress', subState: 'CompletingMigration' },
  ])('keeps a running state and substate ($subState), adding the error', ({ stored, states, state, subState }) => {
    const shown = presentedStatus(stored, dbs(states));
    expect([shown.state, shown.subState]).toEqual([state, subState]);
    expect(shown.error).toMatch(/^Database b failed: b broke\. /);
  });

  it('names every failed database; with none left running it says the migration ends Failed', () => {
    expect(failureNotice(dbs({ a: 'Failed', b: 'Succeeded', c: 'Failed' }))).toBe('Database a failed: a broke; database c failed: c broke. The migration ends Failed.');
    expect(failureNotice([{ databaseName: 'x', migrationState: 'Failed' }])).toBe('Database x failed: no reason was recorded. The migration ends Failed.');
  });

  it('shows a finished migration, and one without a failed database, as stored', () => {
    const failed: MigrationStatusLine = { state: 'Failed', subState: 'Completed', error: 'b: b broke. Succeeded: a' };
    expect(presentedStatus(failed, dbs({ a: 'Succeeded', b: 'Failed' }))).toBe(failed);
    expect(presentedStatus(WAITING, dbs({ a: 'WaitingForCutoverTrigger', b: 'Canceled' }))).toBe(WAITING);
  });

  it.each([
    { states: { a: 'WaitingForCutoverTrigger', b: 'WaitingForCutoverTrigger' }, next: WAITING },
    { states: { a: 'WaitingForCutoverTrigger', b: 'Canceled' }, next: WAITING },
    { states: { a: 'WaitingForCutoverTrigger', b: 'Failed' }, next: { state: 'InProgress', subState: 'WaitingForCutoverTrigger' } },
    { states: { a: 'WaitingForCutoverTrigger', b: 'InProgress' }, next: undefined },
    { states: { a: 'Failed', b: 'Failed' }, next: undefined },
  ] as const)('a database that caught up leaves $states at $next', ({ states, next }) => {
    expect(stateWhenCaughtUp(MIGRATING, dbs(states))).toEqual(next);
  });
});

describe('whether cutover may start', () => {
  const ready = { a: 'WaitingForCutoverTrigger', b: 'WaitingForCutoverTrigger', c: 'Failed' } as const;

  it('with a failed database: once every database still running waits, for any request naming one of them', () => {
    const afterFailure: MigrationStatusLine = { state: 'InProgress', subState: 'WaitingForCutoverTrigger' };
    expect(cutoverDecision(afterFailure, dbs(ready), ['a', 'b', 'c'])).toEqual({ ok: true });
    expect(cutoverDecision(afterFailure, dbs(ready), ['a'])).toEqual({ ok: true });
    // The stored row may still say WaitingForUserAction (the failure came after): same answer.
    expect(cutoverDecision(WAITING, dbs(ready), ['a', 'b', 'c'])).toEqual({ ok: true });
  });

  it('refuses a request that names only failed databases, naming the ones that can be cut over', () => {
    const d = cutoverDecision(MIGRATING, dbs(ready), ['c']);
    expect(d).toEqual({ ok: false, reason: 'nothing to cut over: c is not running (failed: c); name databases that wait for cutover (a, b)' });
  });

  it.each([
    { what: 'a healthy database still copies', stored: MIGRATING, states: { a: 'InProgress', b: 'WaitingForCutoverTrigger', c: 'Failed' } },
    { what: 'every database failed', stored: MIGRATING, states: { a: 'Failed', b: 'Failed' } },
    { what: 'a cutover is already completing', stored: { state: 'InProgress', subState: 'CompletingMigration' }, states: { a: 'WaitingForCutoverTrigger', b: 'Failed' } },
    { what: 'the migration ended', stored: { state: 'Failed', subState: 'Completed' }, states: { a: 'WaitingForCutoverTrigger', b: 'Failed' } },
    { what: 'no database failed and the migration is not WaitingForUserAction', stored: MIGRATING, states: { a: 'WaitingForCutoverTrigger', b: 'InProgress' } },
  ] as Array<{ what: string; stored: MigrationStatusLine; states: Record<string, DbMigrationState> }>)('refuses while $what, saying the state users see', ({ stored, states }) => {
    const d = cutoverDecision(stored, dbs(states), Object.keys(states));
    expect(d.ok).toBe(false);
    const shown = presentedStatus(stored, dbs(states));
    if (!d.ok) expect(d.reason).toContain(`cutover is possible once every database waits for it (state WaitingForUserAction / WaitingForCutoverTrigger); the migration is ${shown.state} / ${shown.subState}`);
  });

  it('without a failed database: exactly when the migration is WaitingForUserAction (as before)', () => {
    expect(cutoverDecision(WAITING, dbs({ a: 'WaitingForCutoverTrigger', b: 'WaitingForCutoverTrigger' }), ['a'])).toEqual({ ok: true });
  });
});

describe('the final state of a migration whose databases ended', () => {
  it('is Failed when one failed, naming it with its error and the databases that succeeded', () => {
    expect(finalState([{ db: 'a', state: 'Succeeded' }, { db: 'b', state: 'Failed', error: 'slot gone' }])).toEqual({
      state: 'Failed', error: 'b: slot gone. Succeeded: a',
      databases: [{ db: 'a', state: 'Succeeded' }, { db: 'b', state: 'Failed', error: 'slot gone' }],
    });
    expect(finalState([{ db: 'a', state: 'Canceled' }, { db: 'b', state: 'Failed', error: 'x' }, { db: 'c', state: 'Succeeded' }]).error).toBe('b: x. Succeeded: c. Canceled: a');
  });
});

// ---------------------------------------------------------------------------------------------
// The migration orchestration failing while its databases run

const MIGRATION_ID = migrationInstanceId('srv', 'mig');
const KEY = { server: 'srv', name: 'mig' };
const INPUT: MigrationInput = { ...KEY, option: 'ValidateAndMigrate', databases: ['a', 'b'] };
const WATCH = `any(timer, event ${EVENTS.cutover}, event ${EVENTS.cancel}, event ${EVENTS.databaseFinished})`;
const STILL_RUNNING: DatabasesStatus = { finished: false, outcomes: [] };
const compound = (t: FakeTask) => `${t.kind}(${t.children.map((c) => (c.kind === 'event' ? `event ${c.name}` : c.name)).join(', ')})`;
const trace = (run: Run) => run.yields.map((t) => (t.kind === 'any' || t.kind === 'all' ? compound(t) : t.name));
const boom = (message: string) => () => { throw new Error(message); };

function script(input: Partial<MigrationInput>, activities: Record<string, Responder>): Script {
  return {
    instanceId: MIGRATION_ID,
    input: { ...INPUT, ...input },
    activities: {
      [A.setMigrationState]: () => null,
      [A.checkPrerequisites]: () => ({ ok: true, value: null }),
      [A.validate]: () => ({ ok: true, value: { status: 'Succeeded' } }),
      [A.openDataMigration]: () => ({ open: true, mode: 'Online' }),
      [A.migrateRoles]: () => ({ ok: true, value: { skipped: true, created: 0, existing: 0, reserved: 0, warnings: 0 } }),
      [A.startDatabases]: () => null,
      [A.watchDatabases]: () => STILL_RUNNING,
      [A.recordControl]: () => null,
      [A.stopDatabases]: () => null,
      [A.applyDatabaseRoles]: () => null,
      [A.finishMigration]: () => null,
      ...activities,
    },
  };
}

describe('a migration that fails while its databases run', () => {
  it('asks them to stop and keeps watching, instead of ending Failed with them running', () => {
    const run = runOrchestrator(migrationOrchestrator, script({ watching: true }, { [A.watchDatabases]: boom('table storage unreachable') }));
    expect(trace(run)).toEqual([WATCH, A.watchDatabases, A.stopDatabases]);
    expect(run.inputsOf(A.stopDatabases)).toEqual([{ ...KEY, migrationInstanceId: MIGRATION_ID, error: 'table storage unreachable' }]);
    expect(run.names()).not.toContain(A.finishMigration);
    expect(run.continuedAsNew).toEqual({ ...INPUT, watching: true, failure: 'table storage unreachable', stopRequests: 1 });
  });

  it('ends Failed with the first cause once every database ended, saying which succeeded or were stopped', () => {
    const runs = runExecutions(migrationOrchestrator, script({ watching: true }, {
      [A.watchDatabases]: (_: unknown, n: number): DatabasesStatus => {
        if (n === 1) throw new Error('table storage unreachable');
        if (n === 2) return STILL_RUNNING;
        return { finished: true, outcomes: [{ db: 'a', state: 'Succeeded' }, { db: 'b', state: 'Canceled' }] };
      },
    }));
    expect(runs.map(trace)).toEqual([
      [WATCH, A.watchDatabases, A.stopDatabases],
      [WATCH, A.watchDatabases],
      [WATCH, A.watchDatabases, A.applyDatabaseRoles, A.finishMigration],
    ]);
    const error = 'table storage unreachable. Succeeded: a. Canceled: b';
    expect(runs.at(-1)?.inputsOf(A.finishMigration)).toEqual([{ ...KEY, state: 'Failed', error }]);
    expect(runs.at(-1)?.output).toMatchObject({ state: 'Failed', error });
    expect(runs.flatMap((r) => r.timers).map((t) => t.fireAt)).toEqual([1, 2, 3].map((k) => new Date(Date.parse('2030-01-01T00:00:00Z') + k * WATCH_MS)));
  });

  it('a startDatabases that fails half-way stops what it may have started, too', () => {
    const run = runOrchestrator(migrationOrchestrator, script({}, { [A.startDatabases]: boom('started a, then lost the durable client') }));
    expect(trace(run).slice(-2)).toEqual([A.startDatabases, A.stopDatabases]);
    expect(run.continuedAsNew).toMatchObject({ watching: true, failure: 'started a, then lost the durable client' });
  });

  it('a failure before any database started ends Failed at once (nothing to stop)', () => {
    const run = runOrchestrator(migrationOrchestrator, script({}, { [A.migrateRoles]: boom('roles: storage down') }));
    expect(run.names()).not.toContain(A.stopDatabases);
    expect(run.inputsOf(A.finishMigration)).toEqual([{ ...KEY, state: 'Failed', error: 'roles: storage down' }]);
  });

  it(`when watching keeps failing, asks ${MAX_STOP_REQUESTS} times, then ends Failed keeping the first cause`, () => {
    const runs = runExecutions(migrationOrchestrator, script({ watching: true }, {
      [A.watchDatabases]: (_: unknown, n: number) => { throw new Error(`watch failed ${n}`); },
      [A.stopDatabases]: boom('cannot record the stop'),
    }));
    expect(runs).toHaveLength(MAX_STOP_REQUESTS + 1);
    expect(runs.slice(0, -1).map((r) => r.continuedAsNew)).toEqual([1, 2, 3].map((k) => ({ ...INPUT, watching: true, failure: 'watch failed 1', stopRequests: k })));
    expect(runs.flatMap((r) => r.inputsOf(A.stopDatabases)).map((i) => (i as { error: string }).error)).toEqual(Array(MAX_STOP_REQUESTS).fill('watch failed 1'));
    expect(runs.at(-1)?.inputsOf(A.finishMigration)).toEqual([{
      ...KEY, state: 'Failed',
      error: 'watch failed 1. The databases could not be watched until they stopped (watch failed 4); finishing drops their replication slots',
    }]);
  });
});
