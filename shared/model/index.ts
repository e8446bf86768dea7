/** The request/response model of pgferry's migration API (see DESIGN.md, "HTTP API"). */
export * from './states';
export {
  RequestValidationError,
  toErrorBody,
  fromSafeParse,
  unwrap,
  formatFieldPath,
  parseJsonBody,
  type ErrorBody,
  type ErrorDetail,
  type ModelIssue,
  type FieldPath,
  type Parsed,
} from './errors';
export { ARM_FLAGS, armFlag, armEnum, toArmFlag, type ArmFlag } from './flags';
export { normalizeKeys, MIGRATION_BODY_KEYS, MIGRATION_PATCH_KEYS, MIGRATION_PROPERTIES_KEYS, type KeyNode, type FieldSpec } from './normalize';
export { DEFAULT_PORT, parseHostPort, parseSourceResourceId, type ServerAddress } from './endpoints';
export {
  MIGRATION_NAME_PATTERN,
  SERVER_NAME_PATTERN,
  RESERVED_DATABASES,
  DEFAULT_MAX_DATABASES,
  MAX_DATABASE_NAME_BYTES,
  parseMigrationName,
  parseServerName,
} from './names';
export {
  migrationRequestSchema,
  parseMigrationRequest,
  type MigrationRequest,
  type MigrationRequestProperties,
  type ModelSettings,
  type ResolvedServer,
  type SecretParameters,
} from './migration-request';
export {
  migrationPatchSchema,
  parseMigrationPatch,
  checkPatchAgainst,
  actionDatabases,
  FIXED_AT_CREATION,
  type MigrationPatch,
  type MigrationPatchProperties,
  type PatchAction,
} from './migration-patch';
export * from './migration-resource';
export {
  loadSettings,
  appSettings,
  SettingsError,
  MAX_DATABASES_LIMIT,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type Settings,
  type StorageSetting,
  type SettingProblem,
} from './settings';
