/**
 * Migration-level activities: state transitions, prerequisites, validation, user requests and the
 * final bookkeeping. Each is idempotent: Durable may run an activity again after a crash.
 */
import type { MigrationState, MigrationSubState } from '../model/states';
import { isTerminal } from '../model/states';
import { cutoverDecision, stateWhenCaughtUp } from '../model/failed-databases';
import { testConnection } from '../pg/test-connection';
import { hostPort } from '../pg/endpoint';
import { getMigration, updateMigration } from '../store/migrations';
import { listDatabases, updateDatabase } from '../store/databases';
import { saveValidation } from '../store/validation';
import { deleteSecrets } from '../secrets/store';
import { validateMigration } from '../validate/run';
import { withPair } from '../pg/connect';
import { isRetryable, sqlstateOf } from '../pg/retryable';
import * as roles from '../roles';
import type { Control, DatabaseKey, MigrationKey, Result, RolesSummary, ValidationSummary } from './contracts';
import { endpointsOf } from './endpoints';
import { dropAllSlots, slotOf } from './slot';
import { dropReverse, reverseSlotOf } from './reverse-slot';
import { nowIso } from './record';
import { controlFor } from './control';
import { unionOf } from '../model/requests';
import type { Runtime } from './runtime';


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
    overwriteDbsInTarget: record.overwriteDbsInTarget, migrateRoles: record.migrateRoles, decoder: rt.decoder, timeoutMs: rt.settings.connectTimeoutMs,
    fallbackAfterCutover: record.fallback?.enabled === true, targetServerName: key.server,
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

/**
 * migrateRoles: the source's roles on the target, before any schema (ownership and grants need
 * them). Once per migration; a no-op unless the migration asks for it (read at run time, so a
 * PATCH of migrateRoles before the data migration starts counts). The per-role report goes to
 * Table Storage; history gets counts only.
 */
export async function migrateRoles(rt: Runtime, key: MigrationKey): Promise<Result<RolesSummary>> {
  const { record, source, target } = await endpointsOf(rt, key);
  if (!record.migrateRoles) return { ok: true, value: { skipped: true, created: 0, existing: 0, reserved: 0, warnings: 0 } };
  const timeoutMs = rt.settings.connectTimeoutMs;
  let out: Awaited<ReturnType<typeof roles.migrateRoles>>;
  try {
    out = await withPair(source, target, timeoutMs, roles.migrateRoles);
  } catch (err) {
    // Lost connections, and another session creating the same role meanwhile: a re-run converges.
    if (isRetryable(err) || ['42710', '23505'].includes(sqlstateOf(err) ?? '')) throw err;
    const code = sqlstateOf(err);
    return { ok: false, failure: { message: `Role migration failed: ${err instanceof Error ? err.message : String(err)}`, context: { phase: 'roles', ...(code ? { sqlstate: code } : {}) } } };
  }
  await roles.saveRolesItem(rt.store, key, out.item);
  if (out.fatal) return { ok: false, failure: { message: out.fatal, context: { phase: 'roles', code: '603116' } } };
  return { ok: true, value: { skipped: false, ...out.summary } };
}

/**
 * After the databases are created: each one's owner, privileges and role settings (ALTER ROLE …
 * IN DATABASE), reported in that database's validation scope. Problems are reported, never fatal.
 */
export async function applyDatabaseRoles(rt: Runtime, i: MigrationKey & { databases: string[] }): Promise<null> {
  const { record, source, target } = await endpointsOf(rt, i);
  if (!record.migrateRoles || i.databases.length === 0) return null;
  const items = await withPair(source, target, rt.settings.connectTimeoutMs, async (s, t) => {
    const out: Array<[string, roles.RolesItem]> = [];
    for (const db of i.databases) {
      try {
        out.push([db, await roles.applyDatabaseRoles({ source: s, target: t, db })]);
      } catch (err) {
        if (isRetryable(err)) throw err;
        // The data is there: a privilege that cannot be read or set is reported, never fatal.
        const message = `Database ${db}: its owner, privileges and role settings could not be applied: ${err instanceof Error ? err.message : String(err)}`;
        out.push([db, { type: 'RolesMigration', state: 'Warning', messages: [{ state: 'Warning', code: roles.ROLE_CODES.databaseFailed, message, fix: 'Apply them by hand (see the source: \\l+ and \\drds in psql)' }] }]);
      }
    }
    return out;
  });
  for (const [db, item] of items) await roles.saveRolesItem(rt.store, i, item, db);
  return null;
}

/**
 * A cutover or cancel that arrived as an event on the migration's orchestration (e.g. `az rest …
 * raiseEvent/cutover`) obeys the rule of the PATCH that asks the same: a cutover only once every
 * database waits for it (WaitingForUserAction), a cancel while the migration runs. Accepted, it is
 * stored as the PATCH would store it; refused, the refusal and its reason are on the resource
 * (properties.rejectedRequest). Events the API raised itself only wake the orchestration.
 */
export async function recordControl(rt: Runtime, i: MigrationKey & { control: Exclude<Control, 'none'>; request: unknown }): Promise<null> {
  if (isObject(i.request) && i.request.recorded === true) return null;
  const at = nowIso();
  const dbs = i.control === 'cutover' ? await listDatabases(rt.store, i) : [];
  await updateMigration(rt.store, i.server, i.name, (m) => {
    if (isTerminal(m.state)) return undefined;
    const refuse = (why: string) => ({ ...m, rejectedRequest: `${i.control} raised as an event at ${at} was refused: ${why}`, rejectedRequestAt: at });
    const requested = dbsOf(i.request);
    const unknown = (requested ?? []).filter((db) => !m.dbsToMigrate.includes(db));
    if (unknown.length > 0) return refuse(`${unknown.map((d) => JSON.stringify(d)).join(', ')} not in dbsToMigrate; send {"dbs": [names from dbsToMigrate]} or no data for all`);
    const dbsOfRequest = requested ?? m.dbsToMigrate;
    if (i.control === 'cutover') {
      // Already asked for every database it names: nothing new.
      if (m.cutoverRequestedAt && dbsOfRequest.every((db) => controlFor(m, db) === 'cutover')) return undefined;
      const decision = cutoverDecision(m, dbs, dbsOfRequest);
      if (!decision.ok) return refuse(`${decision.reason}. Raise it again when it is ready`);
      return { ...m, cutoverRequestedAt: m.cutoverRequestedAt ?? at, dbsToTriggerCutoverOn: unionOf(m.dbsToTriggerCutoverOn, m.cutoverRequestedAt !== undefined, m.dbsToMigrate, dbsOfRequest) };
    }
    if (m.cancelRequestedAt && dbsOfRequest.every((db) => controlFor(m, db) === 'cancel')) return undefined;
    if (m.state !== 'InProgress' && m.state !== 'WaitingForUserAction') return refuse(`cancel is possible while the migration is InProgress or WaitingForUserAction; it is ${m.state}`);
    return { ...m, cancelRequestedAt: m.cancelRequestedAt ?? at, dbsToCancelMigrationOn: unionOf(m.dbsToCancelMigrationOn, m.cancelRequestedAt !== undefined, m.dbsToMigrate, dbsOfRequest) };
  });
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function dbsOf(request: unknown): string[] | undefined {
  if (!isObject(request)) return undefined;
  const dbs = request.dbs;
  return Array.isArray(dbs) && dbs.every((d) => typeof d === 'string') && dbs.length > 0 ? (dbs as string[]) : undefined;
}

/**
 * A database caught up: it waits for cutover; when every running database does, so does the
 * migration — WaitingForUserAction, or InProgress / WaitingForCutoverTrigger while a database has
 * failed (never "ready" then: shared/model/failed-databases.ts).
 */
export async function markCaughtUp(rt: Runtime, key: DatabaseKey): Promise<null> {
  await updateDatabase(rt.store, key, key.db, (r) => ({ ...r, migrationState: 'WaitingForCutoverTrigger', migrationOperation: 'Replicating changes; waiting for cutover' }));
  const dbs = await listDatabases(rt.store, key);
  await updateMigration(rt.store, key.server, key.name, (m) => {
    const next = stateWhenCaughtUp(m, dbs);
    return next ? { ...m, ...next } : undefined;
  });
  return null;
}

/**
 * A database ended (cut over, failed or canceled) while others still run: once each of those waits
 * for cutover and none is being cut over, the migration waits for the user again, so cutting over
 * or canceling some databases leaves the others ready to cut over (the same rule as markCaughtUp).
 */
export async function databaseEnded(rt: Runtime, key: MigrationKey): Promise<void> {
  const dbs = await listDatabases(rt.store, key);
  await updateMigration(rt.store, key.server, key.name, (m) => {
    const cuttingOver = dbs.some((d) => !['Succeeded', 'Failed', 'Canceled'].includes(d.migrationState) && controlFor(m, d.databaseName) === 'cutover');
    const next = cuttingOver ? undefined : stateWhenCaughtUp(m, dbs);
    return next && (next.state !== m.state || next.subState !== m.subState) ? { ...m, ...next } : undefined;
  });
}

/** Final state, end time; credentials are deleted once nothing will connect again. */
export async function finishMigration(rt: Runtime, i: MigrationKey & { state: MigrationState; error?: string }): Promise<null> {
  // Databases that never got to finish (the migration failed or was canceled before or around
  // them) take the migration's end, so dbDetails never shows InProgress on a finished migration.
  // (A Validate-only migration that Succeeded leaves its databases Succeeded: validated, nothing to copy.)
  const dbState = i.state === 'Succeeded' ? 'Succeeded' as const : i.state === 'Canceled' ? 'Canceled' as const : 'Failed' as const;
  {
    const dbs = await listDatabases(rt.store, i);
    await Promise.all(dbs.filter((d) => d.migrationState === 'InProgress' || d.migrationState === 'WaitingForCutoverTrigger' || d.migrationState === 'Canceling')
      .map((d) => updateDatabase(rt.store, i, d.databaseName, (r) => ({
        ...r, migrationState: dbState, endedOn: r.endedOn ?? nowIso(), migrationOperation: i.state === 'Succeeded' ? 'Validated' : i.state,
        ...(i.error && !r.message ? { message: i.error } : {}),
      }))));
  }
  // The migration's end last: whoever reads it finished reads finished databases too.
  await updateMigration(rt.store, i.server, i.name, (m) => {
    if (isTerminal(m.state)) return undefined;
    const next = { ...m, state: i.state, subState: 'Completed' as const, endedOn: nowIso() };
    return i.error ? { ...next, error: i.error } : next;
  });
  // Safety net: whatever path ended the migration, the source keeps no slot or publication of ours.
  // When the source cannot be reached even now, the error says which slots to drop by hand.
  await dropAllSlots(rt, i).catch(async (err: unknown) => {
    const record = await getMigration(rt.store, i.server, i.name);
    const slots = (record?.record.dbsToMigrate ?? []).map((db) => `SELECT pg_drop_replication_slot('${slotOf({ ...i, db })}');`).join(' ');
    const note = `Could not drop pgferry's replication slots on the source (${err instanceof Error ? err.message : String(err)}); they retain WAL until dropped: ${slots}`;
    await updateMigration(rt.store, i.server, i.name, (m) => ({ ...m, error: m.error ? `${m.error}. ${note}` : note }));
  });
  // Nor the target a reverse slot (fallbackAfterCutover), whatever made the migration end.
  await dropReverse(rt, i, `the migration ended ${i.state}`).catch(async (err: unknown) => {
    const record = await getMigration(rt.store, i.server, i.name);
    const slots = (record?.record.dbsToMigrate ?? []).map((db) => `SELECT pg_drop_replication_slot('${reverseSlotOf({ ...i, db })}');`).join(' ');
    const note = `Could not remove the way back on the target (${err instanceof Error ? err.message : String(err)}); drop these slots on the target by hand: ${slots}`;
    await updateMigration(rt.store, i.server, i.name, (m) => ({ ...m, error: m.error ? `${m.error}. ${note}` : note }));
  });
  await deleteSecrets(rt.store, i.server, i.name);
  return null;
}
