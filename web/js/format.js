/**
 * How values read on the page. States keep their ARM spellings (users search the docs for them);
 * labels in words sit next to them.
 */

export const SOURCE_TYPES = [
  ['OnPremises', 'On-premises server'],
  ['AzureVM', 'Azure Virtual Machine'],
  ['PostgreSQLSingleServer', 'Azure Database for PostgreSQL - Single server'],
  ['PostgreSQLFlexibleServer', 'Azure Database for PostgreSQL - Flexible server'],
  ['PostgreSQLCosmosDB', 'Azure Cosmos DB for PostgreSQL'],
  ['AWS', 'AWS'],
  ['AWS_RDS', 'Amazon RDS for PostgreSQL'],
  ['AWS_AURORA', 'Amazon Aurora PostgreSQL'],
  ['AWS_EC2', 'AWS EC2'],
  ['GCP', 'Google Cloud'],
  ['GCP_CloudSQL', 'Google Cloud SQL for PostgreSQL'],
  ['GCP_AlloyDB', 'Google AlloyDB'],
  ['GCP_Compute', 'Google Compute Engine'],
  ['EDB', 'EDB'],
  ['EDB_Oracle_Server', 'EDB Oracle Server'],
  ['EDB_PostgreSQL', 'EDB PostgreSQL'],
  ['Huawei_RDS', 'Huawei RDS'],
  ['Huawei_Compute', 'Huawei Compute'],
  ['Heroku_PostgreSQL', 'Heroku PostgreSQL'],
  ['Crunchy_PostgreSQL', 'Crunchy PostgreSQL'],
  ['ApsaraDB_RDS', 'ApsaraDB RDS'],
  ['Digital_Ocean_Droplets', 'DigitalOcean Droplets'],
  ['Digital_Ocean_PostgreSQL', 'DigitalOcean PostgreSQL'],
  ['Supabase_PostgreSQL', 'Supabase PostgreSQL'],
];

export const MIGRATION_OPTIONS = [
  ['Validate', 'Validate', 'Checks server and database readiness; copies no data.'],
  ['Migrate', 'Migrate', 'Skips validation and starts migrating.'],
  ['ValidateAndMigrate', 'Validate and migrate', 'Validates first; migrates only if no check fails.'],
];

export const MIGRATION_MODES = [
  ['Online', 'Online', 'Copies, then replicates changes until you trigger cutover.'],
  ['Offline', 'Offline', 'Copies once; writes to the source during the copy are not carried over.'],
];

export const SSL_MODES = ['Prefer', 'Require', 'VerifyCA', 'VerifyFull'];

export const TERMINAL_STATES = new Set(['Succeeded', 'Failed', 'Canceled', 'ValidationFailed']);
export const CANCELABLE_STATES = new Set(['InProgress', 'WaitingForUserAction']);

const ENDED_DB_STATES = new Set(['Succeeded', 'Failed', 'Canceled']);

/** The databases of a migration resource whose migrationState is Failed, in dbsToMigrate order. */
export function failedDatabasesOf(props) {
  const details = props.currentStatus.currentSubStateDetails.dbDetails ?? {};
  return props.dbsToMigrate.map((name) => details[name]).filter((d) => d && d.migrationState === 'Failed');
}

/**
 * The service's cutover rule (docs/api.md): while the migration runs, every database still running
 * waits for cutover — the whole migration WaitingForUserAction, or, once a database failed, the
 * healthy ones (the failed ones are skipped).
 */
export function cutoverAllowed(props) {
  const s = props.currentStatus;
  if (props.migrationMode !== 'Online' || TERMINAL_STATES.has(s.state)) return false;
  if (s.state === 'WaitingForUserAction') return s.currentSubStateDetails.currentSubState === 'WaitingForCutoverTrigger';
  if (failedDatabasesOf(props).length === 0 || s.currentSubStateDetails.currentSubState === 'CompletingMigration') return false;
  const details = s.currentSubStateDetails.dbDetails ?? {};
  const running = props.dbsToMigrate.map((name) => details[name]).filter((d) => d && !ENDED_DB_STATES.has(d.migrationState));
  return running.length > 0 && running.every((d) => d.migrationState === 'WaitingForCutoverTrigger');
}

export function labelOf(pairs, value) {
  return pairs.find((p) => p[0] === value)?.[1] ?? value ?? '';
}

/** A tone for a state badge; the text always says the state, color only repeats it. */
export function toneOf(state) {
  switch (state) {
    case 'Succeeded':
      return 'ok';
    case 'Failed':
    case 'ValidationFailed':
      return 'bad';
    case 'Canceled':
    case 'Canceling':
      return 'muted';
    case 'WaitingForUserAction':
    case 'WaitingForCutoverTrigger':
    case 'Warning':
      return 'warn';
    default:
      return 'busy';
  }
}

export function formatDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/**
 * 3725 s → "1h 2m 5s"; from startedOn to endedOn, or to now while it runs. Times are ISO strings
 * or milliseconds. Under a second shows tenths ("0.4s"): a validation that took 400 ms did not take "0s".
 */
export function formatDuration(startIso, endIso, now = Date.now()) {
  if (startIso === undefined || startIso === null || startIso === '') return '';
  const ms = (t) => (typeof t === 'number' ? t : Date.parse(t));
  const start = ms(startIso);
  const end = endIso !== undefined && endIso !== null && endIso !== '' ? ms(endIso) : now;
  if (Number.isNaN(start) || Number.isNaN(end)) return '';
  const elapsed = Math.max(0, end - start);
  if (elapsed > 0 && elapsed < 950) return `${Math.max(0.1, Math.round(elapsed / 100) / 10)}s`;
  let s = Math.round(elapsed / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hh = Math.floor(s / 3600);
  s -= hh * 3600;
  const mm = Math.floor(s / 60);
  s -= mm * 60;
  const parts = [];
  if (d) parts.push(`${d}d`);
  if (hh || d) parts.push(`${hh}h`);
  if (mm || hh || d) parts.push(`${mm}m`);
  parts.push(`${s}s`);
  return parts.join(' ');
}

/** The API gives latency in seconds; the portal shows "Latency (minutes)", e.g. 20 s → 0.33333. */
export function latencyMinutes(seconds) {
  if (seconds === undefined || seconds === null) return '';
  return String(Number((seconds / 60).toFixed(5)));
}

export function formatBytes(n) {
  if (n === undefined || n === null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatCount(n) {
  return n === undefined || n === null ? '' : Number(n).toLocaleString();
}

/** `host:port@user` → `host:port`; an Azure resource id → its server name. */
export function sourceServerOf(props) {
  const fqdn = props.sourceDbServerFullyQualifiedDomainName;
  if (fqdn) return fqdn;
  const id = props.sourceDbServerResourceId ?? '';
  if (id.startsWith('/')) return id.split('/').filter(Boolean).pop() ?? id;
  const at = id.indexOf('@');
  return at < 0 ? id : id.slice(0, at);
}

/** `host` + port as the API writes it; IPv6 in brackets. */
export function hostPort(host, port) {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return port ? `${h}:${port}` : h;
}
