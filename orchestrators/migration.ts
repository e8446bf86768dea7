/**
 * The migration workflow, one numbered step per state users see (ARM spellings):
 *
 *   1. InProgress / PerformingPreRequisiteSteps   both servers reachable with the stored credentials
 *   2. InProgress / ValidationInProgress          pre-migration checks (Validate, ValidateAndMigrate)
 *   3. InProgress / MigratingData                 one sub-orchestration per database
 *      (WaitingForUserAction / WaitingForCutoverTrigger and CompletingMigration are set by the
 *       activities as databases catch up and cut over: they are data, not orchestration state)
 *   4. Succeeded | Failed | Canceled | ValidationFailed, substate Completed
 *
 * Deterministic: time, waits and races come only from context.df; inputs are keys, never secrets.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { DatabaseInput, DatabaseOutcome, MigrationInput, Result, ValidationSummary } from '../shared/flow/contracts';
import type { MigrationState, MigrationSubState } from '../shared/model/states';
import { ACTIVITIES, EVENTS, ORCHESTRATORS, databaseInstanceId } from '../shared/flow/names';
import { transientRetry } from './retry';

export interface MigrationResult {
  state: MigrationState;
  error?: string;
  databases?: DatabaseOutcome[];
}

export const migrationOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext): Generator<Task, MigrationResult, unknown> {
  const input = context.df.getInput<MigrationInput>();
  const key = { server: input.server, name: input.name };
  const retry = transientRetry();
  const call = (activity: string, payload: unknown) => context.df.callActivityWithRetry(activity, retry, payload);
  const setState = (state: MigrationState, subState: MigrationSubState) => call(ACTIVITIES.setMigrationState, { ...key, state, subState });
  const finish = function* (result: MigrationResult): Generator<Task, MigrationResult, unknown> {
    yield call(ACTIVITIES.finishMigration, { ...key, state: result.state, error: result.error });
    return result;
  };

  try {
    // 1. PerformingPreRequisiteSteps
    yield setState('InProgress', 'PerformingPreRequisiteSteps');
    const pre = (yield call(ACTIVITIES.checkPrerequisites, key)) as Result<null>;
    if (!pre.ok) return yield* finish({ state: 'Failed', error: pre.failure.message });

    // 2. ValidationInProgress
    if (input.option !== 'Migrate') {
      yield setState('InProgress', 'ValidationInProgress');
      const v = (yield call(ACTIVITIES.validate, key)) as Result<ValidationSummary>;
      if (!v.ok) return yield* finish({ state: 'Failed', error: v.failure.message });
      if (v.value.status === 'Failed') return yield* finish({ state: 'ValidationFailed', error: 'Validation failed: see validationDetails' });
      if (input.option === 'Validate') return yield* finish({ state: 'Succeeded' });
    }

    // 3. MigratingData: every database in its own sub-orchestration; cutover and cancel requests that
    // arrive as events on this instance (e.g. `az rest … raiseEvent/cutover`) are recorded as data
    // the databases read, then the wait resumes.
    yield setState('InProgress', 'MigratingData');
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
      yield call(ACTIVITIES.recordControl, { ...key, control, request: (winner as Task).result ?? null });
    }

    // 4. Final state from the databases' outcomes.
    const outcomes = all.result as DatabaseOutcome[];
    return yield* finish(finalState(outcomes));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return yield* finish({ state: 'Failed', error: message });
  }
};

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
