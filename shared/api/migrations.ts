/**
 * The migration API behind the HTTP routes (DESIGN.md "HTTP API"): create-or-update (PUT), read,
 * list, update and act (PATCH), cancel or delete (DELETE), on Table Storage state. Requests are
 * parsed by shared/model (400 naming the field); conflicts and missing resources are ApiErrors;
 * passwords go only to shared/secrets.
 */
import { parseMigrationName, parseServerName } from '../model/names';
import { parseMigrationRequest } from '../model/migration-request';
import { checkPatchAgainst, parseMigrationPatch } from '../model/migration-patch';
import { RequestValidationError, unwrap } from '../model/errors';
import type { MigrationResource } from '../model/migration-resource';
import type { ListFilter } from '../model/states';
import { isTerminal } from '../model/states';
import { getMigration, listMigrations, type MigrationRecord } from '../store/migrations';
import { listDatabases } from '../store/databases';
import { loadValidation } from '../store/validation';
import { deleteMigration } from '../store/purge';
import { deleteSecrets, getSecrets } from '../secrets/store';
import type { ServiceContext } from './context';
import { conflict, notFound } from './errors';
import { toResource } from './resource';
import { requestCancel } from './actions';
import { changesOfPatch, changesOfPut } from './changes';
import { createMigration } from './create';
import { applyChanges, secretKeys } from './update';
import { deleteInFallbackWindow, patchFallback } from './fallback';

function names(server: string, name: string): { server: string; name: string } {
  return { server: unwrap(parseServerName(server)), name: unwrap(parseMigrationName(name)) };
}

export async function readResource(ctx: ServiceContext, rec: MigrationRecord): Promise<MigrationResource> {
  const ref = { server: rec.server, name: rec.name };
  const [dbs, validation] = await Promise.all([listDatabases(ctx.store, ref), loadValidation(ctx.store, ref)]);
  const order = new Map(rec.dbsToMigrate.map((d, i) => [d, i]));
  const byOrder = <T extends { databaseName: string }>(a: T, b: T) => (order.get(a.databaseName) ?? 0) - (order.get(b.databaseName) ?? 0);
  return toResource(rec, [...dbs].sort(byOrder), { ...validation, databases: [...validation.databases].sort(byOrder) }, ctx.settings.arm);
}

/**
 * PUT …/migrations/{name}, ARM's create-or-update: a new name creates the migration (201); an
 * existing one is updated by the same rules as a PATCH (200), and a change of a property fixed at
 * creation is a 409 naming it. A migration that ended is not changed by a PUT.
 */
export async function putMigrationResource(ctx: ServiceContext, serverParam: string, nameParam: string, body: unknown): Promise<{ created: boolean; resource: MigrationResource }> {
  const { server, name } = names(serverParam, nameParam);
  const req = unwrap(parseMigrationRequest(body, { maxDatabases: ctx.settings.maxDatabases, target: { server, ...ctx.settings.target } }));
  const found = await getMigration(ctx.store, server, name);
  if (!found) return { created: true, resource: await readResource(ctx, await createMigration(ctx, server, name, req)) };
  const rec = found.record;
  if (isTerminal(rec.state)) {
    throw conflict('MigrationNameAlreadyExists', `A migration named ${name} already exists on server ${server} and has ended ${rec.state}; a PUT cannot change it. DELETE it first to use the name again, choose another name, or PATCH its tags`);
  }
  const stored = await getSecrets(ctx.store, server, name, secretKeys(ctx));
  const changes = changesOfPut(req, rec, { source: stored.sourcePassword, target: stored.targetPassword });
  return { created: false, resource: await readResource(ctx, await applyChanges(ctx, rec, changes)) };
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

/** PATCH …/migrations/{name}: triggerCutover, cancel, or field updates (shared/api/updates.ts). */
export async function patchMigrationResource(ctx: ServiceContext, serverParam: string, nameParam: string, body: unknown): Promise<MigrationResource> {
  const { server, name } = names(serverParam, nameParam);
  const fallback = await patchFallback(ctx, server, name, body, readResource);
  if (fallback) return fallback;
  const patch = unwrap(parseMigrationPatch(body, { maxDatabases: ctx.settings.maxDatabases }));
  const found = await getMigration(ctx.store, server, name);
  if (!found) throw notFound(`Migration ${name} on server ${server}`);
  const issues = checkPatchAgainst(found.record.dbsToMigrate, patch, found.record.migrationMode);
  if (issues.length > 0) throw RequestValidationError.from(issues);
  return readResource(ctx, await applyChanges(ctx, found.record, changesOfPatch(patch)));
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
