/**
 * A migration of several databases in which some fail (docs/api.md "When a database fails"), as
 * Azure's migration service treats it: each database keeps its own migrationState, a Failed one
 * never holds back or fails the others, and the migration ends Failed once every database ended
 * (research/arm-migration-api.md §3). While it runs:
 *   - it is never WaitingForUserAction ("ready for cutover") with a database Failed: state stays
 *     InProgress, its substate says what the healthy databases do (MigratingData, or
 *     WaitingForCutoverTrigger once each of them waits);
 *   - currentStatus.error names every failed database with its error, from the moment it failed;
 *   - cutover is allowed once every database still running waits for it; failed ones are skipped.
 * One rule for the resource, the PATCH, the cutover event and the activities that store states.
 */
import type { DbMigrationState, MigrationState, MigrationSubState } from './states';
import { isTerminal } from './states';

/** What these rules read of a database (a stored row or a dbDetails entry). */
export interface DatabaseState {
  databaseName: string;
  migrationState: DbMigrationState;
  message?: string | undefined;
}

/** What a migration shows: ARM's currentStatus without the details. */
export interface MigrationStatusLine {
  state: MigrationState;
  subState: MigrationSubState;
  error?: string | undefined;
}

const ENDED: ReadonlySet<DbMigrationState> = new Set(['Succeeded', 'Failed', 'Canceled']);

export function failedDatabases<T extends DatabaseState>(dbs: readonly T[]): T[] {
  return dbs.filter((d) => d.migrationState === 'Failed');
}

/** Databases that have not ended (neither Succeeded, Failed nor Canceled). */
export function runningDatabases<T extends DatabaseState>(dbs: readonly T[]): T[] {
  return dbs.filter((d) => !ENDED.has(d.migrationState));
}

/** Every database still running waits for cutover (and there is one). */
export function allRunningWaitForCutover(dbs: readonly DatabaseState[]): boolean {
  const running = runningDatabases(dbs);
  return running.length > 0 && running.every((d) => d.migrationState === 'WaitingForCutoverTrigger');
}

/**
 * The migration-level error while databases have failed and the migration runs on: which failed
 * and why, and what the user can still do. Undefined when none failed.
 */
export function failureNotice(dbs: readonly DatabaseState[]): string | undefined {
  const failed = failedDatabases(dbs);
  if (failed.length === 0) return undefined;
  const what = failed.map((d) => `database ${d.databaseName} failed: ${d.message ?? 'no reason was recorded'}`).join('; ');
  const running = runningDatabases(dbs).map((d) => d.databaseName);
  const next = running.length === 0
    ? 'The migration ends Failed.'
    : `The migration will end Failed; the other databases (${running.join(', ')}) keep running: cut them over once each is WaitingForCutoverTrigger (triggerCutover skips failed databases), or cancel.`;
  return `${what.charAt(0).toUpperCase()}${what.slice(1)}. ${next}`;
}

/**
 * The status users see, from the stored one and the databases: a running migration with a failed
 * database is InProgress (never WaitingForUserAction) and its error names the failed databases.
 * This holds even between the moment a database's row turns Failed and the moment the migration's
 * own row is updated. A finished migration shows what it stored.
 */
export function presentedStatus(m: MigrationStatusLine, dbs: readonly DatabaseState[]): MigrationStatusLine {
  if (isTerminal(m.state)) return m;
  const notice = failureNotice(dbs);
  if (!notice) return m;
  const state = m.state === 'WaitingForUserAction' ? 'InProgress' : m.state;
  // The substate from the rows too: the healthy databases may all wait before the migration's row says so.
  const waiting = stateWhenCaughtUp({ ...m, state }, dbs);
  return { state, subState: waiting?.subState ?? m.subState, error: notice };
}

/** The state a database that caught up leaves the migration in (undefined: unchanged). */
export function stateWhenCaughtUp(m: MigrationStatusLine, dbs: readonly DatabaseState[]): Pick<MigrationStatusLine, 'state' | 'subState'> | undefined {
  if (m.state !== 'InProgress' || !allRunningWaitForCutover(dbs)) return undefined;
  // With a failed database the healthy ones wait for cutover, but the migration is not "ready".
  if (failedDatabases(dbs).length > 0) return { state: 'InProgress', subState: 'WaitingForCutoverTrigger' };
  return { state: 'WaitingForUserAction', subState: 'WaitingForCutoverTrigger' };
}

export type CutoverDecision = { ok: true } | { ok: false; reason: string };

/**
 * Whether a cutover of `requested` (names from dbsToMigrate) may start now: while the migration
 * runs, once every database still running waits for it. Failed databases are skipped, but a
 * request that names only failed ones has nothing to cut over.
 */
export function cutoverDecision(m: MigrationStatusLine, dbs: readonly DatabaseState[], requested: readonly string[]): CutoverDecision {
  const shown = presentedStatus(m, dbs);
  const notReady = `cutover is possible once every database waits for it (state WaitingForUserAction / WaitingForCutoverTrigger); the migration is ${shown.state} / ${shown.subState}`;
  if (isTerminal(m.state) || m.subState === 'CompletingMigration') return { ok: false, reason: notReady };
  const failed = failedDatabases(dbs).map((d) => d.databaseName);
  if (failed.length === 0) return m.state === 'WaitingForUserAction' ? { ok: true } : { ok: false, reason: notReady };
  if (!allRunningWaitForCutover(dbs)) return { ok: false, reason: `${notReady}; failed: ${failed.join(', ')}` };
  const running = new Set(runningDatabases(dbs).map((d) => d.databaseName));
  if (!requested.some((db) => running.has(db))) {
    return { ok: false, reason: `nothing to cut over: ${requested.join(', ')} ${requested.length === 1 ? 'is' : 'are'} not running (failed: ${failed.join(', ')}); name databases that wait for cutover (${[...running].join(', ')})` };
  }
  return { ok: true };
}
