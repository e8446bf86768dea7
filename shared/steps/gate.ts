/**
 * Step 3 of a migration: what holds its data migration back, as ARM's waiting substates (in ARM's
 * order), each released by the PATCH that changes the property it waits on:
 *
 *   WaitingForTargetDBOverwriteConfirmation  overwriteDbsInTarget is False and a database to migrate
 *                                            exists on the target, not empty (PATCH overwriteDbsInTarget
 *                                            "True", or drop the database there)
 *   WaitingForDataMigrationScheduling        startDataMigration is False (PATCH startDataMigration "True")
 *   WaitingForDataMigrationWindow            migrationWindowStartTimeInUtc is ahead (a durable timer;
 *                                            PATCH it to start sooner or later)
 *
 * Before any of them, a cancel asked before data moved ends the databases it names at once (all of
 * them: the migration ends Canceled). Every answer carries the window's end, which the orchestrator
 * holds against its own clock.
 * When nothing holds it back, the migration becomes MigratingData in the same write that read its
 * row, so a PATCH lands either before the decision (and counts) or after it (and is refused:
 * the data migration has started).
 */
import { withClient } from '../pg/connect';
import { onDatabase } from '../pg/endpoint';
import { databaseExists, isDatabaseEmpty } from '../pg/databases';
import { isRetryable } from '../pg/retryable';
import { updateMigration, type MigrationRecord } from '../store/migrations';
import { listDatabases, updateDatabase } from '../store/databases';
import { isTerminal } from '../model/states';
import type { DataMigrationGate, MigrationKey, WaitingSubState } from './contracts';
import { endpointsOf } from './endpoints';
import { nowIso } from './record';
import type { Runtime } from './runtime';

/** The databases a stored cancel names (all of them when it names none); empty without a cancel. */
export function canceledDatabases(m: Pick<MigrationRecord, 'cancelRequestedAt' | 'dbsToCancelMigrationOn' | 'dbsToMigrate'>): string[] {
  if (!m.cancelRequestedAt) return [];
  return m.dbsToCancelMigrationOn && m.dbsToCancelMigrationOn.length > 0 ? [...m.dbsToCancelMigrationOn] : [...m.dbsToMigrate];
}

/** The decision on a migration's row, pure: `occupied` are the databases that exist, not empty, on the target. */
export function gateDecision(m: MigrationRecord, occupied: readonly string[], now: Date): DataMigrationGate {
  if (isTerminal(m.state)) return { open: false, end: m.state === 'Canceled' ? 'Canceled' : 'Failed', error: `the migration has already ended ${m.state}` };
  const canceled = new Set(canceledDatabases(m));
  const remaining = m.dbsToMigrate.filter((db) => !canceled.has(db));
  if (remaining.length === 0) return { open: false, end: 'Canceled' };
  const end = m.migrationWindowEndTimeInUtc ? { migrationWindowEndTimeInUtc: m.migrationWindowEndTimeInUtc } : {};
  const waiting = (waitingFor: WaitingSubState, until?: string): DataMigrationGate => ({ open: false, waitingFor, ...(until ? { until } : {}), ...end });
  if (!m.overwriteDbsInTarget && remaining.some((db) => occupied.includes(db))) return waiting('WaitingForTargetDBOverwriteConfirmation');
  if (m.startDataMigration === false) return waiting('WaitingForDataMigrationScheduling');
  const start = m.migrationWindowStartTimeInUtc;
  if (start && new Date(start).getTime() > now.getTime()) return waiting('WaitingForDataMigrationWindow', start);
  return { open: true, mode: m.migrationMode, ...end };
}

/** The step: reads the target, decides, and stores the substate (or MigratingData) with the decision. */
export async function openDataMigration(rt: Runtime, key: MigrationKey): Promise<DataMigrationGate> {
  const { record, target } = await endpointsOf(rt, key);
  let occupied: string[];
  try {
    occupied = await occupiedOnTarget(rt, target, record.dbsToMigrate);
  } catch (err) {
    if (isRetryable(err)) throw err;
    return { open: false, end: 'Failed', error: `Cannot read the target's databases: ${err instanceof Error ? err.message : String(err)}` };
  }
  // A user who sees the substate also sees which databases it waits on: the rows are marked before
  // the substate is stored when the row read now predicts that wait, and put back if a PATCH that
  // landed in between changed the decision.
  const predicted = gateDecision(record, occupied, new Date());
  const marked = 'waitingFor' in predicted && predicted.waitingFor === 'WaitingForTargetDBOverwriteConfirmation'
    ? await markOccupied(rt, key, occupied.filter((db) => !canceledDatabases(record).includes(db)))
    : new Map<string, string | undefined>();
  let decision: DataMigrationGate | undefined;
  let canceledNow: string[] = [];
  await updateMigration(rt.store, key.server, key.name, (m) => {
    decision = gateDecision(m, occupied, new Date());
    canceledNow = canceledDatabases(m);
    if (decision.open) return { ...m, state: 'InProgress', subState: 'MigratingData' };
    if ('waitingFor' in decision) return m.subState === decision.waitingFor ? undefined : { ...m, state: 'InProgress', subState: decision.waitingFor };
    return undefined;
  });
  // Databases a cancel named before their start end now: none of them ever held a slot.
  await endCanceled(rt, key, canceledNow);
  if (decision && 'waitingFor' in decision && decision.waitingFor === 'WaitingForTargetDBOverwriteConfirmation') {
    await markOccupied(rt, key, occupied.filter((db) => !canceledNow.includes(db)));
  } else {
    await unmark(rt, key, marked);
  }
  // The decision was taken inside the write: its row is the one that was stored.
  return decision ?? { open: false, end: 'Failed', error: 'the migration row could not be read' };
}

/** The databases of `dbs` that exist on the target and hold a relation. */
async function occupiedOnTarget(rt: Runtime, target: Parameters<typeof withClient>[0], dbs: readonly string[]): Promise<string[]> {
  const timeoutMs = rt.settings.connectTimeoutMs;
  const existing = await withClient(target, timeoutMs, async (c) => {
    const found: string[] = [];
    for (const db of dbs) if (await databaseExists(c, db)) found.push(db);
    return found;
  });
  const occupied: string[] = [];
  for (const db of existing) if (!(await withClient(onDatabase(target, db), timeoutMs, isDatabaseEmpty))) occupied.push(db);
  return occupied;
}

async function endCanceled(rt: Runtime, key: MigrationKey, dbs: readonly string[]): Promise<void> {
  if (dbs.length === 0) return;
  const rows = await listDatabases(rt.store, key);
  const running = rows.filter((r) => dbs.includes(r.databaseName) && !['Succeeded', 'Failed', 'Canceled'].includes(r.migrationState));
  await Promise.all(running.map((r) => updateDatabase(rt.store, key, r.databaseName, (d) => ({
    ...d, migrationState: 'Canceled', endedOn: d.endedOn ?? nowIso(), migrationOperation: 'Canceled before its data migration started',
  }))));
}

const OVERWRITE_WAIT = 'Waiting for overwrite confirmation: the database exists on the target and is not empty';

/** Marks each database as waiting for the overwrite confirmation; answers what each showed before a change. */
async function markOccupied(rt: Runtime, key: MigrationKey, dbs: readonly string[]): Promise<Map<string, string | undefined>> {
  const before = new Map<string, string | undefined>();
  await Promise.all(dbs.map((db) => updateDatabase(rt.store, key, db, (d) => {
    if (d.migrationOperation === OVERWRITE_WAIT) return undefined;
    before.set(db, d.migrationOperation);
    return { ...d, migrationOperation: OVERWRITE_WAIT };
  })));
  return before;
}

/** Puts back what `markOccupied` changed, where the mark is still what the row shows. */
async function unmark(rt: Runtime, key: MigrationKey, before: ReadonlyMap<string, string | undefined>): Promise<void> {
  await Promise.all([...before].map(([db, operation]) => updateDatabase(rt.store, key, db, (d) => (
    d.migrationOperation === OVERWRITE_WAIT ? { ...d, migrationOperation: operation } : undefined))));
}
