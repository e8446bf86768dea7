/**
 * The ARM enum spellings of Microsoft.DBforPostgreSQL/flexibleServers/migrations, exactly as the
 * Azure API, portal and az CLI show them (research/arm-migration-api.md §2–3). Every state a user
 * sees comes from these lists; nothing else in pgferry spells a state.
 */

export const MIGRATION_STATES = [
  'InProgress',
  'WaitingForUserAction',
  'Canceled',
  'Failed',
  'Succeeded',
  'ValidationFailed',
  'CleaningUp',
] as const;
export type MigrationState = (typeof MIGRATION_STATES)[number];

/** States after which nothing more happens to a migration. */
export const TERMINAL_STATES: readonly MigrationState[] = ['Canceled', 'Failed', 'Succeeded', 'ValidationFailed'];

/** `migrationListFilter=Active` lists migrations in one of these states. */
export const ACTIVE_STATES: readonly MigrationState[] = ['InProgress', 'WaitingForUserAction', 'CleaningUp'];

export const MIGRATION_SUBSTATES = [
  'PerformingPreRequisiteSteps',
  'WaitingForLogicalReplicationSetupRequestOnSourceDB',
  'WaitingForDBsToMigrateSpecification',
  'WaitingForTargetDBOverwriteConfirmation',
  'WaitingForDataMigrationScheduling',
  'WaitingForDataMigrationWindow',
  'MigratingData',
  'WaitingForCutoverTrigger',
  'CompletingMigration',
  'Completed',
  'CancelingRequestedDBMigrations',
  'ValidationInProgress',
  // pgferry's own (fallbackAfterCutover, docs/runbook-cutover.md): the migration Succeeded and the
  // target's changes flow back to the source until the user finalizes or falls back.
  'ReplicatingToSource',
  'FallingBack',
  'FellBackToSource',
] as const;
export type MigrationSubState = (typeof MIGRATION_SUBSTATES)[number];

/**
 * Substates of an InProgress migration before its data migration starts: what a PATCH may still
 * change (mode, window, startDataMigration, overwrite, roles, logins) counts until it leaves them.
 */
export const BEFORE_DATA_SUBSTATES = [
  'PerformingPreRequisiteSteps',
  'ValidationInProgress',
  'WaitingForTargetDBOverwriteConfirmation',
  'WaitingForDataMigrationScheduling',
  'WaitingForDataMigrationWindow',
] as const satisfies readonly MigrationSubState[];

export const DB_MIGRATION_STATES = [
  'InProgress',
  'WaitingForCutoverTrigger',
  'Failed',
  'Canceled',
  'Succeeded',
  'Canceling',
] as const;
export type DbMigrationState = (typeof DB_MIGRATION_STATES)[number];

export const VALIDATION_STATES = ['Succeeded', 'Failed', 'Warning'] as const;
export type ValidationState = (typeof VALIDATION_STATES)[number];

export const MIGRATION_MODES = ['Offline', 'Online'] as const;
export type MigrationMode = (typeof MIGRATION_MODES)[number];

export const MIGRATION_OPTIONS = ['Validate', 'Migrate', 'ValidateAndMigrate'] as const;
export type MigrationOption = (typeof MIGRATION_OPTIONS)[number];

export const SSL_MODES = ['Prefer', 'Require', 'VerifyCA', 'VerifyFull'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export const SOURCE_TYPES = [
  'OnPremises',
  'AzureVM',
  'AWS',
  'AWS_RDS',
  'AWS_AURORA',
  'AWS_EC2',
  'GCP',
  'GCP_CloudSQL',
  'GCP_AlloyDB',
  'GCP_Compute',
  'EDB',
  'EDB_Oracle_Server',
  'EDB_PostgreSQL',
  'PostgreSQLSingleServer',
  'PostgreSQLFlexibleServer',
  'PostgreSQLCosmosDB',
  'Huawei_RDS',
  'Huawei_Compute',
  'Heroku_PostgreSQL',
  'Crunchy_PostgreSQL',
  'ApsaraDB_RDS',
  'Digital_Ocean_Droplets',
  'Digital_Ocean_PostgreSQL',
  'Supabase_PostgreSQL',
] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

export const LIST_FILTERS = ['Active', 'All'] as const;
export type ListFilter = (typeof LIST_FILTERS)[number];

/** Validation check types (research/arm-migration-api.md §4). */
export const SERVER_VALIDATION_TYPES = [
  'AuthenticationAndConnectivityValidation',
  'SourceVersionValidation',
  'ServerParametersValidation',
] as const;
export const DB_VALIDATION_TYPES = ['SchemaValidation', 'ExtensionsValidation', 'CollationsValidation'] as const;
export type ValidationType = (typeof SERVER_VALIDATION_TYPES)[number] | (typeof DB_VALIDATION_TYPES)[number];

export function isTerminal(state: MigrationState): boolean {
  return TERMINAL_STATES.includes(state);
}
