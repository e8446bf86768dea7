/**
 * The migration's databases as separate orchestrations: started once by an activity (so the
 * migration's orchestration never yields their tasks, and can wait for user events in between),
 * watched through their rows in Table Storage and, for a crash that left no row behind, through
 * their orchestration status.
 */
import { listDatabases } from '../store/databases';
import { EVENTS, ORCHESTRATORS, databaseInstanceId } from './names';
import type { DatabaseInput, DatabaseOutcome, DatabasesStatus, MigrationKey } from './contracts';
import type { MigrationMode } from '../model/states';
import { loadMigration } from './endpoints';
import type { OrchestrationPort } from './port';
import type { Runtime } from './runtime';

/**
 * Starts each database's orchestration once per run: an instance of this run (running or done,
 * e.g. when this activity is delivered again) is left alone; one of an earlier run of the same
 * migration name is replaced.
 */
export async function startDatabases(rt: Runtime, i: MigrationKey & { mode: MigrationMode; databases: string[]; migrationInstanceId: string }, port: OrchestrationPort): Promise<null> {
  const runId = (await loadMigration(rt, i)).migrationId;
  for (const [index, db] of i.databases.entries()) {
    const id = databaseInstanceId(i.migrationInstanceId, index);
    const existing = await port.status(id);
    if (existing && (runOf(existing.input) === runId || ['Pending', 'Running', 'ContinuedAsNew'].includes(existing.runtimeStatus))) continue;
    const input: DatabaseInput = { server: i.server, name: i.name, db, mode: i.mode, index, migrationInstanceId: i.migrationInstanceId, runId };
    await port.start(ORCHESTRATORS.database, id, input);
  }
  return null;
}

function runOf(input: unknown): string | undefined {
  return typeof input === 'object' && input !== null && typeof (input as { runId?: unknown }).runId === 'string' ? (input as { runId: string }).runId : undefined;
}

export async function watchDatabases(rt: Runtime, i: MigrationKey & { migrationInstanceId: string }, port: OrchestrationPort): Promise<DatabasesStatus> {
  const rows = new Map((await listDatabases(rt.store, i)).map((r) => [r.databaseName, r]));
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
