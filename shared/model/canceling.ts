/**
 * A cancel takes a moment to land: each database it names stops at its next step and drops its
 * slot. Meanwhile the resource says so, in ARM's words: those databases are `Canceling`, and the
 * migration is InProgress / CancelingRequestedDBMigrations until the last of them has ended
 * (then it shows what the other databases do, or its end). Derived from the rows, like
 * presentedStatus, so no poll sees a requested cancel as if nothing happened.
 */
import type { DatabaseState, MigrationStatusLine } from './failed-databases';
import { isTerminal } from './states';

/** What a migration row says of a cancel. */
export interface CancelRequest {
  cancelRequestedAt?: string | undefined;
  /** Absent: every database. */
  dbsToCancelMigrationOn?: string[] | undefined;
}

const ENDED: ReadonlySet<string> = new Set(['Succeeded', 'Failed', 'Canceled']);

/** The databases a stored cancel names that have not ended yet. */
export function cancelingDatabases(m: CancelRequest & { state: MigrationStatusLine['state'] }, dbs: readonly DatabaseState[]): string[] {
  if (!m.cancelRequestedAt || isTerminal(m.state)) return [];
  const named = m.dbsToCancelMigrationOn;
  return dbs.filter((d) => !ENDED.has(d.migrationState) && (named === undefined || named.includes(d.databaseName))).map((d) => d.databaseName);
}

/** `shown` while canceled databases are still stopping: InProgress / CancelingRequestedDBMigrations. */
export function withCanceling(shown: MigrationStatusLine, canceling: readonly string[]): MigrationStatusLine {
  if (canceling.length === 0 || isTerminal(shown.state)) return shown;
  return { ...shown, state: 'InProgress', subState: 'CancelingRequestedDBMigrations' };
}
