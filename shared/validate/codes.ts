/**
 * Every validation finding pgferry can report: a stable code, the state it raises, and the fix a
 * DBA can act on. Codes reuse the Azure migration service's numbers where one exists
 * (research/arm-migration-api.md §4), so a search for the Azure code finds the same advice; codes in
 * 6039xx are pgferry's own. Message and fix texts take parameters so they name the object.
 */
import type { ValidationState } from '../model/states';

export interface Finding {
  /** Stable code, e.g. "603107". */
  code: string;
  state: ValidationState;
  /** What is wrong (or, for Succeeded, what was checked), naming the object. */
  message: string;
  /** One line a DBA can act on; empty for purely informational findings. */
  fix: string;
}

type Args = Record<string, string | number>;
type Template = (a: Args) => string;

interface CodeDef {
  state: ValidationState;
  message: Template;
  fix: Template;
}

const list = (v: string | number | undefined) => String(v ?? '');

export const CODES = {
  // — connectivity —
  '603000': { state: 'Failed', message: (a) => `Cannot connect to the ${a.side} server ${a.hostPort}: ${a.reason}`, fix: (a) => list(a.fix) },
  '603001': { state: 'Failed', message: (a) => `The ${a.side} server ${a.hostPort} does not accept SSL but sslMode is ${a.sslMode}`, fix: () => 'Set sslMode to Prefer, or enable ssl on the server (ssl = on with a certificate)' },
  '603100': { state: 'Failed', message: (a) => `Login ${a.user} was refused by the ${a.side} server ${a.hostPort}: ${a.reason}`, fix: (a) => list(a.fix) },
  '603900': { state: 'Succeeded', message: (a) => `Connected to the ${a.side} server ${a.hostPort} as ${a.user} (PostgreSQL ${a.version}, SSL ${a.ssl})`, fix: () => '' },
  // — versions —
  '603400': { state: 'Failed', message: (a) => `Source server is PostgreSQL ${a.version}; the minimum supported version is 9.5`, fix: () => 'Upgrade the source server to PostgreSQL 9.5 or later (10 or later recommended) before migrating' },
  '603901': { state: 'Failed', message: (a) => `Target major version ${a.target} is lower than the source major version ${a.source}; a downgrade is not supported`, fix: (a) => `Create the target server with PostgreSQL ${a.source} or later` },
  '603902': { state: 'Succeeded', message: (a) => `Source PostgreSQL ${a.source} → target PostgreSQL ${a.target}`, fix: () => '' },
  // — server parameters —
  '603107': { state: 'Failed', message: (a) => `wal_level is '${a.value}' on the source; online migration needs 'logical'`, fix: () => "ALTER SYSTEM SET wal_level = 'logical'; then restart the source (on managed services set the server parameter, e.g. rds.logical_replication = 1 / cloudsql.logical_decoding = on)" },
  '603105': { state: 'Failed', message: (a) => `max_replication_slots is ${a.max} with ${a.used} in use; ${a.needed} free slots are needed (one per database)`, fix: (a) => `ALTER SYSTEM SET max_replication_slots = ${a.suggest}; then restart the source` },
  '603106': { state: 'Failed', message: (a) => `max_wal_senders is ${a.max} with ${a.used} in use; ${a.needed} free senders are needed (one per database)`, fix: (a) => `ALTER SYSTEM SET max_wal_senders = ${a.suggest}; then restart the source` },
  '603104': { state: 'Failed', message: (a) => `Login ${a.user} on the source has neither REPLICATION nor superuser, so it cannot create logical replication slots`, fix: (a) => `ALTER ROLE ${a.userQuoted} WITH REPLICATION; (on RDS: GRANT rds_replication TO ${a.userQuoted})` },
  '603903': { state: 'Warning', message: (a) => `wal_sender_timeout is ${a.value} ms; a slow catch-up over a streaming connection may be cut off`, fix: () => "ALTER SYSTEM SET wal_sender_timeout = '0' (or at least '5min'); SELECT pg_reload_conf();" },
  '603904': { state: 'Warning', message: (a) => `max_slot_wal_keep_size is ${a.value} MB, smaller than the data to copy (${a.size} MB): the slot may be invalidated during the copy`, fix: (a) => `ALTER SYSTEM SET max_slot_wal_keep_size = '-1' (or above ${a.size}MB) and keep enough free disk on the source; SELECT pg_reload_conf();` },
  '603905': { state: 'Succeeded', message: (a) => `Decoding plugin: ${a.plugin}${a.why ? ` (${a.why})` : ''}`, fix: () => '' },
  '603906': { state: 'Failed', message: (a) => `No usable logical decoding plugin on the source: ${a.reason}`, fix: () => 'Install wal2json on the source (apt install postgresql-<major>-wal2json) or use PostgreSQL 10 or later, which has pgoutput built in' },
  '603907': { state: 'Warning', message: (a) => `Creating a logical slot on the source waited more than ${a.seconds} s: a long-running transaction (pid ${a.pids}) blocks it`, fix: () => 'Finish or cancel the long-running transactions on the source (see pg_stat_activity.xact_start) before starting the migration' },
  '603908': { state: 'Succeeded', message: (a) => `Source parameters: wal_level=${a.walLevel}, max_replication_slots=${a.slots} (${a.slotsUsed} used), max_wal_senders=${a.senders} (${a.sendersUsed} used), max_slot_wal_keep_size=${a.keep}`, fix: () => '' },
  '603909': { state: 'Warning', message: () => `Retained WAL is not bounded (max_slot_wal_keep_size = -1): the slot keeps WAL on the source until cutover`, fix: (a) => `Keep free disk on the source for the WAL written during the migration (at least ${a.size} MB is a sensible floor) and watch the retained WAL figure` },
  // — databases —
  // Not a failure: as Azure's service does, the migration then waits in WaitingForTargetDBOverwriteConfirmation.
  '603101': { state: 'Warning', message: (a) => `Database ${a.db} already exists on the target and is not empty (${a.objects}) while overwriteDbsInTarget is False: the migration will wait in WaitingForTargetDBOverwriteConfirmation before copying`, fix: () => 'PATCH overwriteDbsInTarget to True to replace it, or drop or rename the target database (the migration then goes on), or cancel' },
  '603910': { state: 'Warning', message: (a) => `Database ${a.db} exists on the target and is not empty (${a.objects}); overwriteDbsInTarget is True, so it will be dropped and created again`, fix: () => 'Nothing to do if that is intended; otherwise set overwriteDbsInTarget to False' },
  '603102': { state: 'Failed', message: (a) => `Database ${a.db} does not exist on the source server`, fix: () => 'Check the spelling (names are case-sensitive) or remove it from dbsToMigrate' },
  '603911': { state: 'Failed', message: (a) => `Login ${a.user} cannot create database ${a.db} on the target (no CREATEDB)`, fix: (a) => `ALTER ROLE ${a.userQuoted} CREATEDB; or create the database on the target first, owned by ${a.userQuoted}` },
  '603110': { state: 'Failed', message: (a) => `Login ${a.user} cannot read ${a.count} table(s) on the source: ${a.tables}`, fix: (a) => `GRANT SELECT ON ALL TABLES IN SCHEMA <schema> TO ${a.userQuoted}; (or grant pg_read_all_data on PostgreSQL 14+)` },
  // — extensions —
  '603108': { state: 'Failed', message: (a) => `Extension ${a.ext} ${a.version} is installed in ${a.db} on the source but ${a.why} on the target`, fix: (a) => list(a.fix) },
  '603109': { state: 'Failed', message: (a) => `Extension ${a.ext} needs ${a.lib} in shared_preload_libraries on the target`, fix: (a) => `Add ${a.lib} to shared_preload_libraries on the target (az postgres flexible-server parameter set --name shared_preload_libraries --value ...) and restart it` },
  '603912': { state: 'Warning', message: (a) => `Extension ${a.ext} is ${a.version} on the source; the target offers ${a.targetVersion}`, fix: () => 'The target version will be created; check the application against it, or ALTER EXTENSION ... UPDATE on the source first' },
  '603913': { state: 'Succeeded', message: (a) => `${a.count} extension(s) available on the target${a.names ? `: ${a.names}` : ''}`, fix: () => '' },
  // — collations and encodings —
  '603401': { state: 'Failed', message: (a) => `Database ${a.db} uses locale ${a.locale} (${a.what}), which the target server does not have`, fix: () => 'Install the locale on the target host, or pick a target with it (Azure Flexible Server supports the en_US.utf8 family), or migrate to a database created with an available locale' },
  '603402': { state: 'Failed', message: (a) => `Collation ${a.collation} (locale ${a.locale}) is used by ${a.uses} in ${a.db} but the target cannot provide it`, fix: () => 'Use a collation the target offers (SELECT collname FROM pg_collation on the target) for these columns' },
  '603403': { state: 'Warning', message: (a) => `User-defined collation(s) in ${a.db}: ${a.names}; they are created on the target from their locales`, fix: () => 'Nothing to do unless the target lacks the locale (reported separately)' },
  '603914': { state: 'Failed', message: (a) => `Target database ${a.db} exists with encoding ${a.target}, the source uses ${a.source}`, fix: () => 'Drop the target database (or set overwriteDbsInTarget to True) so it is created with the source encoding' },
  '603915': { state: 'Succeeded', message: (a) => `Encoding ${a.encoding}, collate ${a.collate}, ctype ${a.ctype}${a.columns ? `, ${a.columns} column collation(s)` : ''}: available on the target`, fix: () => '' },
  // — schema —
  '603916': { state: 'Failed', message: (a) => `${a.count} table(s) in ${a.db} have no primary key and no replica identity, so their UPDATEs and DELETEs cannot be replayed online: ${a.tables}`, fix: (a) => `Add a primary key, or run: ${a.example}` },
  '603917': { state: 'Warning', message: (a) => `${a.count} table(s) in ${a.db} have no primary key and no replica identity: ${a.tables} (an Offline migration copies them whole)`, fix: (a) => `For an Online migration add a primary key or run: ${a.example}` },
  '603918': { state: 'Warning', message: (a) => `${a.count} table(s) in ${a.db} use REPLICA IDENTITY FULL: ${a.tables}; changes to them apply more slowly`, fix: () => 'Add a primary key (or REPLICA IDENTITY USING INDEX on a unique, not-null index) where you can' },
  '603931': { state: 'Warning', message: (a) => `${a.count} table(s) in ${a.db} have no key but REPLICA IDENTITY FULL and float4, float8 or numeric columns: ${a.tables}. wal2json, the configured decoder, prints NULL, NaN, Infinity and -Infinity of such a column alike, so a change to a row that equals another row but for these values stops the migration with an error (which row changed cannot be known)`, fix: (a) => `Migrate with the pgoutput decoder (PGFERRY_DECODER=pgoutput, exact for every value), or give each table a primary key or a replica identity index, e.g. ${a.example}` },
  '603404': { state: 'Failed', message: (a) => `${a.count} table(s) in ${a.db} are WITH OIDS, which PostgreSQL 12+ targets do not support: ${a.tables}`, fix: () => 'ALTER TABLE ... SET WITHOUT OIDS on the source (add an explicit column first if the application reads oid)' },
  '603409': { state: 'Warning', message: (a) => `${a.count} user-defined cast(s) in ${a.db}: ${a.names}; managed targets refuse CREATE CAST for types you do not own`, fix: () => 'Recreate the casts on the target after the migration, or drop them on the source if unused' },
  '603919': { state: 'Failed', message: (a) => `${a.count} user-defined base type(s) in ${a.db} need C functions that cannot be created on the target: ${a.names}`, fix: () => 'Package the type as an extension available on the target, or replace it with a domain or composite type' },
  '603413': { state: 'Failed', message: (a) => `Procedural language ${a.lang} is used in ${a.db} but is not available on the target`, fix: (a) => `Install or allow-list ${a.lang} on the target, or rewrite the functions that use it (${a.functions})` },
  '603920': { state: 'Warning', message: (a) => `${a.count} role(s) that own or are granted objects in ${a.db} do not exist on the target: ${a.names}; ownership and grants for them will be skipped`, fix: () => 'Create the roles on the target first (pg_dumpall --globals-only without superusers), or set migrateRoles to True' },
  '603928': { state: 'Succeeded', message: (a) => `${a.count} role(s) that own or are granted objects in ${a.db} do not exist on the target yet: ${a.names}; migrateRoles is True, so they are created before the schema`, fix: () => '' },
  '603921': { state: 'Warning', message: (a) => `${a.count} object(s) in ${a.db} are owned by superuser ${a.owners}: ${a.objects}; managed targets have no superuser, so they will be owned by the migration login`, fix: () => 'ALTER ... OWNER TO a non-superuser role on the source, or accept the new owner' },
  '603922': { state: 'Warning', message: (a) => `${a.count} large object(s) in ${a.db}: copied once; changes to them are not replicated by logical decoding`, fix: () => 'Avoid writing large objects during an Online migration, or migrate Offline' },
  '603923': { state: 'Warning', message: (a) => `${a.count} unlogged table(s) in ${a.db}: ${a.tables}; logical decoding does not see their changes`, fix: () => 'ALTER TABLE ... SET LOGGED on the source for an Online migration, or accept that they are copied once' },
  '603924': { state: 'Succeeded', message: (a) => `${a.tables} table(s) in ${a.db} can be replicated (primary key or replica identity on each)`, fix: () => '' },
  '603925': { state: 'Failed', message: (a) => `Could not complete the checks of ${a.db}: ${a.reason}`, fix: (a) => list(a.fix) || 'Re-run validation; if it persists, check that the login can connect to the database and read its system catalogs' },
  '603927': { state: 'Failed', message: (a) => `Validation could not read the server catalogs: ${a.reason}`, fix: () => 'Check that both logins can read pg_settings, pg_roles and pg_database; re-run validation' },
  '603929': { state: 'Failed', message: (a) => `Login ${a.user} on the source is not a superuser and has no CREATE privilege on ${a.db}, so it cannot create the publication pgoutput reads through`, fix: (a) => `GRANT CREATE ON DATABASE ${a.dbQuoted} TO ${a.userQuoted};` },
  '603930': { state: 'Failed', message: (a) => `Login ${a.user} on the source is not a superuser and lacks the privileges of the owner of ${a.count} table(s) in ${a.db}: ${a.tables}; a publication FOR TABLE (FOR ALL TABLES needs a superuser) can list only tables whose owner's privileges it has`, fix: (a) => `GRANT ${a.owners} TO ${a.userQuoted}; (run as a login that can grant them, e.g. the managed admin; or ALTER TABLE ... OWNER TO ${a.userQuoted}; or, where the source has wal2json, which needs no publication, set PGFERRY_DECODER=wal2json)` },
  '603926': { state: 'Succeeded', message: (a) => `Database ${a.db} exists on the source (${a.size}); on the target it ${a.target}`, fix: () => '' },
  // — fallback after cutover (fallbackAfterCutover): the way back needs logical decoding on the target and writes on the source —
  '603960': { state: 'Failed', message: (a) => `wal_level is '${a.value}' on the target; fallbackAfterCutover needs 'logical' there (the way back reads the target's changes by logical decoding)`, fix: (a) => `On Azure Database for PostgreSQL flexible server: az postgres flexible-server parameter set --resource-group <resource-group> --server-name ${a.server} --name wal_level --value logical, then az postgres flexible-server restart --resource-group <resource-group> --name ${a.server}. Elsewhere: ALTER SYSTEM SET wal_level = 'logical'; and restart the target` },
  '603961': { state: 'Failed', message: (a) => `max_replication_slots is ${a.max} on the target with ${a.used} in use; fallbackAfterCutover needs ${a.needed} free (one per database)`, fix: (a) => `az postgres flexible-server parameter set --resource-group <resource-group> --server-name ${a.server} --name max_replication_slots --value ${a.suggest}, then az postgres flexible-server restart --resource-group <resource-group> --name ${a.server} (elsewhere: ALTER SYSTEM SET max_replication_slots = ${a.suggest}; and restart)` },
  '603962': { state: 'Failed', message: (a) => `max_wal_senders is ${a.max} on the target with ${a.used} in use; fallbackAfterCutover needs ${a.needed} free (one per database)`, fix: (a) => `az postgres flexible-server parameter set --resource-group <resource-group> --server-name ${a.server} --name max_wal_senders --value ${a.suggest}, then az postgres flexible-server restart --resource-group <resource-group> --name ${a.server} (elsewhere: ALTER SYSTEM SET max_wal_senders = ${a.suggest}; and restart)` },
  '603963': { state: 'Failed', message: (a) => `Login ${a.user} on the target has neither REPLICATION nor superuser, so it cannot create the reverse slot fallbackAfterCutover needs`, fix: (a) => `ALTER ROLE ${a.userQuoted} WITH REPLICATION; (on Azure Database for PostgreSQL flexible server the administrator may run it for itself)` },
  '603964': { state: 'Succeeded', message: (a) => `Fallback after cutover: the target allows logical decoding (wal_level=logical, ${a.slots} free slot(s), ${a.senders} free sender(s)) and ${a.user} may create the reverse slot`, fix: () => '' },
  '603965': { state: 'Failed', message: (a) => `Login ${a.user} on the source cannot write ${a.count} table(s) of ${a.db}, which the way back after cutover writes: ${a.tables}`, fix: (a) => `GRANT INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA ${a.schemas} TO ${a.userQuoted};` },
  '603966': { state: 'Failed', message: (a) => `Login ${a.user} on the source ${a.why}, so the way back cannot hold the triggers or rules of ${a.count} table(s) of ${a.db} (they would fire on every change written back): ${a.tables}`, fix: (a) => `${a.replicaFix}; or GRANT ${a.owners} TO ${a.userQuoted}; (ALTER TABLE … DISABLE TRIGGER needs the owner's privileges)` },
  '603967': { state: 'Failed', message: (a) => `Login ${a.user} on the source cannot use session_replication_role = replica, so the referential actions of ${a.count} foreign key(s) in ${a.db} would fire on every change written back (a cascade would be applied twice): ${a.names}`, fix: (a) => list(a.replicaFix) },
  '603968': { state: 'Failed', message: (a) => `Login ${a.user} on the source may neither use replication origins nor create a schema in ${a.db}, so the way back cannot record what it applied there`, fix: (a) => `GRANT CREATE ON DATABASE ${a.dbQuoted} TO ${a.userQuoted};` },
  '603969': { state: 'Succeeded', message: (a) => `Fallback after cutover: ${a.user} can write the ${a.count} table(s) of ${a.db} on the source${a.replica === 'yes' ? ' with triggers held by session_replication_role = replica' : ', holding their triggers by ALTER TABLE'}`, fix: () => '' },
} satisfies Record<string, CodeDef>;

export type Code = keyof typeof CODES;

/** Builds the finding for a code with its parameters. */
export function finding(code: Code, args: Args = {}): Finding {
  const def: CodeDef = CODES[code];
  return { code, state: def.state, message: def.message(args), fix: def.fix(args) };
}

/** Shortens a long list for a message: "a, b, c and 17 more". */
export function nameList(names: readonly string[], max = 10): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
