/**
 * The migration API behind the HTTP routes (DESIGN.md "HTTP API"): create, read, list, cutover,
 * cancel and delete, on Table Storage state. Requests are parsed by shared/model (400 naming the
 * field); conflicts and missing resources are ApiErrors; passwords go only to shared/secrets.
 */
import { randomUUID } from 'node:crypto';
import { parseMigrationName, parseServerName } from '../model/names';
import { parseMigrationRequest } from '../model/migration-request';
import { actionDatabases, checkPatchAgainst, parseMigrationPatch } from '../model/migration-patch';
import { RequestValidationError, unwrap } from '../model/errors';
import type { MigrationResource } from '../model/migration-resource';
import type { ListFilter } from '../model/states';
import { isTerminal } from '../model/states';
import { cutoverDecision } from '../model/failed-databases';
import { createMigration, getMigration, listMigrations, updateMigration, type MigrationRecord } from '../store/migrations';
import { listDatabases, newDatabaseRecord, upsertDatabase } from '../store/databases';
import { loadValidation } from '../store/validation';
import { deleteMigration } from '../store/purge';
import { AlreadyExistsError } from '../store/errors';
import { deleteSecrets, getSecrets, putSecrets } from '../secrets/store';
import { cdcInstanceId, EVENTS, migrationInstanceId } from '../steps/names';
import type { ServiceContext } from './context';
import { ApiError, conflict, notFound } from './errors';
import { toResource } from './resource';
import { deleteInFallbackWindow, patchFallback } from './fallback';

function names(server: string, name: string): { server: string; name: string } {
  return { server: unwrap(parseServerName(server)), name: unwrap(parseMigrationName(name)) };
}

export async function readResource(ctx: ServiceContext, rec: MigrationRecord): Promise<MigrationResource> {
  const ref = { server: rec.server, name: rec.name };
  const [dbs, validation] = await Promise.all([listDatabases(ctx.store, ref), loadValidation(ctx.store, ref)]);
  const order = new Map(rec.dbsToMigrate.map((d, i) => [d, i]));
  const byOrder = <T extends { databaseName: string }>(a: T, b: T) => (order.get(a.databaseName) ?? 0) - (order.get(b.databaseName) ?? 0);
  return toResource(rec, [...dbs].sort(byOrder), { ...validation, databases: [...validation.databases].sort(byOrder) });
}

/** PUT …/migrations/{name}: 201 with the resource; 409 when the name is taken on this target. */
export async function createMigrationResource(ctx: ServiceContext, serverParam: string, nameParam: string, body: unknown): Promise<MigrationResource> {
  const { server, name } = names(serverParam, nameParam);
  const req = unwrap(parseMigrationRequest(body, { maxDatabases: ctx.settings.maxDatabases }));
  if (!ctx.settings.secretKey) {
    throw new ApiError(503, 'ServiceNotConfigured', 'PGFERRY_SECRET_KEY is not set, so passwords cannot be stored safely; set it (base64 of 32 random bytes, e.g. `openssl rand -base64 32`) and retry');
  }
  const p = req.properties;
  const now = ctx.now().toISOString();
  const instanceId = migrationInstanceId(server, name);
  const rec: MigrationRecord = {
    server,
    name,
    migrationId: randomUUID(),
    state: 'InProgress',
    subState: 'PerformingPreRequisiteSteps',
    migrationMode: p.migrationMode,
    migrationOption: p.migrationOption,
    sourceType: p.sourceType,
    sslMode: p.sslMode,
    source: { host: req.source.host, port: req.source.port, user: req.source.user },
    target: { host: req.target.host, port: req.target.port, user: req.target.user },
    targetDbServerFullyQualifiedDomainName: p.targetDbServerFullyQualifiedDomainName,
    dbsToMigrate: p.dbsToMigrate,
    overwriteDbsInTarget: p.overwriteDbsInTarget,
    migrateRoles: p.migrateRoles,
    setupLogicalReplicationOnSourceDbIfNeeded: p.setupLogicalReplicationOnSourceDbIfNeeded,
    startDataMigration: p.startDataMigration,
    createdAt: now,
    startedOn: now,
    instanceId,
    ...(p.sourceDbServerResourceId ? { sourceDbServerResourceId: p.sourceDbServerResourceId } : {}),
    ...(p.sourceDbServerFullyQualifiedDomainName ? { sourceDbServerFullyQualifiedDomainName: p.sourceDbServerFullyQualifiedDomainName } : {}),
    ...(p.migrationWindowStartTimeInUtc ? { migrationWindowStartTimeInUtc: p.migrationWindowStartTimeInUtc } : {}),
    ...(p.migrationWindowEndTimeInUtc ? { migrationWindowEndTimeInUtc: p.migrationWindowEndTimeInUtc } : {}),
    ...(req.location ? { location: req.location } : {}),
    ...(req.tags ? { tags: req.tags } : {}),
    ...(p.triggerCutover ? { cutoverRequestedAt: now, ...(p.dbsToTriggerCutoverOn ? { dbsToTriggerCutoverOn: p.dbsToTriggerCutoverOn } : {}) } : {}),
    ...(p.fallbackAfterCutover ? { fallback: { enabled: true } } : {}),
  };
  // Secrets first: a migration row without its credentials would fail at the first connect.
  await putSecrets(ctx.store, server, name, {
    sourcePassword: p.secretParameters.adminCredentials.sourceServerPassword,
    targetPassword: p.secretParameters.adminCredentials.targetServerPassword,
  }, { current: ctx.settings.secretKey, ...(ctx.keys.previous ? { previous: ctx.keys.previous } : {}) });
  try {
    await createMigration(ctx.store, rec);
  } catch (err) {
    if (err instanceof AlreadyExistsError) {
      throw conflict('MigrationNameAlreadyExists', `A migration named ${name} already exists on server ${server}; choose another name (names are unique per target server)`);
    }
    throw err;
  }
  await Promise.all(rec.dbsToMigrate.map((db) => upsertDatabase(ctx.store, { server, name }, newDatabaseRecord(db))));
  try {
    await ctx.orchestration.startMigration(instanceId, {
      server, name, mode: rec.migrationMode, option: rec.migrationOption, databases: rec.dbsToMigrate,
      ...(rec.migrationWindowStartTimeInUtc ? { migrationWindowStartTimeInUtc: rec.migrationWindowStartTimeInUtc } : {}),
      ...(rec.migrationWindowEndTimeInUtc ? { migrationWindowEndTimeInUtc: rec.migrationWindowEndTimeInUtc } : {}),
    });
  } catch (err) {
    const message = `could not start the orchestration: ${err instanceof Error ? err.message : String(err)}`;
    await updateMigration(ctx.store, server, name, (r) => ({ ...r, state: 'Failed', subState: 'Completed', error: message, endedOn: ctx.now().toISOString() }));
    throw new ApiError(503, 'OrchestrationUnavailable', message);
  }
  return readResource(ctx, rec);
}

export async function getMigrationResource(ctx: ServiceContext, serverParam: string, nameParam: string): Promise<MigrationResource> {
  const { server, name } = names(serverParam, nameParam);
  const found = await getMigration(ctx.store, server, name);
  if (!found) throw notFound(`Migration ${name} on server ${server}`);
  return readResource(ctx, found.record);
}

/** GET …/migrations?migrationListFilter=Active|All, newest start first. */
export async function listMigrationResources(ctx: ServiceContext, serverParam: string, filterParam: string | null): Promise<{ value: MigrationResource[] }> {
  const server = unwrap(parseServerName(serverParam));
  const filter = parseFilter(filterParam);
  const records = await listMigrations(ctx.store, server, filter);
  return { value: await Promise.all(records.map((r) => readResource(ctx, r))) };
}

export function parseFilter(raw: string | null): ListFilter {
  if (raw === null || raw === '') return 'Active';
  const f = raw.toLowerCase();
  if (f === 'active') return 'Active';
  if (f === 'all') return 'All';
  throw RequestValidationError.from([{ path: ['migrationListFilter'], message: `is "${raw.slice(0, 40)}"; it must be Active or All`, fix: 'Use ?migrationListFilter=Active (default) or ?migrationListFilter=All.' }]);
}

const CANCELABLE = new Set(['InProgress', 'WaitingForUserAction']);

/** PATCH …/migrations/{name}: triggerCutover, cancel, or field updates. */
export async function patchMigrationResource(ctx: ServiceContext, serverParam: string, nameParam: string, body: unknown): Promise<MigrationResource> {
  const { server, name } = names(serverParam, nameParam);
  const fallback = await patchFallback(ctx, server, name, body, readResource);
  if (fallback) return fallback;
  const patch = unwrap(parseMigrationPatch(body, { maxDatabases: ctx.settings.maxDatabases }));
  const found = await getMigration(ctx.store, server, name);
  if (!found) throw notFound(`Migration ${name} on server ${server}`);
  const issues = checkPatchAgainst(found.record.dbsToMigrate, patch, found.record.migrationMode);
  if (issues.length > 0) throw RequestValidationError.from(issues);
  const now = ctx.now().toISOString();
  const dbs = actionDatabases(found.record.dbsToMigrate, patch);

  if (patch.action === 'triggerCutover') {
    const decision = cutoverDecision(found.record, await listDatabases(ctx.store, { server, name }), dbs);
    if (!decision.ok) {
      // Retrying only helps a migration that still runs: one that ended can never be cut over.
      const next = isTerminal(found.record.state)
        ? `It has ended ${found.record.state}, so there is nothing to cut over; create a new migration to copy again`
        : 'Watch latency and retry when it is ready';
      throw conflict('CutoverNotAllowed', `Migration ${name}: ${decision.reason}. ${next}`);
    }
    const updated = await updateMigration(ctx.store, server, name, (m) => ({ ...m, cutoverRequestedAt: m.cutoverRequestedAt ?? now, dbsToTriggerCutoverOn: dbs }));
    await wake(ctx, updated.record, EVENTS.cutover, { dbs });
    return readResource(ctx, updated.record);
  }
  if (patch.action === 'cancel') {
    const updated = await requestCancel(ctx, found.record, dbs, now);
    return readResource(ctx, updated);
  }
  const p = patch.properties;
  const creds = p.secretParameters?.adminCredentials;
  if (creds?.sourceServerPassword || creds?.targetServerPassword) {
    if (!ctx.settings.secretKey) throw new ApiError(503, 'ServiceNotConfigured', 'PGFERRY_SECRET_KEY is not set');
    const keys = { current: ctx.settings.secretKey, ...(ctx.keys.previous ? { previous: ctx.keys.previous } : {}) };
    const old = await getSecrets(ctx.store, server, name, keys);
    await putSecrets(ctx.store, server, name, {
      sourcePassword: creds.sourceServerPassword ?? old.sourcePassword,
      targetPassword: creds.targetServerPassword ?? old.targetPassword,
    }, keys);
  }
  const updated = await updateMigration(ctx.store, server, name, (m) => ({
    ...m,
    ...(p.overwriteDbsInTarget !== undefined ? { overwriteDbsInTarget: p.overwriteDbsInTarget } : {}),
    ...(p.migrateRoles !== undefined ? { migrateRoles: p.migrateRoles } : {}),
    ...(patch.tags ? { tags: patch.tags } : {}),
  }));
  return readResource(ctx, updated.record);
}

async function requestCancel(ctx: ServiceContext, rec: MigrationRecord, dbs: string[], now: string): Promise<MigrationRecord> {
  if (!CANCELABLE.has(rec.state)) {
    throw conflict('CancelNotAllowed', `Cancel is possible while a migration is InProgress or WaitingForUserAction; migration ${rec.name} is ${rec.state}`);
  }
  const updated = await updateMigration(ctx.store, rec.server, rec.name, (m) => ({ ...m, cancelRequestedAt: m.cancelRequestedAt ?? now, dbsToCancelMigrationOn: dbs }));
  await wake(ctx, updated.record, EVENTS.cancel, { dbs });
  return updated.record;
}

/** DELETE: cancels an active migration (200 + resource); removes a finished one (204, undefined). */
export async function deleteMigrationResource(ctx: ServiceContext, serverParam: string, nameParam: string): Promise<MigrationResource | undefined> {
  const { server, name } = names(serverParam, nameParam);
  const found = await getMigration(ctx.store, server, name);
  if (!found) throw notFound(`Migration ${name} on server ${server}`);
  const finalizing = await deleteInFallbackWindow(ctx, found.record, readResource);
  if (finalizing) return finalizing;
  if (isTerminal(found.record.state)) {
    await deleteSecrets(ctx.store, server, name);
    await deleteMigration(ctx.store, server, name);
    return undefined;
  }
  const updated = await requestCancel(ctx, found.record, found.record.dbsToMigrate, ctx.now().toISOString());
  return readResource(ctx, updated);
}

/**
 * Events only wake waiting orchestrations early: the request itself is already stored, which is
 * what the workflow reads. CDC loops get the event too, so an idle one reacts at once.
 */
async function wake(ctx: ServiceContext, rec: MigrationRecord, event: string, data: { dbs: string[] }): Promise<void> {
  // `recorded` tells the migration's orchestration the request is stored already (nothing to record).
  const payload = { ...data, recorded: true };
  const targets = [rec.instanceId, ...rec.dbsToMigrate.map((_, i) => cdcInstanceId(rec.instanceId, i))];
  await Promise.all(targets.map((id) => ctx.orchestration.raiseEvent(id, event, payload).catch(() => undefined)));
}

/** POST …/checkMigrationNameAvailability */
export async function checkNameAvailability(ctx: ServiceContext, serverParam: string, body: unknown): Promise<{ name: string; type: string; nameAvailable: boolean; reason?: 'Invalid' | 'AlreadyExists'; message?: string }> {
  const server = unwrap(parseServerName(serverParam));
  const type = 'Microsoft.DBforPostgreSQL/flexibleServers/migrations';
  const raw = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const nameValue = Object.entries(raw).find(([k]) => k.toLowerCase() === 'name')?.[1];
  if (typeof nameValue !== 'string') {
    throw RequestValidationError.from([{ path: ['name'], message: 'is missing', fix: 'Send {"name": "<migration name>", "type": "Microsoft.DBforPostgreSQL/flexibleServers/migrations"}.' }]);
  }
  const parsed = parseMigrationName(nameValue);
  if (!parsed.ok) {
    return { name: nameValue, type, nameAvailable: false, reason: 'Invalid', message: parsed.error.details[0]?.message ?? parsed.error.message };
  }
  const existing = await getMigration(ctx.store, server, parsed.value);
  if (existing) {
    return { name: parsed.value, type, nameAvailable: false, reason: 'AlreadyExists', message: `A migration named ${parsed.value} already exists on server ${server}` };
  }
  return { name: parsed.value, type, nameAvailable: true };
}
