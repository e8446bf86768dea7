/**
 * The command line: `pgferry <command> [options]`, parsed with util.parseArgs. Option names follow
 * the az CLI where it has one (`--migration-name`, `--server-name`, `--migration-mode`,
 * `--migration-option`, `-b/--properties`), so an `az postgres flexible-server migration` line
 * needs only its command word changed.
 */
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OutputFormat = 'json' | 'table';
export type MigrationMode = 'Online' | 'Offline';
export type MigrationOption = 'Validate' | 'Migrate' | 'ValidateAndMigrate';
export type ListFilter = 'Active' | 'All';

export interface GlobalOptions {
  /** The service root, e.g. http://127.0.0.1:7071 (no trailing slash). */
  url: string;
  key?: string;
  output: OutputFormat;
}

export type Command =
  | { name: 'create'; server: string; migration: string; propertiesFile: string; mode?: MigrationMode; option?: MigrationOption }
  | { name: 'list'; server: string; filter: ListFilter }
  | { name: 'show'; server: string; migration: string }
  | { name: 'watch'; server: string; migration: string; untilCutoverReady: boolean; intervalMs: number }
  | { name: 'update'; server: string; migration: string; properties: Record<string, unknown> }
  | { name: 'cutover'; server: string; migration: string; dbs?: string[] }
  | { name: 'cancel'; server: string; migration: string; dbs?: string[] }
  | { name: 'fallback'; server: string; migration: string }
  | { name: 'finalize'; server: string; migration: string }
  | { name: 'check-name'; server: string; migration: string }
  | { name: 'help'; topic?: string };

export const COMMANDS = ['create', 'list', 'show', 'watch', 'update', 'cutover', 'cancel', 'fallback', 'finalize', 'check-name'] as const;
type CommandName = (typeof COMMANDS)[number];

export const DEFAULT_URL = 'http://127.0.0.1:7071';
export const DEFAULT_INTERVAL_MS = 2000;

const OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
  server: { type: 'string', short: 's' },
  'server-name': { type: 'string' },
  name: { type: 'string', short: 'n' },
  'migration-name': { type: 'string' },
  properties: { type: 'string', short: 'b' },
  mode: { type: 'string' },
  'migration-mode': { type: 'string' },
  option: { type: 'string' },
  'migration-option': { type: 'string' },
  filter: { type: 'string' },
  'until-cutover-ready': { type: 'boolean' },
  interval: { type: 'string' },
  dbs: { type: 'string', multiple: true },
  'overwrite-dbs': { type: 'boolean' },
  'start-data-migration': { type: 'boolean' },
  'migration-window-start': { type: 'string' },
  'migration-window-end': { type: 'string' },
  'setup-replication': { type: 'boolean' },
  cutover: { type: 'boolean' },
  cancel: { type: 'boolean' },
} as const;

type OptionName = keyof typeof OPTIONS;
const GLOBAL: OptionName[] = ['url', 'key', 'output', 'help'];

/** Options each command takes besides the global ones (aliases included). */
const ALLOWED: Record<CommandName, OptionName[]> = {
  create: ['server', 'server-name', 'name', 'migration-name', 'properties', 'mode', 'migration-mode', 'option', 'migration-option'],
  list: ['server', 'server-name', 'filter'],
  show: ['server', 'server-name', 'name', 'migration-name'],
  watch: ['server', 'server-name', 'name', 'migration-name', 'until-cutover-ready', 'interval'],
  update: [
    'server', 'server-name', 'name', 'migration-name', 'overwrite-dbs', 'start-data-migration', 'migration-window-start', 'migration-window-end',
    'mode', 'migration-mode', 'setup-replication', 'cutover', 'cancel', 'dbs',
  ],
  cutover: ['server', 'server-name', 'name', 'migration-name', 'dbs'],
  cancel: ['server', 'server-name', 'name', 'migration-name', 'dbs'],
  fallback: ['server', 'server-name', 'name', 'migration-name'],
  finalize: ['server', 'server-name', 'name', 'migration-name'],
  'check-name': ['server', 'server-name', 'name', 'migration-name'],
};

function isCommand(s: string): s is CommandName {
  return (COMMANDS as readonly string[]).includes(s);
}

/** A case-insensitive choice, answered in its canonical spelling. */
function choice<T extends string>(flag: string, raw: string, values: readonly T[], command: string): T {
  const hit = values.find((v) => v.toLowerCase() === raw.toLowerCase());
  if (hit === undefined) throw new UsageError(`${flag} must be one of ${values.join(', ')} (any case), not "${raw}"`, command);
  return hit;
}

export function parseCommandLine(argv: readonly string[], env: Record<string, string | undefined>): { global: GlobalOptions; command: Command } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    const first = argv.find((a) => !a.startsWith('-'));
    throw new UsageError(e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, '') : String(e), first !== undefined && isCommand(first) ? first : undefined);
  }
  const v = parsed.values;
  const [word, ...extra] = parsed.positionals;
  const global = globalOptions(v, env);

  if (word === undefined || word === 'help') return { global, command: { name: 'help', ...(extra[0] ? { topic: extra[0] } : {}) } };
  if (!isCommand(word)) throw new UsageError(`unknown command "${word}"; commands: ${COMMANDS.join(', ')}`);
  if (v.help) return { global, command: { name: 'help', topic: word } };
  if (extra.length > 0) throw new UsageError(`${word} takes no arguments besides options; got "${extra.join(' ')}"`, word);

  const given = Object.keys(v).filter((k) => v[k as OptionName] !== undefined) as OptionName[];
  const stray = given.filter((k) => !GLOBAL.includes(k) && !ALLOWED[word].includes(k));
  if (stray.length > 0) throw new UsageError(`${stray.map((s) => `--${s}`).join(', ')} ${stray.length === 1 ? 'does' : 'do'} not apply to ${word}`, word);

  const one = (a: OptionName, b: OptionName): string | undefined => {
    const x = v[a] as string | undefined;
    const y = v[b] as string | undefined;
    if (x !== undefined && y !== undefined && x !== y) throw new UsageError(`--${a} and --${b} mean the same; give one`, word);
    return x ?? y;
  };
  const need = (a: OptionName, b: OptionName, what: string): string => {
    const value = one(a, b);
    if (value === undefined || value === '') throw new UsageError(`${word} needs --${a} <${what}>`, word);
    return value;
  };

  const server = need('server', 'server-name', 'target server');
  switch (word) {
    case 'list':
      return { global, command: { name: 'list', server, filter: v.filter === undefined ? 'Active' : choice('--filter', v.filter, ['Active', 'All'] as const, word) } };
    case 'create': {
      const mode = one('mode', 'migration-mode');
      const option = one('option', 'migration-option');
      return {
        global,
        command: {
          name: 'create',
          server,
          migration: need('name', 'migration-name', 'migration name'),
          propertiesFile: need('properties', 'properties', 'file.json'),
          ...(mode !== undefined ? { mode: choice('--mode', mode, ['Online', 'Offline'] as const, word) } : {}),
          ...(option !== undefined ? { option: choice('--option', option, ['Validate', 'Migrate', 'ValidateAndMigrate'] as const, word) } : {}),
        },
      };
    }
    case 'watch':
      return {
        global,
        command: { name: 'watch', server, migration: need('name', 'migration-name', 'migration name'), untilCutoverReady: Boolean(v['until-cutover-ready']), intervalMs: interval(v.interval, word) },
      };
    case 'update':
      return { global, command: { name: 'update', server, migration: need('name', 'migration-name', 'migration name'), properties: updateProperties(v, one('mode', 'migration-mode')) } };
    case 'cutover':
    case 'cancel': {
      const dbs = v.dbs?.flatMap((d) => d.split(',')).map((d) => d.trim()).filter((d) => d !== '');
      return { global, command: { name: word, server, migration: need('name', 'migration-name', 'migration name'), ...(dbs && dbs.length > 0 ? { dbs } : {}) } };
    }
    default:
      return { global, command: { name: word, server, migration: need('name', 'migration-name', 'migration name') } };
  }
}

/**
 * The PATCH properties of `update`, as `az … migration update` sends them: --cutover or --cancel
 * (with --dbs) on their own, or the settings that release a waiting migration, in one PATCH.
 */
function updateProperties(
  v: { [K in 'overwrite-dbs' | 'start-data-migration' | 'setup-replication' | 'cutover' | 'cancel']?: boolean } & { 'migration-window-start'?: string; 'migration-window-end'?: string; dbs?: string[] },
  mode: string | undefined,
): Record<string, unknown> {
  const dbs = v.dbs?.flatMap((d) => d.split(',')).map((d) => d.trim()).filter((d) => d !== '');
  const actions = (['cutover', 'cancel'] as const).filter((a) => v[a]);
  const fields: Record<string, unknown> = {
    ...(v['overwrite-dbs'] ? { overwriteDbsInTarget: 'True' } : {}),
    ...(v['start-data-migration'] ? { startDataMigration: 'True' } : {}),
    ...(v['migration-window-start'] !== undefined ? { migrationWindowStartTimeInUtc: v['migration-window-start'] } : {}),
    ...(v['migration-window-end'] !== undefined ? { migrationWindowEndTimeInUtc: v['migration-window-end'] } : {}),
    ...(mode !== undefined ? { migrationMode: choice('--mode', mode, ['Online', 'Offline'] as const, 'update') } : {}),
    ...(v['setup-replication'] ? { setupLogicalReplicationOnSourceDbIfNeeded: 'True' } : {}),
  };
  const [action, other] = actions;
  if (other !== undefined || (action !== undefined && Object.keys(fields).length > 0)) {
    throw new UsageError('--cutover and --cancel each go alone (with --dbs); send other changes in another update', 'update');
  }
  if (dbs !== undefined && action === undefined) throw new UsageError('--dbs goes with --cutover or --cancel', 'update');
  if (action === 'cutover') return { triggerCutover: 'True', ...(dbs && dbs.length > 0 ? { dbsToTriggerCutoverOn: dbs } : {}) };
  if (action === 'cancel') return { cancel: 'True', ...(dbs && dbs.length > 0 ? { dbsToCancelMigrationOn: dbs } : {}) };
  if (Object.keys(fields).length === 0) {
    throw new UsageError('update needs what to change: --overwrite-dbs, --start-data-migration, --migration-window-start/--migration-window-end <UTC time>, --mode, or --cutover/--cancel [--dbs]', 'update');
  }
  return fields;
}

function globalOptions(v: { url?: string; key?: string; output?: string }, env: Record<string, string | undefined>): GlobalOptions {
  const rawUrl = v.url ?? env.PGFERRY_URL ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UsageError(`--url "${rawUrl}" is not a URL; use e.g. ${DEFAULT_URL} or https://<app>.azurewebsites.net`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must be http:// or https://, not ${url.protocol}`);
  const key = v.key ?? env.PGFERRY_KEY;
  const output = v.output === undefined ? 'table' : choice('--output', v.output, ['json', 'table'] as const, '');
  return { url: rawUrl.replace(/\/+$/, ''), output, ...(key ? { key } : {}) };
}

function interval(raw: string | undefined, command: string): number {
  if (raw === undefined) return DEFAULT_INTERVAL_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0.2 || seconds > 3600) throw new UsageError(`--interval is in seconds, from 0.2 to 3600; got "${raw}"`, command);
  return Math.round(seconds * 1000);
}
