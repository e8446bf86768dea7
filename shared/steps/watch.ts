/**
 * The migration's databases as separate orchestrations: started once by an activity (so the
 * migration's orchestration never yields their tasks, and can wait for user events in between),
 * watched through their rows in Table Storage and, for a crash that left no row behind, through
 * their orchestration status.
 */
import { listDatabases, type DatabaseRecord } from '../store/databases';
import { updateMigration } from '../store/migrations';
import { EVENTS, ORCHESTRATORS, cdcInstanceId, databaseInstanceId } from './names';
import type { DatabaseInput, DatabaseOutcome, DatabasesStatus, MigrationKey } from './contracts';
import { isTerminal, type MigrationMode } from '../model/states';
import { presentedStatus, runningDatabases } from '../model/failed-databases';
import { loadMigration } from './endpoints';
import { nowIso } from './record';
import type { OrchestrationPort } from './port';
import type { Runtime } from './runtime';

/**
 * Starts each database's orchestration once per run: an instance of this run (running or done,
 * e.g. when this activity is delivered again) is left alone; one of an earlier run of the same
 * migration name is replaced. A database that already ended (canceled before the data migration
 * started) is not started.
 */
export async function startDatabases(rt: Runtime, i: MigrationKey & { mode: MigrationMode; databases: string[]; migrationInstanceId: string }, port: OrchestrationPort): Promise<null> {
  const runId = (await loadMigration(rt, i)).migrationId;
  const ended = new Set((await listDatabases(rt.store, i)).filter((r) => ENDED_STATES.has(r.migrationState)).map((r) => r.databaseName));
  for (const [index, db] of i.databases.entries()) {
    if (ended.has(db)) continue;
    const id = databaseInstanceId(i.migrationInstanceId, index);
    const existing = await port.status(id);
    if (existing && (runOf(existing.input) === runId || ['Pending', 'Running', 'ContinuedAsNew'].includes(existing.runtimeStatus))) continue;
    const input: DatabaseInput = { server: i.server, name: i.name, db, mode: i.mode, index, migrationInstanceId: i.migrationInstanceId, runId };
    await port.start(ORCHESTRATORS.database, id, input);
  }
  return null;
}

const ENDED_STATES: ReadonlySet<string> = new Set(['Succeeded', 'Failed', 'Canceled']);

function runOf(input: unknown): string | undefined {
  return typeof input === 'object' && input !== null && typeof (input as { runId?: unknown }).runId === 'string' ? (input as { runId: string }).runId : undefined;
}

export async function watchDatabases(rt: Runtime, i: MigrationKey & { migrationInstanceId: string }, port: OrchestrationPort): Promise<DatabasesStatus> {
  const list = await listDatabases(rt.store, i);
  await recordFailedDatabases(rt, i, list);
  const rows = new Map(list.map((r) => [r.databaseName, r]));
  const { dbsToMigrate, migrationId } = await loadMigration(rt, i);
  const outcomes: DatabaseOutcome[] = [];
  for (const [index, db] of dbsToMigrate.entries()) {
    const row = rows.get(db);
    const state = row?.migrationState;
    if (state === 'Succeeded' || state === 'Failed' || state === 'Canceled') {
      outcomes.push({ db, state, ...(state === 'Failed' && row?.message ? { error: row.message } : {}) });
      continue;
    }
    // A database orchestration that ended without writing its row (it crashed past its own handling).
    const found = await port.status(databaseInstanceId(i.migrationInstanceId, index));
    // An instance of an earlier run under this name says nothing about this run's database.
    const status = found && runOf(found.input) === migrationId ? found : undefined;
    // One that completed with its outcome but could not write its row (its clean-up kept failing).
    const output = status?.runtimeStatus === 'Completed' ? outcomeOf(status.output, db) : undefined;
    if (output) {
      outcomes.push(output);
      continue;
    }
    if (status && ['Failed', 'Terminated', 'Canceled'].includes(status.runtimeStatus)) {
      outcomes.push({ db, state: 'Failed', error: `the orchestration of ${db} ended ${status.runtimeStatus}: ${String(status.output ?? 'no reason given')}` });
      continue;
    }
    return { finished: false, outcomes: [] };
  }
  return { finished: true, outcomes };
}

export async function databaseFinished(_rt: Runtime, i: MigrationKey & { migrationInstanceId: string; db: string }, port: OrchestrationPort): Promise<null> {
  await port.raiseEvent(i.migrationInstanceId, EVENTS.databaseFinished, { db: i.db });
  return null;
}

function outcomeOf(output: unknown, db: string): DatabaseOutcome | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const o = output as { state?: unknown; error?: unknown };
  if (o.state !== 'Succeeded' && o.state !== 'Failed' && o.state !== 'Canceled') return undefined;
  return { db, state: o.state, ...(typeof o.error === 'string' ? { error: o.error } : {}) };
}

/**
 * A database that failed while the others run shows on the migration's own row too: never
 * WaitingForUserAction, and an error naming it (the resource shows the same from the rows alone,
 * shared/model/failed-databases.ts; this makes the stored row say it as well).
 */
async function recordFailedDatabases(rt: Runtime, key: MigrationKey, dbs: readonly DatabaseRecord[]): Promise<void> {
  if (!dbs.some((d) => d.migrationState === 'Failed')) return;
  await updateMigration(rt.store, key.server, key.name, (m) => {
    const shown = presentedStatus(m, dbs);
    if (shown.state === m.state && shown.subState === m.subState && shown.error === m.error) return undefined;
    return { ...m, state: shown.state, subState: shown.subState, ...(shown.error ? { error: shown.error } : {}) };
  });
}

/**
 * The migration itself failed (an activity of its watch failed for good) while databases may
 * still run: they are stopped as a cancel would stop them — recorded as data, so each one's own
 * orchestration ends at its next step, drops its slot and records its end — and woken. The
 * migration's orchestration ends Failed only once every database ended.
 */
export async function stopDatabases(rt: Runtime, i: MigrationKey & { migrationInstanceId: string; error: string }, port: OrchestrationPort): Promise<null> {
  const running = runningDatabases(await listDatabases(rt.store, i)).map((d) => d.databaseName);
  const { dbsToMigrate } = await loadMigration(rt, i);
  await updateMigration(rt.store, i.server, i.name, (m) => {
    if (isTerminal(m.state)) return undefined;
    const error = `${i.error}. The migration fails: ${running.length > 0 ? `stopping the databases still running (${running.join(', ')})` : 'no database is running'}`;
    if (running.length === 0) return { ...m, error };
    return { ...m, error, cancelRequestedAt: m.cancelRequestedAt ?? nowIso(), dbsToCancelMigrationOn: [...new Set([...(m.cancelRequestedAt ? m.dbsToCancelMigrationOn ?? dbsToMigrate : []), ...running])] };
  });
  // Only wake-ups: each loop also reads the request from the row at its next step.
  await Promise.all(dbsToMigrate.map((db, index) => running.includes(db)
    ? port.raiseEvent(cdcInstanceId(i.migrationInstanceId, index), EVENTS.cancel, { dbs: [db], recorded: true }).catch(() => undefined)
    : undefined));
  return null;
}
