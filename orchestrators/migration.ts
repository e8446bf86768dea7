/**
 * The migration workflow, one numbered step per state users see (ARM spellings):
 *
 *   1. InProgress / PerformingPreRequisiteSteps   both servers reachable with the stored credentials
 *   2. InProgress / ValidationInProgress          pre-migration checks (Validate, ValidateAndMigrate)
 *   3. what holds the data migration back (shared/steps/gate.ts), each released by a PATCH:
 *      WaitingForTargetDBOverwriteConfirmation, WaitingForDataMigrationScheduling,
 *      WaitingForDataMigrationWindow (a durable timer until migrationWindowStartTimeInUtc); one wait
 *      per execution — a short timer, the window's start, a PATCH's update event or a cancel —
 *      then continueAsNew and ask again; past migrationWindowEndTimeInUtc no copy starts
 *   4. InProgress / MigratingData                 roles once (migrateRoles), then every database's
 *      own orchestration is started (by an activity, so this one never yields their tasks)
 *   5. watch: one wait per execution for a database to finish, a cutover or cancel event, or a
 *      short timer; events are recorded as the PATCH that asks the same would be (or refused, on the
 *      resource); then continueAsNew until every database has finished
 *      (WaitingForUserAction / WaitingForCutoverTrigger and CompletingMigration are set by the
 *       activities as databases catch up and cut over: they are data, not orchestration state)
 *   6. each migrated database's owner, privileges and role settings; then
 *      Succeeded | Failed | Canceled | ValidationFailed, substate Completed
 *   7. fallbackAfterCutover: Succeeded / ReplicatingToSource, each database's reverse stream started
 *      (by an activity) and watched, one wait per execution, until the user finalizes (Completed)
 *      or falls back (FellBackToSource)
 *
 * A database that fails does not stop the others (shared/model/failed-databases.ts): the watch
 * waits for them all and the migration ends Failed. When the migration itself fails once its
 * databases were started, it first stops them (stopDatabases, as a cancel) and watches until each
 * ended, so a Failed migration never leaves a database orchestration or a slot behind.
 *
 * Deterministic: time, waits and races come only from context.df; inputs are keys, never secrets.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import {
  EVENTS, ORCHESTRATORS,
  type DatabaseOutcome, type MigrationInput, type MigrationKey, type MigrationState, type MigrationSubState,
} from '../shared/steps/contracts';
import { activityCaller, run, type Call } from './activity';

export interface MigrationResult {
  state: MigrationState;
  error?: string;
  databases?: DatabaseOutcome[];
}

/** The watch's timer: how long it sleeps when no event wakes it. */
export const WATCH_MS = 5_000;

/**
 * How long step 3 sleeps before it asks again when nothing but a PATCH (which wakes it at once) or
 * a change on the target (a database dropped by hand) can release it.
 */
export const GATE_POLL_MS = 30_000;
/** Step 3's longest single timer, so a far migration window is approached in bounded steps. */
export const GATE_MAX_WAIT_MS = 3_600_000;

export const migrationOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext): Generator<Task, MigrationResult | undefined, unknown> {
  const input = context.df.getInput<MigrationInput>();
  const key = { server: input.server, name: input.name };
  const call = activityCaller(context);
  const setState = (state: MigrationState, subState: MigrationSubState) => call('setMigrationState', { ...key, state, subState });
  const finish = function* (result: MigrationResult): Generator<Task, MigrationResult, unknown> {
    yield call('finishMigration', { ...key, state: result.state, ...(result.error === undefined ? {} : { error: result.error }) });
    return result;
  };

  // Event waiters of this execution that may still be listening (the SDK hands an event to the
  // newest listener): whatever they caught is recorded before the execution ends.
  const listening: Array<['cutover' | 'cancel', Task]> = [];

  // 7. The fallback window: this execution's one wait, until every reverse stream ended.
  if (input.reversing) return yield* watchReverseOnce(context, call, input);

  // Whether database orchestrations may be running: then a failure here first stops them.
  let started = input.watching === true;
  try {
    if (!input.watching) {
      if (!input.waitingToStart) {
        // 1. PerformingPreRequisiteSteps
        yield setState('InProgress', 'PerformingPreRequisiteSteps');
        const pre = yield* run(call('checkPrerequisites', key));
        if (!pre.ok) return yield* finish({ state: 'Failed', error: pre.failure.message });

        // 2. ValidationInProgress: before any wait, so problems surface early.
        if (input.option !== 'Migrate') {
          yield setState('InProgress', 'ValidationInProgress');
          const v = yield* run(call('validate', key));
          if (!v.ok) return yield* finish({ state: 'Failed', error: v.failure.message });
          if (v.value.status === 'Failed') return yield* finish({ state: 'ValidationFailed', error: 'Validation failed: see validationDetails' });
          if (input.option === 'Validate') return yield* finish({ state: 'Succeeded' });
        }
      }

      // 3. What holds the data migration back; the activity stores the waiting substate, or MigratingData.
      const gate = yield* run(call('openDataMigration', key));
      if (!gate.open && 'end' in gate) return yield* finish({ state: gate.end, ...(gate.error ? { error: gate.error } : {}) });
      const closed = windowClosed(gate, context.df.currentUtcDateTime);
      if (closed) return yield* finish({ state: 'Failed', error: closed });
      if (!gate.open) {
        yield* waitForRelease(context, call, key, listening, gate.until);
        context.df.continueAsNew({ ...input, waitingToStart: true });
        return undefined;
      }

      // 4. MigratingData: roles first (cluster-wide, once, before any schema), then every database.
      const roles = yield* run(call('migrateRoles', key));
      if (!roles.ok) return yield* finish({ state: 'Failed', error: roles.failure.message });
      const late = windowClosed(gate, context.df.currentUtcDateTime);
      if (late) return yield* finish({ state: 'Failed', error: late });
      started = true;
      yield call('startDatabases', { ...key, mode: gate.mode, databases: input.databases, migrationInstanceId: context.df.instanceId });
    }

    // 5. Watch: this execution's one wait (events raised earlier in it are delivered to it).
    const finished = yield* watchOnce(context, call, key, listening);
    if (!finished) {
      context.df.continueAsNew({ ...input, watching: true });
      return undefined;
    }

    // 6. Each migrated database gets its owner, privileges and role settings (a no-op without migrateRoles).
    const migrated = finished.filter((o) => o.state === 'Succeeded').map((o) => o.db);
    if (migrated.length > 0) yield call('applyDatabaseRoles', { ...key, databases: migrated });
    const result = input.failure === undefined ? finalState(finished) : failedWhileRunning(input.failure, finished);
    // 7. Succeeded with a way back (fallbackAfterCutover): the target's changes flow back to the
    // source until the user finalizes or falls back (none: the migration finishes as usual).
    if (result.state === 'Succeeded') {
      const reverse = yield* run(call('beginReverse', { ...key, migrationInstanceId: context.df.instanceId }));
      if (reverse.databases.length > 0) {
        context.df.continueAsNew({ ...input, watching: true, reversing: true });
        return undefined;
      }
    }
    return yield* finish(result);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!started) return yield* finish({ state: 'Failed', error: message });
    // Databases may still run (and hold their slots): a Failed migration never leaves one running.
    // They are asked to stop, as a cancel would, and the watch goes on until every one ended.
    const failure = input.failure ?? message;
    const stopRequests = (input.stopRequests ?? 0) + 1;
    if (stopRequests > MAX_STOP_REQUESTS) {
      return yield* finish({ state: 'Failed', error: `${failure}. The databases could not be watched until they stopped (${message}); finishing drops their replication slots` });
    }
    try {
      yield call('stopDatabases', { ...key, migrationInstanceId: context.df.instanceId, error: failure });
    } catch {
      // Counted as a request: the next watch asks again, up to MAX_STOP_REQUESTS.
    }
    context.df.continueAsNew({ ...input, watching: true, failure, stopRequests });
    return undefined;
  }
};

/**
 * How often a failed migration asks its databases to stop and watches for their end before it
 * ends without them (each request is an activity with the transient retry policy, minutes long;
 * finishMigration drops every slot then as a safety net).
 */
export const MAX_STOP_REQUESTS = 3;

/**
 * Step 3's one wait: the timer (the window's start, or a short poll), a PATCH's update event, or a
 * cutover or cancel event; the user's events are recorded (or refused) as data before the
 * execution continues as new and asks again.
 */
function* waitForRelease(context: OrchestrationContext, call: Call, key: MigrationKey, listening: Array<['cutover' | 'cancel', Task]>, until: string | undefined): Generator<Task, void, unknown> {
  const now = context.df.currentUtcDateTime.getTime();
  const wanted = until === undefined ? now + GATE_POLL_MS : new Date(until).getTime();
  const timer = context.df.createTimer(new Date(Math.min(Math.max(wanted, now), now + GATE_MAX_WAIT_MS)));
  const update = context.df.waitForExternalEvent(EVENTS.update);
  const cutover = context.df.waitForExternalEvent(EVENTS.cutover);
  const cancel = context.df.waitForExternalEvent(EVENTS.cancel);
  listening.push(['cutover', cutover], ['cancel', cancel]);
  const woke = yield context.df.Task.any([timer, update, cutover, cancel]);
  if (woke !== timer) timer.cancel();
  for (const [control, event] of listening) {
    if (event.isCompleted) yield call('recordControl', { ...key, control, request: event.result ?? null });
  }
}

/**
 * One wait for a database to finish, a user's cutover or cancel, or the timer; the user's events
 * are recorded (or refused) as data. Returns the databases' outcomes once all have finished.
 */
function* watchOnce(context: OrchestrationContext, call: Call, key: MigrationKey, listening: Array<['cutover' | 'cancel', Task]>): Generator<Task, DatabaseOutcome[] | undefined, unknown> {
  const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + WATCH_MS));
  const cutover = context.df.waitForExternalEvent(EVENTS.cutover);
  const cancel = context.df.waitForExternalEvent(EVENTS.cancel);
  listening.push(['cutover', cutover], ['cancel', cancel]);
  const dbFinished = context.df.waitForExternalEvent(EVENTS.databaseFinished);
  const woke = yield context.df.Task.any([timer, cutover, cancel, dbFinished]);
  if (woke !== timer) timer.cancel();
  const status = yield* run(call('watchDatabases', { ...key, migrationInstanceId: context.df.instanceId }));
  // Events that arrived by now, during the wait or the activity, are recorded before this execution ends.
  for (const [control, event] of listening) {
    if (event.isCompleted) yield call('recordControl', { ...key, control, request: event.result ?? null });
  }
  return status.finished ? status.outcomes : undefined;
}

/**
 * The fallback window, one wait per execution: a reverse stream's end, a fall back or finalize
 * event (recorded as the PATCH would record it, or refused), or the timer; then the window's state
 * from the rows. Once every stream ended, the window finishes (nothing left, credentials deleted).
 */
function* watchReverseOnce(context: OrchestrationContext, call: Call, input: MigrationInput): Generator<Task, MigrationResult | undefined, unknown> {
  const key = { server: input.server, name: input.name };
  const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + WATCH_MS));
  const fallback = context.df.waitForExternalEvent(EVENTS.fallback);
  const finalize = context.df.waitForExternalEvent(EVENTS.finalize);
  const ended = context.df.waitForExternalEvent(EVENTS.databaseFinished);
  const woke = yield context.df.Task.any([timer, fallback, finalize, ended]);
  if (woke !== timer) timer.cancel();
  for (const [control, event] of [['fallback', fallback], ['finalize', finalize]] as const) {
    if (event.isCompleted) yield call('recordFallbackControl', { ...key, control, request: event.result ?? null });
  }
  const status = yield* run(call('watchReverse', { ...key, migrationInstanceId: context.df.instanceId }));
  if (!status.finished) {
    context.df.continueAsNew(input);
    return undefined;
  }
  yield call('finishReverse', key);
  return { state: 'Succeeded' };
}

/** Why no copy may start at `now`: the window's end has passed (null when it has not, or there is none). */
export function windowClosed(gate: { migrationWindowEndTimeInUtc?: string }, now: Date): string | null {
  const end = gate.migrationWindowEndTimeInUtc;
  if (!end || new Date(end).getTime() > now.getTime()) return null;
  return `The migration window ended at ${end} (now ${now.toISOString()}), so no data was copied. Create a new migration with migrationWindowEndTimeInUtc in the future, or without a window`;
}

/**
 * Any failed database fails the migration (as Azure's service ends it: Failed, with each
 * database's own state; the healthy ones were still cut over); otherwise one database done makes
 * it Succeeded; else Canceled.
 */
export function finalState(outcomes: readonly DatabaseOutcome[]): MigrationResult {
  const failed = outcomes.filter((o) => o.state === 'Failed');
  if (failed.length > 0) {
    const what = failed.map((o) => `${o.db}: ${o.error ?? 'failed'}`).join('; ');
    return { state: 'Failed', error: `${what}${othersOf(outcomes)}`, databases: [...outcomes] };
  }
  if (outcomes.some((o) => o.state === 'Succeeded')) return { state: 'Succeeded', databases: [...outcomes] };
  return { state: 'Canceled', databases: [...outcomes] };
}

/** The migration failed while its databases ran; they have all ended now. */
export function failedWhileRunning(failure: string, outcomes: readonly DatabaseOutcome[]): MigrationResult {
  const failed = outcomes.filter((o) => o.state === 'Failed').map((o) => `${o.db}: ${o.error ?? 'failed'}`);
  return { state: 'Failed', error: `${failure}${failed.length > 0 ? `; ${failed.join('; ')}` : ''}${othersOf(outcomes)}`, databases: [...outcomes] };
}

/** Which databases did not fail, so the final error says what did succeed (or was canceled). */
function othersOf(outcomes: readonly DatabaseOutcome[]): string {
  const of = (state: DatabaseOutcome['state']) => outcomes.filter((o) => o.state === state).map((o) => o.db);
  const parts = [['Succeeded', of('Succeeded')], ['Canceled', of('Canceled')]] as const;
  return parts.filter(([, dbs]) => dbs.length > 0).map(([state, dbs]) => `. ${state}: ${dbs.join(', ')}`).join('');
}

df.app.orchestration(ORCHESTRATORS.migration, migrationOrchestrator);
