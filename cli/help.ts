/** The text of `pgferry help [command]` and of usage errors. */
import { DEFAULT_URL } from './args';

const GLOBAL = `Global options:
  --url <url>            pgferry's address (default: $PGFERRY_URL, else ${DEFAULT_URL})
  --key <key>            function key, sent as x-functions-key (default: $PGFERRY_KEY)
  -o, --output <format>  table (default) or json
  -h, --help             help for a command`;

const EXITS = `Exit codes:
  0  success (watch: Succeeded, or ready for cutover with --until-cutover-ready; a fall back: the source is ready)
  1  watch: the migration ended Failed, ValidationFailed or Canceled, or a fall back did not complete; check-name: name not available
  2  bad usage (unknown option, missing --server, unreadable properties file)
  3  the service answered with an error (4xx/5xx); field and fix are printed to stderr
  4  the service could not be reached`;

export const COMMAND_HELP: Record<string, string> = {
  create: `pgferry create --server <target> --name <migration> --properties <file.json> [--mode online|offline] [--option Validate|Migrate|ValidateAndMigrate]
  Creates a migration from an az CLI properties file, unchanged: top-level "properties", keys in
  any case, "true"/"false" strings or booleans. --mode and --option replace the file's values.
  Aliases: -s/--server-name, -n/--migration-name, -b/--properties, --migration-mode, --migration-option.

  Example properties file (body.json):
    { "properties": {
        "sourceDbServerResourceId": "10.0.0.4:5432@migrator",
        "targetDbServerFullyQualifiedDomainName": "target.postgres.database.azure.com",
        "secretParameters": {
          "adminCredentials": { "sourceServerPassword": "…", "targetServerPassword": "…" },
          "targetServerUserName": "azureadmin" },
        "dbsToMigrate": ["ticketdb", "timedb"],
        "overwriteDbsInTarget": "false",
        "sourceType": "OnPremises",
        "sslMode": "Prefer",
        "migrationMode": "Online" } }
  sourceDbServerResourceId is host:port@user for a server outside Azure, or the source's Azure
  resource id. targetDbServerFullyQualifiedDomainName is optional, as in the az CLI docs' files:
  without it the target is the server named by --server ({server}.postgres.database.azure.com,
  unless the service's settings place it elsewhere). migrationMode is optional too: without it
  (or --mode) the mode is offline, as with the az CLI.
  Then: pgferry create -s target -n migration1 -b body.json`,
  list: `pgferry list --server <target> [--filter Active|All]
  Lists the target's migrations, newest start first. Default filter: Active (as the az CLI and
  the API); --filter All includes finished ones.`,
  show: `pgferry show --server <target> --name <migration>
  Shows one migration: status, databases (tables, rows, latency in minutes, CDC counters) and
  validation results with their codes and fixes.`,
  watch: `pgferry watch --server <target> --name <migration> [--until-cutover-ready] [--interval <seconds>]
  Follows a migration until it ends (or, with --until-cutover-ready, until it waits for cutover).
  On a terminal the progress is redrawn in place; otherwise one line per change.`,
  update: `pgferry update --server <target> --name <migration> <change>
  Changes a migration, as az … migration update does (one PATCH). What releases a waiting one:
    --overwrite-dbs            replace target databases that exist and are not empty
                               (WaitingForTargetDBOverwriteConfirmation)
    --start-data-migration     start a migration created with startDataMigration False
                               (WaitingForDataMigrationScheduling)
    --migration-window-start <UTC time>, --migration-window-end <UTC time>
                               move the window (WaitingForDataMigrationWindow)
    --mode online|offline      before the data migration starts
    --cutover | --cancel [--dbs db1,db2]   as pgferry cutover / cancel
    --setup-replication        refused: pgferry cannot reconfigure the source (the error says what to set)
  What may not change any more is refused, naming the property and why.`,
  cutover: `pgferry cutover --server <target> --name <migration> [--dbs db1,db2]
  Triggers cutover once the migration is WaitingForCutoverTrigger, of every database or of those
  named (the others go on waiting; cut them over later). Stop writes to the source and wait until
  latency is near 0 first.`,
  cancel: `pgferry cancel --server <target> --name <migration> [--dbs db1,db2]
  Cancels a migration that is InProgress or WaitingForUserAction, or only the databases named (the
  others go on; the migration shows CancelingRequestedDBMigrations until they stopped). The target
  is not rolled back.`,
  fallback: `pgferry fallback --server <target> --name <migration>
  Falls back to the source after cutover (a migration created with fallbackAfterCutover "True",
  substate ReplicatingToSource): stop the application's writes to the target first. The target is
  drained, the source's sequences set, every table verified; then the source is ready
  (FellBackToSource). Tables that differ keep the window open and are named.`,
  finalize: `pgferry finalize --server <target> --name <migration>
  Keeps the target after cutover: the way back (the reverse slot and publication on the target,
  pgferry's bookkeeping on the source) is removed; nothing of pgferry is left on either server.`,
  'check-name': `pgferry check-name --server <target> --name <migration>
  Exits 0 when the name is free on that target server, 1 when it is taken or not valid.`,
};

export function helpText(topic?: string): string {
  const one = topic === undefined ? undefined : COMMAND_HELP[topic];
  if (one !== undefined) return `${one}\n\n${GLOBAL}\n\n${EXITS}`;
  return [
    'pgferry — online PostgreSQL migration to Azure Database for PostgreSQL flexible server',
    '',
    'Usage: pgferry <command> [options]',
    '',
    'Commands:',
    ...Object.values(COMMAND_HELP).map((h) => `  ${h.split('\n')[0]}`),
    '',
    GLOBAL,
    '',
    EXITS,
    '',
    'pgferry help <command> shows a command’s details.',
  ].join('\n');
}
