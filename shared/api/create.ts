/**
 * A new migration from a parsed PUT: secrets sealed first, then its row and its databases' rows,
 * then its orchestration (input: keys and choices only, never secrets).
 */
import { randomUUID } from 'node:crypto';
import { RequestValidationError } from '../model/errors';
import type { MigrationRequest } from '../model/migration-request';
import { createMigration as insertMigration, updateMigration, type MigrationRecord } from '../store/migrations';
import { newDatabaseRecord, upsertDatabase } from '../store/databases';
import { AlreadyExistsError } from '../store/errors';
import { putSecrets } from '../secrets/store';
import { migrationInstanceId } from '../steps/names';
import type { ServiceContext } from './context';
import { ApiError, conflict } from './errors';
import { secretKeys } from './update';

export async function createMigration(ctx: ServiceContext, server: string, name: string, req: MigrationRequest): Promise<MigrationRecord> {
  const p = req.properties;
  if (p.cancel) {
    // Only an existing migration can be canceled (a PUT on its name, a PATCH, or DELETE).
    throw RequestValidationError.from([{ path: ['properties', 'cancel'], message: 'is "True" in the request that creates the migration', fix: 'Leave cancel out (or "False") when creating a migration; cancel it later with PATCH {"properties": {"cancel": "True"}}.' }]);
  }
  const keys = secretKeys(ctx);
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
    dbsToMigrate: p.dbsToMigrate,
    overwriteDbsInTarget: p.overwriteDbsInTarget,
    migrateRoles: p.migrateRoles,
    setupLogicalReplicationOnSourceDbIfNeeded: p.setupLogicalReplicationOnSourceDbIfNeeded,
    startDataMigration: p.startDataMigration,
    createdAt: now,
    startedOn: now,
    instanceId,
    ...(p.targetDbServerFullyQualifiedDomainName ? { targetDbServerFullyQualifiedDomainName: p.targetDbServerFullyQualifiedDomainName } : {}),
    ...(p.sourceDbServerResourceId ? { sourceDbServerResourceId: p.sourceDbServerResourceId } : {}),
    ...(p.sourceDbServerFullyQualifiedDomainName ? { sourceDbServerFullyQualifiedDomainName: p.sourceDbServerFullyQualifiedDomainName } : {}),
    ...(p.migrationWindowStartTimeInUtc ? { migrationWindowStartTimeInUtc: p.migrationWindowStartTimeInUtc } : {}),
    ...(p.migrationWindowEndTimeInUtc ? { migrationWindowEndTimeInUtc: p.migrationWindowEndTimeInUtc } : {}),
    ...(p.migrationInstanceResourceId ? { migrationInstanceResourceId: p.migrationInstanceResourceId } : {}),
    ...(req.location ? { location: req.location } : {}),
    ...(req.tags ? { tags: req.tags } : {}),
    ...(p.triggerCutover ? { cutoverRequestedAt: now, ...(p.dbsToTriggerCutoverOn ? { dbsToTriggerCutoverOn: p.dbsToTriggerCutoverOn } : {}) } : {}),
    ...(p.fallbackAfterCutover ? { fallback: { enabled: true } } : {}),
  };
  // Secrets first: a migration row without its credentials would fail at the first connect.
  await putSecrets(ctx.store, server, name, {
    sourcePassword: p.secretParameters.adminCredentials.sourceServerPassword,
    targetPassword: p.secretParameters.adminCredentials.targetServerPassword,
  }, keys);
  try {
    await insertMigration(ctx.store, rec);
  } catch (err) {
    if (err instanceof AlreadyExistsError) {
      throw conflict('MigrationNameAlreadyExists', `A migration named ${name} was created on server ${server} by another request meanwhile; send the PUT again to update it`);
    }
    throw err;
  }
  await Promise.all(rec.dbsToMigrate.map((db) => upsertDatabase(ctx.store, { server, name }, newDatabaseRecord(db))));
  try {
    await ctx.orchestration.startMigration(instanceId, { server, name, option: rec.migrationOption, databases: rec.dbsToMigrate });
  } catch (err) {
    const message = `could not start the orchestration: ${err instanceof Error ? err.message : String(err)}`;
    await updateMigration(ctx.store, server, name, (r) => ({ ...r, state: 'Failed', subState: 'Completed', error: message, endedOn: ctx.now().toISOString() }));
    throw new ApiError(503, 'OrchestrationUnavailable', message);
  }
  return rec;
}
