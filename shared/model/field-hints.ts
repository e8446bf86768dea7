/**
 * The fix offered for a generic rejection (missing, wrong type, too long) of each request field,
 * keyed by canonical field name. Specific rules carry their own fix; this is the fallback that
 * keeps every rejection actionable.
 */
import { MIGRATION_MODES, MIGRATION_OPTIONS, SOURCE_TYPES, SSL_MODES } from './states';

const FLAG = 'Use "True" or "False" (booleans true/false also work).';
const DATE_TIME = 'Use an ISO 8601 date-time in UTC, e.g. "2025-06-01T22:00:00Z".';
const PASSWORD = 'Set it to the login\'s password as a non-empty string of at most 1024 characters.';

const HINTS: Readonly<Record<string, string>> = {
  '': 'Send a JSON object such as {"properties": {"sourceDbServerResourceId": "10.0.0.4:5432@migrator", …}}.',
  properties:
    'Put the migration settings in a "properties" object, e.g. {"properties": {"sourceDbServerResourceId": "10.0.0.4:5432@migrator", "dbsToMigrate": ["appdb"], …}}.',
  location: 'Set "location" to an Azure region such as "westeurope", or leave it out.',
  tags: 'Send "tags" as an object of string values, e.g. {"env": "test"}; at most 50 tags, keys up to 512 and values up to 256 characters.',
  migrationMode: `Use ${MIGRATION_MODES.join(' or ')}: Online copies, then replicates changes until cutover; Offline only copies.`,
  migrationOption: `Use one of ${MIGRATION_OPTIONS.join(', ')}.`,
  sourceType: `Use one of ${SOURCE_TYPES.join(', ')}.`,
  sslMode: `Use one of ${SSL_MODES.join(', ')}.`,
  sourceDbServerResourceId:
    'Use "host:port@user" (e.g. "10.0.0.4:5432@migrator" or "[2001:db8::4]:5432@migrator") or a Single Server resource id "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.DBforPostgreSQL/servers/<name>".',
  sourceDbServerFullyQualifiedDomainName:
    'Use the source host name or IP address, optionally with ":port", e.g. "pg.contoso.com" or "10.0.0.4:5433".',
  targetDbServerFullyQualifiedDomainName:
    'Set it to the target server\'s host name, e.g. "myserver.postgres.database.azure.com" (optionally with ":port"); pgferry runs outside Azure\'s control plane, so it cannot look the address up from the server name.',
  secretParameters:
    'Send {"adminCredentials": {"sourceServerPassword": "…", "targetServerPassword": "…"}, "targetServerUsername": "…"}.',
  adminCredentials: 'Send {"sourceServerPassword": "…", "targetServerPassword": "…"}.',
  sourceServerPassword: PASSWORD,
  targetServerPassword: PASSWORD,
  sourceServerUsername: 'Set it to the login pgferry uses on the source, e.g. "migrator" (at most 128 characters).',
  targetServerUsername:
    'Set it to the login pgferry uses on the target (its admin or a member of azure_pg_admin); Azure fills this in for its own service, but pgferry cannot look it up.',
  dbsToMigrate: 'List the databases to migrate as a JSON array of names, e.g. ["ticketdb", "timedb"].',
  dbsToTriggerCutoverOn: 'List databases from dbsToMigrate, e.g. ["ticketdb"], or leave it out to cut over all of them.',
  dbsToCancelMigrationOn: 'List databases from dbsToMigrate, e.g. ["ticketdb"], or leave it out to cancel all of them.',
  overwriteDbsInTarget: FLAG,
  migrateRoles: FLAG,
  setupLogicalReplicationOnSourceDbIfNeeded: FLAG,
  startDataMigration: FLAG,
  triggerCutover: FLAG,
  cancel: FLAG,
  migrationWindowStartTimeInUtc: DATE_TIME,
  migrationWindowEndTimeInUtc: DATE_TIME,
  migrationInstanceResourceId: 'Use an ARM resource id, or leave it out (pgferry needs no runtime server).',
  name: 'Use letters, digits and hyphens, not starting with a hyphen, at most 63 characters, e.g. "migration-1".',
  serverName: 'Use 3–63 lowercase letters, digits and hyphens, not starting or ending with a hyphen, e.g. "pg-target-01".',
};

/** The hint of the innermost named field on `path` (array indexes skipped); undefined if none. */
export function hintFor(path: readonly (string | number)[]): string | undefined {
  // Tag keys are the user's own words, not field names.
  if (path[0] === 'tags') return HINTS.tags;
  const named = path.filter((segment): segment is string => typeof segment === 'string');
  const key = named[named.length - 1] ?? '';
  return Object.prototype.hasOwnProperty.call(HINTS, key) ? HINTS[key] : undefined;
}
