/**
 * The migration resource as pgferry answers it: the ARM shape of
 * Microsoft.DBforPostgreSQL/flexibleServers/migrations with the exact enum spellings. The schemas
 * are strict so tests catch a misspelt state or a leaked field; `secretParameters` is write-only
 * in ARM and can never appear here.
 */
import { z } from 'zod';
import {
  DB_MIGRATION_STATES,
  MIGRATION_MODES,
  MIGRATION_OPTIONS,
  MIGRATION_STATES,
  MIGRATION_SUBSTATES,
  SOURCE_TYPES,
  SSL_MODES,
  VALIDATION_STATES,
} from './states';
import { ARM_FLAGS } from './flags';
import { fallbackStatusSchema, reverseReplicationSchema } from './fallback-resource';

export const MIGRATION_RESOURCE_TYPE = 'Microsoft.DBforPostgreSQL/flexibleServers/migrations';

const count = z.number().int().nonnegative();
const dateTime = z.string().datetime({ offset: true });
const flag = z.enum(ARM_FLAGS);
const validationState = z.enum(VALIDATION_STATES);

export const validationMessageSchema = z
  .object({
    state: validationState,
    message: z.string(),
    /** pgferry: stable code (Azure's number where one exists). */
    code: z.string().optional(),
    /** pgferry: one line a DBA can act on. */
    fix: z.string().optional(),
  })
  .strict();

export const validationSummaryItemSchema = z
  .object({
    /** e.g. AuthenticationAndConnectivityValidation, ExtensionsValidation. */
    type: z.string().min(1),
    state: validationState,
    messages: z.array(validationMessageSchema),
  })
  .strict();

export const dbLevelValidationResultSchema = z
  .object({
    databaseName: z.string().min(1),
    startedOn: dateTime.optional(),
    endedOn: dateTime.optional(),
    summary: z.array(validationSummaryItemSchema),
  })
  .strict();

export const validationDetailsSchema = z
  .object({
    /** Failed stops ValidateAndMigrate; Warning does not. */
    status: validationState,
    validationStartTimeInUtc: dateTime.optional(),
    validationEndTimeInUtc: dateTime.optional(),
    serverLevelValidationDetails: z.array(validationSummaryItemSchema),
    dbLevelValidationDetails: z.array(dbLevelValidationResultSchema),
  })
  .strict();

const percent = z.number().min(0).max(100);

export const runningTableSchema = z
  .object({
    schemaName: z.string(),
    tableName: z.string(),
    rowsCopied: count,
    bytesCopied: count,
    estimatedRows: count,
    estimatedBytes: count,
    percent,
  })
  .strict();

export const dbMigrationStatusSchema = z
  .object({
    databaseName: z.string().min(1),
    migrationState: z.enum(DB_MIGRATION_STATES),
    /** What the database is doing now, in words (e.g. "Copying data", "Applying changes"). */
    migrationOperation: z.string().optional(),
    startedOn: dateTime.optional(),
    endedOn: dateTime.optional(),
    fullLoadQueuedTables: count.optional(),
    fullLoadErroredTables: count.optional(),
    fullLoadLoadingTables: count.optional(),
    fullLoadCompletedTables: count.optional(),
    cdcUpdateCounter: count.optional(),
    cdcDeleteCounter: count.optional(),
    cdcInsertCounter: count.optional(),
    /** Changes applied to the target since the full load. */
    appliedChanges: count.optional(),
    /** Changes received from the source since the full load. */
    incomingChanges: count.optional(),
    /** Seconds the target lags behind the source during replication. */
    latency: count.optional(),
    message: z.string().optional(),
    /** pgferry: tables in the copy plan. */
    fullLoadTotalTables: count.optional(),
    /** pgferry: rows and bytes copied so far by the full load. */
    fullLoadRowsCopied: count.optional(),
    fullLoadBytesCopied: count.optional(),
    /** pgferry: decoding plugin of the slot (wal2json or pgoutput). */
    decodingPlugin: z.string().optional(),
    /** pgferry: WAL the slot holds back on the source, in bytes. */
    retainedWalBytes: count.optional(),
    /** pgferry: share of the full load's estimated size copied, 0–100 (running chunks count as far as they got). */
    fullLoadPercent: percent.optional(),
    /** pgferry: the planner's estimates of the whole full load (reltuples; heap + TOAST bytes). */
    fullLoadEstimatedRows: count.optional(),
    fullLoadEstimatedBytes: count.optional(),
    /** pgferry: COPY throughput since the first chunk started. */
    fullLoadBytesPerSecond: count.optional(),
    /** pgferry: seconds left at that throughput; absent when unknown or done. */
    fullLoadSecondsRemaining: count.optional(),
    /** pgferry: when the full-load figures were last refreshed (every second or two while a table streams). */
    fullLoadProgressAt: dateTime.optional(),
    /** pgferry: the tables being copied now (at most 20, largest first). */
    fullLoadRunningTables: z.array(runningTableSchema).optional(),
    /** pgferry: tables compared equal while waiting for cutover and unchanged since, as of tablesVerifiedAheadAt: the ones a cutover would not read again. */
    tablesVerifiedAhead: count.optional(),
    tablesVerifiedAheadAt: dateTime.optional(),
    /** pgferry: the way back after cutover (fallbackAfterCutover): the target's changes flowing to the source. */
    reverseReplication: reverseReplicationSchema.optional(),
  })
  .strict();

export const migrationSubStateDetailsSchema = z
  .object({
    currentSubState: z.enum(MIGRATION_SUBSTATES),
    /** Keyed by database name; each key equals its entry's databaseName. */
    dbDetails: z.record(dbMigrationStatusSchema).superRefine((details, ctx) => {
      for (const [key, status] of Object.entries(details)) {
        if (status.databaseName !== key) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key, 'databaseName'], message: `must equal its key "${key}"` });
        }
      }
    }),
    validationDetails: validationDetailsSchema.optional(),
  })
  .strict();

export const migrationStatusSchema = z
  .object({
    state: z.enum(MIGRATION_STATES),
    /** Why the migration failed, for a DBA to act on. */
    error: z.string().optional(),
    currentSubStateDetails: migrationSubStateDetailsSchema,
  })
  .strict();

export const migrationResourcePropertiesSchema = z
  .object({
    migrationId: z.string().uuid(),
    currentStatus: migrationStatusSchema,
    migrationMode: z.enum(MIGRATION_MODES),
    migrationOption: z.enum(MIGRATION_OPTIONS),
    sourceType: z.enum(SOURCE_TYPES),
    sslMode: z.enum(SSL_MODES),
    /** As sent; absent when the source was given only by its FQDN. */
    sourceDbServerResourceId: z.string().min(1).optional(),
    sourceDbServerFullyQualifiedDomainName: z.string().min(1).optional(),
    targetDbServerFullyQualifiedDomainName: z.string().min(1),
    /** ARM id of the target when pgferry knows it. */
    targetDbServerResourceId: z.string().min(1).optional(),
    dbsToMigrate: z.array(z.string().min(1)),
    overwriteDbsInTarget: flag,
    migrateRoles: flag,
    setupLogicalReplicationOnSourceDbIfNeeded: flag.optional(),
    startDataMigration: flag.optional(),
    triggerCutover: flag.optional(),
    cancel: flag.optional(),
    dbsToTriggerCutoverOn: z.array(z.string().min(1)).optional(),
    dbsToCancelMigrationOn: z.array(z.string().min(1)).optional(),
    migrationWindowStartTimeInUtc: dateTime.optional(),
    migrationWindowEndTimeInUtc: dateTime.optional(),
    migrationInstanceResourceId: z.string().min(1).optional(),
    startedOn: dateTime.optional(),
    endedOn: dateTime.optional(),
    /** pgferry's own (beside ARM's): the last cutover or cancel raised as a Durable event that was refused, and why. */
    rejectedRequest: z.object({ requestedAt: dateTime, message: z.string() }).strict().optional(),
    /** pgferry: keep a way back after cutover (docs/runbook-cutover.md). */
    fallbackAfterCutover: flag.optional(),
    /** pgferry: a fall back to the source was requested (PATCH triggerFallback). */
    triggerFallback: flag.optional(),
    /** pgferry: the cutover was made final (PATCH finalizeCutover, or DELETE in the fallback window). */
    finalizeCutover: flag.optional(),
    fallback: fallbackStatusSchema.optional(),
  })
  .strict();

export const migrationResourceSchema = z
  .object({
    /** The resource path, `…/flexibleServers/{server}/migrations/{name}`. */
    id: z.string().min(1),
    name: z.string().min(1),
    type: z.literal(MIGRATION_RESOURCE_TYPE),
    location: z.string().min(1).optional(),
    tags: z.record(z.string()).optional(),
    properties: migrationResourcePropertiesSchema,
  })
  .strict();

/** The list response: newest start first, as ARM's `value` array. */
export const migrationListSchema = z
  .object({
    value: z.array(migrationResourceSchema),
    nextLink: z.string().optional(),
  })
  .strict();

export type ValidationMessage = z.infer<typeof validationMessageSchema>;
export type ValidationSummaryItem = z.infer<typeof validationSummaryItemSchema>;
export type DbLevelValidationResult = z.infer<typeof dbLevelValidationResultSchema>;
export type ValidationDetails = z.infer<typeof validationDetailsSchema>;
export type DbMigrationStatus = z.infer<typeof dbMigrationStatusSchema>;
export type MigrationSubStateDetails = z.infer<typeof migrationSubStateDetailsSchema>;
export type MigrationStatus = z.infer<typeof migrationStatusSchema>;
export type MigrationResourceProperties = z.infer<typeof migrationResourcePropertiesSchema>;
export type MigrationResource = z.infer<typeof migrationResourceSchema>;
export type MigrationList = z.infer<typeof migrationListSchema>;
