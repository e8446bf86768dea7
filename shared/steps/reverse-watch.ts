/**
 * The migration's side of a fallback window: it begins once every database ended and the migration
 * Succeeded with reverse slots (Succeeded / ReplicatingToSource; the reverse streams are started by
 * an activity, like the databases), the watch keeps the substate in step with the streams, user
 * events obey the PATCH's rules, and the end leaves nothing behind and deletes the credentials.
 */
import { deleteSecrets } from '../secrets/store';
import { isTerminal } from '../model/states';
import { REVERSE_ENDED, fallbackDecision, finalWindowSubState, inFallbackWindow, windowSubState, withRequest } from '../model/fallback';
import { listDatabases, type DatabaseRecord } from '../store/databases';
import { updateMigration } from '../store/migrations';
import { ORCHESTRATORS, reverseInstanceId } from './names';
import type { MigrationKey, ReverseLoopState, ReverseStatus } from './contracts';
import { loadMigration } from './endpoints';
import { nowIso } from './record';
import { dropReverse } from './reverse-slot';
import { dropAllSlots } from './slot';
import type { OrchestrationPort } from './port';
import type { Runtime } from './runtime';

const running = (d: DatabaseRecord) => d.migrationState === 'Succeeded' && d.reverse !== undefined && !REVERSE_ENDED.has(d.reverse.state);

/**
 * The migration Succeeded: when it keeps a way back, it shows Succeeded / ReplicatingToSource and
 * each database with a reverse slot gets its reverse stream (started once per run). Returns those
 * databases; none means the migration finishes as usual.
 */
export async function beginReverse(rt: Runtime, i: MigrationKey & { migrationInstanceId: string }, port: OrchestrationPort): Promise<{ databases: string[] }> {
  const m = await loadMigration(rt, i);
  if (!m.fallback?.enabled) return { databases: [] };
  const dbs = (await listDatabases(rt.store, i)).filter(running).map((d) => d.databaseName);
  if (dbs.length === 0) return { databases: [] };
  // A database that did not complete its cutover keeps nothing of the way back.
  const others = m.dbsToMigrate.filter((db) => !dbs.includes(db));
  if (others.length > 0) await dropReverse(rt, i, 'the database did not complete its cutover', others);
  await updateMigration(rt.store, i.server, i.name, (r) => (isTerminal(r.state) ? undefined : { ...r, state: 'Succeeded', subState: 'ReplicatingToSource', endedOn: nowIso() }));
  // As finishMigration's safety net: the source keeps no forward slot of ours.
  await dropAllSlots(rt, i);
  for (const db of dbs) {
    const index = m.dbsToMigrate.indexOf(db);
    const id = reverseInstanceId(i.migrationInstanceId, index);
    const existing = await port.status(id);
    const runOf = (existing?.input as { runId?: unknown } | undefined)?.runId;
    if (existing && (runOf === m.migrationId || ['Pending', 'Running', 'ContinuedAsNew'].includes(existing.runtimeStatus))) continue;
    const input: ReverseLoopState = { server: i.server, name: i.name, db, migrationInstanceId: i.migrationInstanceId, runId: m.migrationId };
    await port.start(ORCHESTRATORS.reverse, id, input);
  }
  return { databases: dbs };
}

/**
 * The window's state from the databases' rows: the substate follows the streams, and a stream whose
 * orchestration ended without writing its row (it crashed past its own handling) is closed here.
 */
export async function watchReverse(rt: Runtime, i: MigrationKey & { migrationInstanceId: string }, port: OrchestrationPort): Promise<ReverseStatus> {
  const m = await loadMigration(rt, i);
  let rows = await listDatabases(rt.store, i);
  const lost: string[] = [];
  for (const d of rows.filter(running)) {
    const status = await port.status(reverseInstanceId(i.migrationInstanceId, m.dbsToMigrate.indexOf(d.databaseName)));
    if (status && ['Completed', 'Failed', 'Terminated', 'Canceled'].includes(status.runtimeStatus)) lost.push(d.databaseName);
  }
  if (lost.length > 0) {
    await dropReverse(rt, i, 'the reverse stream\'s orchestration ended without closing it; the way back was removed', lost);
    rows = await listDatabases(rt.store, i);
  }
  const subState = windowSubState(rows);
  await updateMigration(rt.store, i.server, i.name, (r) => (inFallbackWindow(r) && r.subState !== subState ? { ...r, subState } : undefined));
  return { finished: !rows.some(running) };
}

/**
 * A fall back or finalize raised as an event (`az rest … raiseEvent/fallback`) obeys the PATCH's
 * rule: accepted, it is stored as the PATCH stores it; refused, the refusal is on the resource.
 * Events the API raised itself only wake the orchestration.
 */
export async function recordFallbackControl(rt: Runtime, i: MigrationKey & { control: 'fallback' | 'finalize'; request: unknown }): Promise<null> {
  if (typeof i.request === 'object' && i.request !== null && (i.request as { recorded?: unknown }).recorded === true) return null;
  const at = nowIso();
  const dbs = await listDatabases(rt.store, i);
  await updateMigration(rt.store, i.server, i.name, (m) => {
    const decision = fallbackDecision(m, dbs, i.control);
    if (!decision.ok) return { ...m, rejectedRequest: `${i.control} raised as an event at ${at} was refused: ${decision.reason}`, rejectedRequestAt: at };
    return m.fallback ? { ...m, fallback: withRequest(m.fallback, i.control, at) } : undefined;
  });
  return null;
}

/**
 * Every reverse stream ended: the final substate (FellBackToSource when a database fell back, else
 * Completed), how long the fall back took, why the way back closed if it did; then the safety net
 * (nothing of pgferry left on either server) and the credentials deleted.
 */
export async function finishReverse(rt: Runtime, i: MigrationKey): Promise<null> {
  const rows = await listDatabases(rt.store, i);
  const subState = finalWindowSubState(rows);
  const fellBack = rows.filter((d) => d.reverse?.state === 'FellBack');
  const failed = rows.filter((d) => d.reverse?.state === 'Failed').map((d) => `${d.databaseName}: ${d.reverse?.message ?? 'the way back closed'}`);
  const completedAt = fellBack.map((d) => d.reverse?.endedOn ?? '').sort().pop();
  await dropReverse(rt, i, 'the fallback window ended');
  await updateMigration(rt.store, i.server, i.name, (m) => {
    if (!inFallbackWindow(m) || !m.fallback) return undefined;
    const fb = { ...m.fallback };
    if (completedAt && fb.fallbackRequestedAt) {
      fb.completedAt = completedAt;
      fb.seconds = Math.max(0, Math.round((Date.parse(completedAt) - Date.parse(fb.fallbackRequestedAt)) / 1000));
      delete fb.error;
    }
    if (failed.length > 0) fb.error = failed.join('; ');
    return { ...m, subState, fallback: fb };
  });
  await deleteSecrets(rt.store, i.server, i.name);
  return null;
}
