/**
 * The migration workflow, one numbered step per state users see (ARM spellings):
 *
 *   1. InProgress / PerformingPreRequisiteSteps   both servers reachable with the stored credentials
 *   2. InProgress / ValidationInProgress          pre-migration checks (Validate, ValidateAndMigrate)
 *   3. InProgress / WaitingForDataMigrationWindow a durable timer until migrationWindowStartTimeInUtc
 *      (a cancel ends the wait); past migrationWindowEndTimeInUtc no copy starts
 *   4. InProgress / MigratingData                 roles once (migrateRoles), then one
 *      sub-orchestration per database, then each database's owner, privileges and role settings
 *      (WaitingForUserAction / WaitingForCutoverTrigger and CompletingMigration are set by the
 *       activities as databases catch up and cut over: they are data, not orchestration state)
 *   5. Succeeded | Failed | Canceled | ValidationFailed, substate Completed
 *
 * Deterministic: time, waits and races come only from context.df; inputs are keys, never secrets.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import {
  EVENTS, ORCHESTRATORS, databaseInstanceId,
  type DatabaseInput, type DatabaseOutcome, type MigrationInput, type MigrationState, type MigrationSubState,
} from '../shared/steps/contracts';
import { activityCaller, run } from './activity';

export interface MigrationResult {
  state: MigrationState;
  error?: string;
  databases?: DatabaseOutcome[];
}

export const migrationOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext): Generator<Task, MigrationResult, unknown> {
  const input = context.df.getInput<MigrationInput>();
  const key = { server: input.server, name: input.name };
  const call = activityCaller(context);
  const setState = (state: MigrationState, subState: MigrationSubState) => call('setMigrationState', { ...key, state, subState });
  const finish = function* (result: MigrationResult): Generator<Task, MigrationResult, unknown> {
    yield call('finishMigration', { ...key, state: result.state, ...(result.error === undefined ? {} : { error: result.error }) });
    return result;
  };

  try {
    // 1. PerformingPreRequisiteSteps
    yield setState('InProgress', 'PerformingPreRequisiteSteps');
    const pre = yield* run(call('checkPrerequisites', key));
    if (!pre.ok) return yield* finish({ state: 'Failed', error: pre.failure.message });

    // 2. ValidationInProgress
    if (input.option !== 'Migrate') {
      yield setState('InProgress', 'ValidationInProgress');
      const v = yield* run(call('validate', key));
      if (!v.ok) return yield* finish({ state: 'Failed', error: v.failure.message });
      if (v.value.status === 'Failed') return yield* finish({ state: 'ValidationFailed', error: 'Validation failed: see validationDetails' });
      if (input.option === 'Validate') return yield* finish({ state: 'Succeeded' });
    }

    // 3. WaitingForDataMigrationWindow: validation ran first, so problems surface before the wait.
    const start = input.migrationWindowStartTimeInUtc ? new Date(input.migrationWindowStartTimeInUtc) : undefined;
    if (start && start.getTime() > context.df.currentUtcDateTime.getTime()) {
      yield setState('InProgress', 'WaitingForDataMigrationWindow');
      const timer = context.df.createTimer(start);
      const cancel = context.df.waitForExternalEvent(EVENTS.cancel);
      if ((yield context.df.Task.any([timer, cancel])) === cancel) {
        timer.cancel();
        yield call('recordControl', { ...key, control: 'cancel', request: cancel.result ?? null });
        return yield* finish({ state: 'Canceled' });
      }
    }
    const closed = windowClosed(input, context.df.currentUtcDateTime);
    if (closed) return yield* finish({ state: 'Failed', error: closed });

    // 4. MigratingData: roles first (cluster-wide, once, before any schema), then every database in
    // its own sub-orchestration; cutover and cancel requests that arrive as events on this instance
    // (e.g. `az rest … raiseEvent/cutover`) are recorded as data the databases read, then the wait resumes.
    yield setState('InProgress', 'MigratingData');
    const roles = yield* run(call('migrateRoles', key));
    if (!roles.ok) return yield* finish({ state: 'Failed', error: roles.failure.message });
    const late = windowClosed(input, context.df.currentUtcDateTime);
    if (late) return yield* finish({ state: 'Failed', error: late });
    const children = input.databases.map((db, index) => {
      const child: DatabaseInput = { ...key, db, mode: input.mode, index };
      return context.df.callSubOrchestrator(ORCHESTRATORS.database, child, databaseInstanceId(context.df.instanceId, index));
    });
    const all = context.df.Task.all(children);
    for (;;) {
      const cutover = context.df.waitForExternalEvent(EVENTS.cutover);
      const cancel = context.df.waitForExternalEvent(EVENTS.cancel);
      const winner = yield context.df.Task.any([all, cutover, cancel]);
      if (winner === all) break;
      const control = winner === cutover ? 'cutover' : 'cancel';
      yield call('recordControl', { ...key, control, request: (winner as Task).result ?? null });
    }

    // Each created database gets its owner, privileges and role settings (a no-op without migrateRoles).
    const outcomes = all.result as DatabaseOutcome[];
    const migrated = outcomes.filter((o) => o.state === 'Succeeded').map((o) => o.db);
    if (!roles.value.skipped && migrated.length > 0) yield call('applyDatabaseRoles', { ...key, databases: migrated });

    // 5. Final state from the databases' outcomes.
    return yield* finish(finalState(outcomes));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return yield* finish({ state: 'Failed', error: message });
  }
};

/** Why no copy may start at `now`: the window's end has passed (null when it has not, or there is none). */
export function windowClosed(input: Pick<MigrationInput, 'migrationWindowEndTimeInUtc'>, now: Date): string | null {
  const end = input.migrationWindowEndTimeInUtc;
  if (!end || new Date(end).getTime() > now.getTime()) return null;
  return `The migration window ended at ${end} (now ${now.toISOString()}), so no data was copied. Create a new migration with migrationWindowEndTimeInUtc in the future, or without a window`;
}

/** Any failure fails the migration; otherwise one database done makes it Succeeded; else Canceled. */
export function finalState(outcomes: readonly DatabaseOutcome[]): MigrationResult {
  const failed = outcomes.filter((o) => o.state === 'Failed');
  if (failed.length > 0) {
    return { state: 'Failed', error: failed.map((o) => `${o.db}: ${o.error ?? 'failed'}`).join('; '), databases: [...outcomes] };
  }
  if (outcomes.some((o) => o.state === 'Succeeded')) return { state: 'Succeeded', databases: [...outcomes] };
  return { state: 'Canceled', databases: [...outcomes] };
}

df.app.orchestration(ORCHESTRATORS.migration, migrationOrchestrator);
