/**
 * Stored state → the ARM migration resource users see (GET, list, PUT answer). Passwords are
 * never here: ARM's secretParameters are write-only, and the records do not hold them.
 */
import type { CopyProgressSummary } from '../copy/progress';
import type { DatabaseRecord } from '../store/databases';
import type { MigrationRecord } from '../store/migrations';
import type { StoredValidation } from '../store/validation';
import { MIGRATION_RESOURCE_TYPE, type DbMigrationStatus, type MigrationResource, type ValidationDetails } from '../model/migration-resource';
import { toArmFlag } from '../model/flags';
import { presentedStatus } from '../model/failed-databases';
import { cancelingDatabases, withCanceling } from '../model/canceling';
import { DEFAULT_PORT } from '../model/endpoints';
import { migrationResourceId, serverResourceId, type ArmScope } from '../model/arm';
import type { ValidationState } from '../model/states';
import { fallbackProperties, reverseStatus } from './fallback-resource';

/** Database states after which the migration holds no slot on the source. */
const ENDED: ReadonlySet<string> = new Set(['Succeeded', 'Failed', 'Canceled']);

/** One dbDetails entry; `canceling` when a cancel named it and it has not stopped yet. */
export function toDbStatus(d: DatabaseRecord, canceling = false): DbMigrationStatus {
  const s: DbMigrationStatus = {
    databaseName: d.databaseName,
    migrationState: canceling ? 'Canceling' : d.migrationState,
    fullLoadQueuedTables: d.fullLoadQueuedTables,
    fullLoadErroredTables: d.fullLoadErroredTables,
    fullLoadLoadingTables: d.fullLoadLoadingTables,
    fullLoadCompletedTables: d.fullLoadCompletedTables,
    fullLoadTotalTables: d.fullLoadQueuedTables + d.fullLoadErroredTables + d.fullLoadLoadingTables + d.fullLoadCompletedTables,
    fullLoadRowsCopied: d.rowsCopied,
    fullLoadBytesCopied: d.bytesCopied,
    cdcUpdateCounter: d.cdcUpdateCounter,
    cdcDeleteCounter: d.cdcDeleteCounter,
    cdcInsertCounter: d.cdcInsertCounter,
    appliedChanges: d.appliedChanges,
    incomingChanges: d.incomingChanges,
    latency: Math.max(0, Math.round(d.latency)),
  };
  if (d.migrationOperation) s.migrationOperation = d.migrationOperation;
  if (d.startedOn) s.startedOn = d.startedOn;
  if (d.endedOn) s.endedOn = d.endedOn;
  if (d.message) s.message = d.message;
  if (d.plugin) s.decodingPlugin = d.plugin;
  // The slot is dropped when the database ends: its last reading no longer holds anything back.
  if (d.retainedWalBytes !== undefined && !ENDED.has(d.migrationState)) s.retainedWalBytes = Math.max(0, Math.round(d.retainedWalBytes));
  if (d.copyProgress) Object.assign(s, progressFields(d.copyProgress, d.progressAt));
  if (d.reverse) s.reverseReplication = reverseStatus(d.reverse);
  if (d.verifiedAhead !== undefined) s.tablesVerifiedAhead = d.verifiedAhead;
  if (d.verifiedAheadAt) s.tablesVerifiedAheadAt = d.verifiedAheadAt;
  return s;
}

/** The pgferry progress fields beside ARM's counters (docs/api.md, "Copy progress"). */
function progressFields(p: CopyProgressSummary, at: string | undefined): Partial<DbMigrationStatus> {
  const whole = (n: number) => Math.max(0, Math.round(n));
  return {
    fullLoadPercent: Math.min(100, Math.max(0, p.percent)),
    fullLoadEstimatedRows: whole(p.estimatedRows),
    fullLoadEstimatedBytes: whole(p.estimatedBytes),
    fullLoadBytesPerSecond: whole(p.bytesPerSecond),
    ...(p.secondsRemaining !== null ? { fullLoadSecondsRemaining: whole(p.secondsRemaining) } : {}),
    ...(at ? { fullLoadProgressAt: at } : {}),
    fullLoadRunningTables: p.runningTables.map((t) => ({
      schemaName: t.schemaName,
      tableName: t.tableName,
      rowsCopied: whole(t.rowsCopied),
      bytesCopied: whole(t.bytesCopied),
      estimatedRows: whole(t.estimatedRows),
      estimatedBytes: whole(t.estimatedBytes),
      percent: Math.min(100, Math.max(0, t.percent)),
    })),
  };
}

export function toValidationDetails(v: StoredValidation | undefined): ValidationDetails | undefined {
  if (!v || !v.server) return undefined;
  const server = v.server;
  const states: ValidationState[] = [];
  const serverItems = server.items as ValidationDetails['serverLevelValidationDetails'];
  const dbItems = v.databases.map((d) => ({
    databaseName: d.databaseName,
    ...(d.startedOn ? { startedOn: d.startedOn } : {}),
    ...(d.endedOn ? { endedOn: d.endedOn } : {}),
    summary: d.items as ValidationDetails['serverLevelValidationDetails'],
  }));
  for (const i of serverItems) states.push(i.state);
  for (const d of dbItems) for (const i of d.summary) states.push(i.state);
  const status: ValidationState = states.includes('Failed') ? 'Failed' : states.includes('Warning') ? 'Warning' : 'Succeeded';
  return {
    status,
    ...(server.startedOn ? { validationStartTimeInUtc: server.startedOn } : {}),
    ...(server.endedOn ? { validationEndTimeInUtc: server.endedOn } : {}),
    serverLevelValidationDetails: serverItems,
    dbLevelValidationDetails: dbItems,
  };
}

/** The target as the resource names it: the FQDN as given, else the host the route's server resolved to. */
function targetName(m: MigrationRecord): string {
  return m.targetDbServerFullyQualifiedDomainName ?? (m.target.port === DEFAULT_PORT ? m.target.host : `${m.target.host}:${m.target.port}`);
}

export function toResource(m: MigrationRecord, dbs: readonly DatabaseRecord[], validation: StoredValidation | undefined, scope: ArmScope): MigrationResource {
  const canceling = cancelingDatabases(m, dbs);
  const dbDetails: Record<string, DbMigrationStatus> = {};
  for (const d of dbs) dbDetails[d.databaseName] = toDbStatus(d, canceling.includes(d.databaseName));
  const validationDetails = toValidationDetails(validation);
  // A failed database shows on the migration at once, whichever row was written first; so does a cancel.
  const shown = withCanceling(presentedStatus(m, dbs), canceling);
  const p: MigrationResource['properties'] = {
    migrationId: m.migrationId,
    currentStatus: {
      state: shown.state,
      ...(shown.error ? { error: shown.error } : {}),
      currentSubStateDetails: { currentSubState: shown.subState, dbDetails, ...(validationDetails ? { validationDetails } : {}) },
    },
    migrationMode: m.migrationMode,
    migrationOption: m.migrationOption,
    sourceType: m.sourceType,
    sslMode: m.sslMode,
    targetDbServerFullyQualifiedDomainName: targetName(m),
    targetDbServerResourceId: serverResourceId(scope, m.server),
    dbsToMigrate: m.dbsToMigrate,
    overwriteDbsInTarget: toArmFlag(m.overwriteDbsInTarget),
    migrateRoles: toArmFlag(m.migrateRoles),
    triggerCutover: toArmFlag(m.cutoverRequestedAt !== undefined),
    cancel: toArmFlag(m.cancelRequestedAt !== undefined),
    startedOn: m.startedOn,
  };
  if (m.sourceDbServerResourceId) p.sourceDbServerResourceId = m.sourceDbServerResourceId;
  if (m.sourceDbServerFullyQualifiedDomainName) p.sourceDbServerFullyQualifiedDomainName = m.sourceDbServerFullyQualifiedDomainName;
  if (m.setupLogicalReplicationOnSourceDbIfNeeded !== undefined) p.setupLogicalReplicationOnSourceDbIfNeeded = toArmFlag(m.setupLogicalReplicationOnSourceDbIfNeeded);
  if (m.startDataMigration !== undefined) p.startDataMigration = toArmFlag(m.startDataMigration);
  if (m.dbsToTriggerCutoverOn) p.dbsToTriggerCutoverOn = m.dbsToTriggerCutoverOn;
  if (m.dbsToCancelMigrationOn) p.dbsToCancelMigrationOn = m.dbsToCancelMigrationOn;
  if (m.migrationWindowStartTimeInUtc) p.migrationWindowStartTimeInUtc = m.migrationWindowStartTimeInUtc;
  if (m.migrationWindowEndTimeInUtc) p.migrationWindowEndTimeInUtc = m.migrationWindowEndTimeInUtc;
  if (m.migrationInstanceResourceId) p.migrationInstanceResourceId = m.migrationInstanceResourceId;
  if (m.endedOn) p.endedOn = m.endedOn;
  if (m.rejectedRequest && m.rejectedRequestAt) p.rejectedRequest = { requestedAt: m.rejectedRequestAt, message: m.rejectedRequest };
  Object.assign(p, fallbackProperties(m));
  return {
    id: migrationResourceId(scope, m.server, m.name),
    name: m.name,
    type: MIGRATION_RESOURCE_TYPE,
    ...(m.location ? { location: m.location } : {}),
    ...(m.tags ? { tags: m.tags } : {}),
    properties: p,
  };
}
