/**
 * Migration rows: one per (target server, migration name), the source of truth for what the
 * API's GET and list return. Passwords are never part of a migration row; shared/secrets keeps
 * them, and the mapping below copies only the fields it names, so stray properties of a request
 * object cannot leak into storage.
 */

import { odata } from '@azure/data-tables';

import {
  ACTIVE_STATES,
  MIGRATION_MODES,
  MIGRATION_OPTIONS,
  MIGRATION_STATES,
  MIGRATION_SUBSTATES,
  SOURCE_TYPES,
  SSL_MODES,
  type ListFilter,
  type MigrationMode,
  type MigrationOption,
  type MigrationState,
  type MigrationSubState,
  type SourceType,
  type SslMode,
} from '../model/states';
import type { MigrationFallback } from '../model/fallback';
import { checkEntity, clipText, dateTime, EntityReader, putJson, type EntityProps, type JsonValue } from './entity-codec';
import { keyOf } from './keys';
import { insertRow, listRows, readModifyWrite, readRow, replaceRowIfMatch, type RawEntity, type Row, type UpdateOptions, type Versioned } from './table-ops';
import type { StoreContext } from './tables';

/** Identifies a migration; a MigrationRecord is one. */
export interface MigrationRef {
  /** Target flexible server name: migration names are unique per target. */
  server: string;
  /** Migration name. */
  name: string;
}

/** How the engine reaches one side (the password is in shared/secrets). */
export interface ServerEndpoint {
  /** Host name or IP address connected to. */
  host: string;
  /** TCP port. */
  port: number;
  /** Login user. */
  user: string;
}

export interface MigrationRecord extends MigrationRef {
  /** ARM `migrationId`: a uuid assigned at creation, never reused. */
  migrationId: string;
  /** ARM currentStatus.state. */
  state: MigrationState;
  /** ARM currentStatus.currentSubStateDetails.currentSubState. */
  subState: MigrationSubState;
  /** ARM currentStatus.error; informational, truncated past LIMITS.maxTextChars. */
  error?: string;
  /** Offline or Online (CDC until cutover). */
  migrationMode: MigrationMode;
  /** Validate, Migrate or ValidateAndMigrate. */
  migrationOption: MigrationOption;
  /** Where the source runs (ARM sourceType). */
  sourceType: SourceType;
  /** SSL mode for both connections. */
  sslMode: SslMode;
  /** Source server connection (persisted flat as sourceHost, sourcePort, sourceUser). */
  source: ServerEndpoint;
  /** Target server connection (persisted flat as targetHost, targetPort, targetUser). */
  target: ServerEndpoint;
  /** ARM sourceDbServerResourceId as the user gave it (`host:port@user` or a resource id). */
  sourceDbServerResourceId?: string;
  /** ARM sourceDbServerFullyQualifiedDomainName, when given. */
  sourceDbServerFullyQualifiedDomainName?: string;
  /** ARM targetDbServerFullyQualifiedDomainName, when given. */
  targetDbServerFullyQualifiedDomainName?: string;
  /** Databases to migrate, in the user's order (JSON). */
  dbsToMigrate: string[];
  /** Drop and recreate databases that already exist on the target. */
  overwriteDbsInTarget: boolean;
  /** Copy roles (and their memberships) before the data. */
  migrateRoles: boolean;
  /** ARM setupLogicalReplicationOnSourceDbIfNeeded, when given. */
  setupLogicalReplicationOnSourceDbIfNeeded?: boolean;
  /** ARM startDataMigration, when given. */
  startDataMigration?: boolean;
  /** ARM migrationWindowStartTimeInUtc, when given. */
  migrationWindowStartTimeInUtc?: string;
  /** ARM migrationWindowEndTimeInUtc, when given. */
  migrationWindowEndTimeInUtc?: string;
  /** ARM migrationInstanceResourceId (the CLI file's MigrationRuntimeResourceId), echoed back. */
  migrationInstanceResourceId?: string;
  /** ARM location, echoed back. */
  location?: string;
  /** ARM tags (JSON). */
  tags?: Record<string, string>;
  /** When the PUT was accepted. */
  createdAt: string;
  /** When the migration started: the list order (newest first). */
  startedOn: string;
  /** When it reached a terminal state. */
  endedOn?: string;
  /** Durable Functions orchestration instance id driving this migration. */
  instanceId: string;
  /** When a cutover was requested (PATCH triggerCutover). */
  cutoverRequestedAt?: string;
  /** Databases the cutover applies to (JSON); absent means all. */
  dbsToTriggerCutoverOn?: string[];
  /** When a cancel was requested (PATCH cancel or DELETE). */
  cancelRequestedAt?: string;
  /** Databases the cancel applies to (JSON); absent means all. */
  dbsToCancelMigrationOn?: string[];
  /** The last cutover/cancel raised as a Durable event and refused (the same rule as PATCH): why. */
  rejectedRequest?: string;
  /** When that request was refused. */
  rejectedRequestAt?: string;
  /** fallbackAfterCutover and the fallback window's requests and outcome (JSON; model/fallback.ts). */
  fallback?: MigrationFallback;
}

/** Entity format version, persisted as `format`, so a later format can read these rows. */
const FORMAT = 1;

function describe(server: string, name: string): string {
  return `migration ${server}/${name}`;
}

function toRow(r: MigrationRecord): Row {
  const what = describe(r.server, r.name);
  const p: EntityProps = {
    format: FORMAT,
    server: r.server,
    name: r.name,
    migrationId: r.migrationId,
    state: r.state,
    subState: r.subState,
    migrationMode: r.migrationMode,
    migrationOption: r.migrationOption,
    sourceType: r.sourceType,
    sslMode: r.sslMode,
    sourceHost: r.source.host,
    sourcePort: r.source.port,
    sourceUser: r.source.user,
    targetHost: r.target.host,
    targetPort: r.target.port,
    targetUser: r.target.user,
    overwriteDbsInTarget: r.overwriteDbsInTarget,
    migrateRoles: r.migrateRoles,
    createdAt: dateTime(r.createdAt, `${what} createdAt`),
    startedOn: dateTime(r.startedOn, `${what} startedOn`),
    instanceId: r.instanceId,
  };
  const optional: Record<string, string | boolean | undefined> = {
    error: r.error === undefined ? undefined : clipText(r.error),
    rejectedRequest: r.rejectedRequest === undefined ? undefined : clipText(r.rejectedRequest),
    sourceDbServerResourceId: r.sourceDbServerResourceId,
    sourceDbServerFullyQualifiedDomainName: r.sourceDbServerFullyQualifiedDomainName,
    targetDbServerFullyQualifiedDomainName: r.targetDbServerFullyQualifiedDomainName,
    setupLogicalReplicationOnSourceDbIfNeeded: r.setupLogicalReplicationOnSourceDbIfNeeded,
    startDataMigration: r.startDataMigration,
    migrationInstanceResourceId: r.migrationInstanceResourceId,
    location: r.location,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) p[k] = v;
  const times = {
    endedOn: r.endedOn,
    cutoverRequestedAt: r.cutoverRequestedAt,
    cancelRequestedAt: r.cancelRequestedAt,
    rejectedRequestAt: r.rejectedRequestAt,
    migrationWindowStartTimeInUtc: r.migrationWindowStartTimeInUtc,
    migrationWindowEndTimeInUtc: r.migrationWindowEndTimeInUtc,
  };
  for (const [k, v] of Object.entries(times)) if (v !== undefined) p[k] = dateTime(v, `${what} ${k}`);
  putJson(p, 'dbsToMigrate', r.dbsToMigrate, what);
  putJson(p, 'tags', r.tags, what);
  putJson(p, 'dbsToTriggerCutoverOn', r.dbsToTriggerCutoverOn, what);
  putJson(p, 'dbsToCancelMigrationOn', r.dbsToCancelMigrationOn, what);
  putJson(p, 'fallback', r.fallback as unknown as JsonValue | undefined, what);
  const row: Row = { partitionKey: keyOf(r.server), rowKey: keyOf(r.name), ...p };
  checkEntity(row, what);
  return row;
}

function fromRow(e: RawEntity): MigrationRecord {
  const r = new EntityReader(e, `migration row ${String(e.partitionKey)}/${String(e.rowKey)}`);
  const rec: MigrationRecord = {
    server: r.string('server'),
    name: r.string('name'),
    migrationId: r.string('migrationId'),
    state: r.oneOf('state', MIGRATION_STATES),
    subState: r.oneOf('subState', MIGRATION_SUBSTATES),
    error: r.optString('error'),
    migrationMode: r.oneOf('migrationMode', MIGRATION_MODES),
    migrationOption: r.oneOf('migrationOption', MIGRATION_OPTIONS),
    sourceType: r.oneOf('sourceType', SOURCE_TYPES),
    sslMode: r.oneOf('sslMode', SSL_MODES),
    source: { host: r.string('sourceHost'), port: r.number('sourcePort'), user: r.string('sourceUser') },
    target: { host: r.string('targetHost'), port: r.number('targetPort'), user: r.string('targetUser') },
    sourceDbServerResourceId: r.optString('sourceDbServerResourceId'),
    sourceDbServerFullyQualifiedDomainName: r.optString('sourceDbServerFullyQualifiedDomainName'),
    targetDbServerFullyQualifiedDomainName: r.optString('targetDbServerFullyQualifiedDomainName'),
    dbsToMigrate: r.stringArray('dbsToMigrate'),
    overwriteDbsInTarget: r.boolean('overwriteDbsInTarget'),
    migrateRoles: r.boolean('migrateRoles'),
    setupLogicalReplicationOnSourceDbIfNeeded: r.has('setupLogicalReplicationOnSourceDbIfNeeded') ? r.boolean('setupLogicalReplicationOnSourceDbIfNeeded') : undefined,
    startDataMigration: r.has('startDataMigration') ? r.boolean('startDataMigration') : undefined,
    migrationWindowStartTimeInUtc: r.optDateTime('migrationWindowStartTimeInUtc'),
    migrationWindowEndTimeInUtc: r.optDateTime('migrationWindowEndTimeInUtc'),
    migrationInstanceResourceId: r.optString('migrationInstanceResourceId'),
    location: r.optString('location'),
    tags: r.optStringMap('tags'),
    createdAt: r.dateTime('createdAt'),
    startedOn: r.dateTime('startedOn'),
    endedOn: r.optDateTime('endedOn'),
    instanceId: r.string('instanceId'),
    cutoverRequestedAt: r.optDateTime('cutoverRequestedAt'),
    dbsToTriggerCutoverOn: r.has('dbsToTriggerCutoverOn') ? r.stringArray('dbsToTriggerCutoverOn') : undefined,
    cancelRequestedAt: r.optDateTime('cancelRequestedAt'),
    dbsToCancelMigrationOn: r.has('dbsToCancelMigrationOn') ? r.stringArray('dbsToCancelMigrationOn') : undefined,
    rejectedRequest: r.optString('rejectedRequest'),
    rejectedRequestAt: r.optDateTime('rejectedRequestAt'),
    fallback: fallbackOf(r.json('fallback')),
  };
  return dropUndefined(rec);
}

/** The stored fallback object (written only by pgferry); anything unreadable counts as absent. */
function fallbackOf(v: JsonValue | undefined): MigrationFallback | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || typeof v.enabled !== 'boolean') return undefined;
  return v as unknown as MigrationFallback;
}

/** Optional fields absent rather than present-and-undefined, so records compare with toEqual. */
function dropUndefined<T extends object>(rec: T): T {
  return Object.fromEntries(Object.entries(rec).filter(([, v]) => v !== undefined)) as T;
}

/** Creates the migration; AlreadyExistsError if its server already has one with this name. */
export async function createMigration(ctx: StoreContext, rec: MigrationRecord): Promise<Versioned<MigrationRecord>> {
  const row = toRow(rec);
  const etag = await insertRow(ctx.tables.migrations, row, describe(rec.server, rec.name));
  return { record: fromRow(row), etag };
}

/** The migration and its ETag, or undefined. */
export async function getMigration(ctx: StoreContext, server: string, name: string): Promise<Versioned<MigrationRecord> | undefined> {
  const e = await readRow(ctx.tables.migrations, keyOf(server), keyOf(name));
  return e && { record: fromRow(e), etag: String(e.etag) };
}

/** Replaces the row if it still has `etag`; ConcurrencyConflictError if another writer got there first. */
export async function replaceMigrationIfMatch(ctx: StoreContext, rec: MigrationRecord, etag: string): Promise<Versioned<MigrationRecord>> {
  const row = toRow(rec);
  const newEtag = await replaceRowIfMatch(ctx.tables.migrations, row, etag, describe(rec.server, rec.name));
  return { record: fromRow(row), etag: newEtag };
}

/**
 * Applies `mutate` to the current record and writes it, re-reading and re-applying on ETag
 * conflicts (see readModifyWrite): concurrent updates all land. NotFoundError if absent.
 */
export async function updateMigration(
  ctx: StoreContext,
  server: string,
  name: string,
  mutate: (rec: MigrationRecord) => MigrationRecord | undefined,
  options?: UpdateOptions,
): Promise<Versioned<MigrationRecord>> {
  return readModifyWrite({
    read: () => getMigration(ctx, server, name),
    write: (next, etag) => {
      if (next.server !== server || next.name !== name) throw new Error(`${describe(server, name)}: an update cannot rename a migration`);
      return replaceMigrationIfMatch(ctx, next, etag);
    },
    mutate,
    what: describe(server, name),
    options,
  });
}

const FALLBACK_WINDOW: readonly MigrationSubState[] = ['ReplicatingToSource', 'FallingBack'];

/** Migrations on one target server, newest start first; Active = state in ACTIVE_STATES, or in a fallback window. */
export async function listMigrations(ctx: StoreContext, server: string, filter: ListFilter = 'Active'): Promise<MigrationRecord[]> {
  let query = odata`PartitionKey eq ${keyOf(server)}`;
  // A migration in its fallback window is Succeeded but holds a slot and a stream: it is active too.
  if (filter === 'Active') query += ` and (${[...ACTIVE_STATES.map((s) => odata`state eq ${s}`), ...FALLBACK_WINDOW.map((s) => odata`subState eq ${s}`)].join(' or ')})`;
  const records = (await listRows(ctx.tables.migrations, query)).map(fromRow);
  return records.sort((a, b) => compareDesc(a.startedOn, b.startedOn) || compareDesc(a.createdAt, b.createdAt) || compareDesc(b.name, a.name));
}

/** Orders normalised ISO timestamps (or any strings) descending. */
function compareDesc(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}
