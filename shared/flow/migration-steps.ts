/**
 * Migration-level activities: state transitions, prerequisites, validation, user requests and the
 * final bookkeeping. Each is idempotent: Durable may run an activity again after a crash.
 */
import type { MigrationState, MigrationSubState } from '../model/states';
import { isTerminal } from '../model/states';
import { testConnection } from '../pg/test-connection';
import { hostPort } from '../pg/endpoint';
import { updateMigration } from '../store/migrations';
import { listDatabases, updateDatabase } from '../store/databases';
import { saveValidation } from '../store/validation';
import { deleteSecrets } from '../secrets/store';
import { validateMigration } from '../validate/run';
import type { Control, DatabaseKey, MigrationKey, Result, ValidationSummary } from './contracts';
import { endpointsOf } from './endpoints';
import { dropAllSlots } from './database-steps';
import type { Runtime } from './runtime';

const nowIso = () => new Date().toISOString();

export async function setMigrationState(rt: Runtime, i: MigrationKey & { state: MigrationState; subState: MigrationSubState }): Promise<null> {
  await updateMigration(rt.store, i.server, i.name, (m) => (isTerminal(m.state) ? undefined : { ...m, state: i.state, subState: i.subState }));
  return null;
}

/**
 * Both servers answer with the stored credentials. Transient failures throw (Durable retries);
 * a wrong password or host fails the migration at once with the reason and the fix.
 */
export async function checkPrerequisites(rt: Runtime, key: MigrationKey): Promise<Result<null>> {
  const { source, target } = await endpointsOf(rt, key);
  const timeoutMs = rt.settings.connectTimeoutMs;
  const [s, t] = await Promise.all([testConnection(source, { timeoutMs }), testConnection(target, { timeoutMs })]);
  for (const [side, r, e] of [['source', s, source], ['target', t, target]] as const) {
    if (r.ok) continue;
    if (r.retryable) throw new Error(`${side} ${hostPort(e)}: ${r.message}`);
    return { ok: false, failure: { message: `Cannot connect to the ${side} server: ${r.message} Fix: ${r.fix}`, context: { side, kind: r.kind } } };
  }
  return { ok: true, value: null };
}

export async function runValidation(rt: Runtime, key: MigrationKey): Promise<Result<ValidationSummary>> {
  const { record, source, target } = await endpointsOf(rt, key);
  const out = await validateMigration({
    source, target, databases: record.dbsToMigrate, mode: record.migrationMode,
    overwriteDbsInTarget: record.overwriteDbsInTarget, timeoutMs: rt.settings.connectTimeoutMs,
  });
  const d = out.details;
  const itemsState = (items: Array<{ state: 'Succeeded' | 'Warning' | 'Failed' }>) =>
    items.some((i) => i.state === 'Failed') ? 'Failed' : items.some((i) => i.state === 'Warning') ? 'Warning' : 'Succeeded';
  await saveValidation(rt.store, key, {
    server: { state: itemsState(d.serverLevelValidationDetails), startedOn: d.validationStartTimeInUtc, endedOn: d.validationEndTimeInUtc, items: JSON.parse(JSON.stringify(d.serverLevelValidationDetails)) },
    databases: d.dbLevelValidationDetails.map((db) => ({
      databaseName: db.databaseName, state: itemsState(db.summary), startedOn: db.startedOn, endedOn: db.endedOn,
      items: JSON.parse(JSON.stringify(db.summary)),
    })),
  });
  if (out.plugin) {
    const plugin = out.plugin;
    await Promise.all(record.dbsToMigrate.map((db) => updateDatabase(rt.store, key, db, (r) => ({ ...r, plugin })).catch(() => undefined)));
  }
  return { ok: true, value: { status: d.status } };
}

/** A cutover or cancel that arrived as an event on the orchestration is stored like a PATCH. */
export async function recordControl(rt: Runtime, i: MigrationKey & { control: Exclude<Control, 'none'>; request: unknown }): Promise<null> {
  const requested = dbsOf(i.request);
  const at = nowIso();
  await updateMigration(rt.store, i.server, i.name, (m) => {
    if (isTerminal(m.state)) return undefined;
    if (i.control === 'cutover') return { ...m, cutoverRequestedAt: m.cutoverRequestedAt ?? at, dbsToTriggerCutoverOn: requested ?? m.dbsToMigrate };
    return { ...m, cancelRequestedAt: m.cancelRequestedAt ?? at, dbsToCancelMigrationOn: requested ?? m.dbsToMigrate };
  });
  return null;
}

function dbsOf(request: unknown): string[] | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const dbs = (request as { dbs?: unknown }).dbs;
  return Array.isArray(dbs) && dbs.every((d) => typeof d === 'string') && dbs.length > 0 ? (dbs as string[]) : undefined;
}

/** A database caught up: it waits for cutover; when every running database does, so does the migration. */
export async function markCaughtUp(rt: Runtime, key: DatabaseKey): Promise<null> {
  await updateDatabase(rt.store, key, key.db, (r) => ({ ...r, migrationState: 'WaitingForCutoverTrigger', migrationOperation: 'Replicating changes; waiting for cutover' }));
  const dbs = await listDatabases(rt.store, key);
  const running = dbs.filter((d) => d.migrationState !== 'Succeeded' && d.migrationState !== 'Failed' && d.migrationState !== 'Canceled');
  if (running.length > 0 && running.every((d) => d.migrationState === 'WaitingForCutoverTrigger')) {
    await updateMigration(rt.store, key.server, key.name, (m) =>
      m.state === 'InProgress' ? { ...m, state: 'WaitingForUserAction', subState: 'WaitingForCutoverTrigger' } : undefined);
  }
  return null;
}

/** Final state, end time; credentials are deleted once nothing will connect again. */
export async function finishMigration(rt: Runtime, i: MigrationKey & { state: MigrationState; error?: string }): Promise<null> {
  await updateMigration(rt.store, i.server, i.name, (m) => {
    if (isTerminal(m.state)) return undefined;
    const next = { ...m, state: i.state, subState: 'Completed' as const, endedOn: nowIso() };
    return i.error ? { ...next, error: i.error } : next;
  });
  // Safety net: whatever path ended the migration, the source keeps no slot or publication of ours.
  await dropAllSlots(rt, i).catch(() => undefined);
  await deleteSecrets(rt.store, i.server, i.name);
  return null;
}
