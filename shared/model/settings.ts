/**
 * App settings, parsed once at start-up so a misconfigured app fails with the variable's name
 * instead of deep inside a migration. Secret values (storage keys, the encryption key) never
 * appear in an error.
 */
import { z } from 'zod';
import { DEFAULT_MAX_DATABASES } from './names';
import { RESOURCE_GROUP, SUBSCRIPTION_ID, armScopeFrom, type ArmScope } from './arm';
import { AZURE_HOST_SUFFIX, hostSuffixProblem, targetHostProblem, type TargetSettings } from './target';

/** The 2025 ARM spec's cap on dbsToMigrate. */
export const MAX_DATABASES_LIMIT = 50;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_STREAM_MEMORY_MB = 64;
/** Tables over this size are copied in chunks (shared/copy/plan.ts DEFAULT_SPLIT_BYTES). */
export const DEFAULT_COPY_SPLIT_MB = 1024;
export const DEFAULT_COPY_LANES = 4;
export const DEFAULT_FALLBACK_MAX_WAL_MB = 10_240;

/** How pgferry reaches Table Storage: a connection string, or a managed identity on this endpoint. */
export type StorageSetting = { connectionString: string } | { tableServiceUri: string };

export interface Settings {
  /** Most databases one migration may list (PGFERRY_MAX_DATABASES, 1–50, default 8). */
  maxDatabases: number;
  /** From AzureWebJobsStorage, or AzureWebJobsStorage__accountName / __tableServiceUri. */
  storage: StorageSetting;
  /** AES-256-GCM key for stored secrets (PGFERRY_SECRET_KEY, base64 of 32 bytes). */
  secretKey?: Buffer;
  /** Connect timeout for every PostgreSQL connection (PGFERRY_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
  /** The key before a rotation, still accepted for opening stored secrets (PGFERRY_SECRET_KEY_PREVIOUS). */
  previousSecretKey?: Buffer;
  /** Prefix of the Table Storage tables (PGFERRY_TABLE_PREFIX; tests isolate runs with it). */
  tablePrefix?: string;
  /** Logical decoding plugin to prefer (PGFERRY_DECODER: pgoutput, the default, or wal2json). */
  decoder: Decoder;
  /** Folder of the portal's static files (PGFERRY_WEB_DIR; default: web/ beside the app). */
  webDir?: string;
  /**
   * Megabytes of changes one streamed CDC batch holds at most (PGFERRY_STREAM_MEMORY_MB, 8–4096,
   * default 64), however few and large they are. Decoded they take about twice that.
   */
  streamMemoryMb: number;
  /**
   * Most megabytes of one copy chunk (PGFERRY_COPY_SPLIT_MB, 1–1048576, default 1024): a table
   * larger than this, or than its database over twice the copy lanes (copy/plan.ts balancedSplitBytes), is
   * copied in several chunks, in parallel.
   */
  copySplitMb: number;
  /**
   * Copy units of one database copied at once (PGFERRY_COPY_LANES, 1–64, default 4): each lane
   * holds a source and a target connection; the host's maxConcurrentActivityFunctions, per
   * instance, bounds what runs at once across databases.
   */
  copyLanes: number;
  /**
   * Where a migration's target is when its request names none: the route's server under
   * PGFERRY_TARGET_HOST_SUFFIX (default .postgres.database.azure.com), or PGFERRY_TARGET_HOST;
   * the login PGFERRY_TARGET_USERNAME.
   */
  target: TargetSettings;
  /** Subscription and resource group of the ARM ids pgferry answers with (PGFERRY_SUBSCRIPTION_ID, PGFERRY_RESOURCE_GROUP). */
  arm: ArmScope;
  /**
   * Most WAL, in megabytes, a reverse slot (fallbackAfterCutover) may hold back on the target
   * (PGFERRY_FALLBACK_MAX_WAL_MB, 1–10,000,000, default 10240): past it the slot is dropped and the
   * way back closed, so a stalled fallback window never fills the target's disk.
   */
  fallbackMaxWalMb: number;
}

export const DECODERS = ['pgoutput', 'wal2json'] as const;
export type Decoder = (typeof DECODERS)[number];

export interface SettingProblem {
  variable: string;
  message: string;
  fix: string;
}

export class SettingsError extends Error {
  constructor(readonly problems: readonly SettingProblem[]) {
    super(`Invalid app settings: ${problems.map((p) => `${p.variable} ${p.message}. ${p.fix}`).join(' ')}`);
    this.name = 'SettingsError';
  }
}

const KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\(/i;
const KEY_VAULT_FIX =
  'Azure leaves a Key Vault reference unresolved when the app\'s identity cannot read the secret: grant it the "Key Vault Secrets User" role and check the reference.';

function problem(ctx: z.RefinementCtx, variable: string, message: string, fix: string): typeof z.NEVER {
  ctx.addIssue({ code: z.ZodIssueCode.custom, path: [variable], message, params: { fix } });
  return z.NEVER;
}

function wholeNumber(variable: string, min: number, max: number, fallback: number) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): number => {
      const text = raw?.trim() ?? '';
      if (text === '') return fallback;
      const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
      if (value >= min && value <= max) return value;
      const shown = text.length > 20 ? `${text.slice(0, 20)}…` : text;
      return problem(ctx, variable, `must be a whole number from ${min} to ${max} (it is "${shown}")`, `Set ${variable} to a number from ${min} to ${max}, or remove it to use ${fallback}.`);
    });
}

/** A base64 AES-256 key (PGFERRY_SECRET_KEY and the previous key of a rotation): one parser for both. */
function secretKey(variable: string) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): Buffer | undefined => {
      const text = raw?.trim() ?? '';
      if (text === '') return undefined;
      if (KEY_VAULT_REFERENCE.test(text)) return problem(ctx, variable, 'is an unresolved Key Vault reference', KEY_VAULT_FIX);
      const key = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : undefined;
      if (key?.length === 32) return key;
      return problem(ctx, variable, 'is not the base64 encoding of 32 bytes', 'Generate a key with `openssl rand -base64 32` and store it (in Azure, as a Key Vault reference).');
    });
}

const decoder = z
  .string()
  .optional()
  .transform((raw, ctx): Decoder => {
    const text = (raw ?? '').trim().toLowerCase();
    if (text === '' || text === 'auto' || text === 'pgoutput') return 'pgoutput';
    if (text === 'wal2json') return 'wal2json';
    return problem(ctx, 'PGFERRY_DECODER', `is "${raw}"`, 'Use pgoutput (the default; PostgreSQL 10+) or wal2json (format-version 2).');
  });

const tablePrefix = z
  .string()
  .optional()
  .transform((raw, ctx): string | undefined => {
    const text = raw?.trim() ?? '';
    if (text === '') return undefined;
    if (/^[A-Za-z][A-Za-z0-9]{0,52}$/.test(text)) return text;
    return problem(ctx, 'PGFERRY_TABLE_PREFIX', 'is not a table name prefix', 'Use 1–53 letters and digits, starting with a letter (Table Storage names are alphanumeric).');
  });

const optionalText = z.string().optional().transform((raw) => (raw?.trim() ? raw.trim() : undefined));

/** An optional text setting checked by `problemOf` (undefined: fine). */
function checkedText(variable: string, problemOf: (text: string) => string | undefined, fix: string) {
  return optionalText.transform((text, ctx): string | undefined => {
    if (text === undefined) return undefined;
    const why = problemOf(text);
    return why === undefined ? text : problem(ctx, variable, `${why} (it is "${text.slice(0, 60)}")`, fix);
  });
}

const pattern = (re: RegExp, what: string) => (text: string) => (re.test(text) ? undefined : `is not ${what}`);

const envSchema = z
  .object({
    PGFERRY_MAX_DATABASES: wholeNumber('PGFERRY_MAX_DATABASES', 1, MAX_DATABASES_LIMIT, DEFAULT_MAX_DATABASES),
    PGFERRY_CONNECT_TIMEOUT_MS: wholeNumber('PGFERRY_CONNECT_TIMEOUT_MS', 100, 600_000, DEFAULT_CONNECT_TIMEOUT_MS),
    PGFERRY_SECRET_KEY: secretKey('PGFERRY_SECRET_KEY'),
    PGFERRY_SECRET_KEY_PREVIOUS: secretKey('PGFERRY_SECRET_KEY_PREVIOUS'),
    PGFERRY_TABLE_PREFIX: tablePrefix,
    PGFERRY_DECODER: decoder,
    PGFERRY_WEB_DIR: optionalText,
    PGFERRY_STREAM_MEMORY_MB: wholeNumber('PGFERRY_STREAM_MEMORY_MB', 8, 4096, DEFAULT_STREAM_MEMORY_MB),
    PGFERRY_COPY_SPLIT_MB: wholeNumber('PGFERRY_COPY_SPLIT_MB', 1, 1_048_576, DEFAULT_COPY_SPLIT_MB),
    PGFERRY_COPY_LANES: wholeNumber('PGFERRY_COPY_LANES', 1, 64, DEFAULT_COPY_LANES),
    PGFERRY_TARGET_HOST: checkedText('PGFERRY_TARGET_HOST', targetHostProblem, 'Use host or host:port, e.g. "10.0.0.5:5432" or "{server}.internal.contoso.com" ({server} is the server name of the route).'),
    PGFERRY_TARGET_HOST_SUFFIX: checkedText('PGFERRY_TARGET_HOST_SUFFIX', hostSuffixProblem, `Use a DNS suffix starting with a dot, e.g. "${AZURE_HOST_SUFFIX}" (the default).`),
    PGFERRY_TARGET_USERNAME: checkedText('PGFERRY_TARGET_USERNAME', (t) => (t.length <= 128 ? undefined : 'is longer than 128 characters'), 'Use the target login\'s name, e.g. "azureadmin".'),
    PGFERRY_SUBSCRIPTION_ID: checkedText('PGFERRY_SUBSCRIPTION_ID', pattern(SUBSCRIPTION_ID, 'a subscription id'), 'Use the GUID of the subscription the target servers are in, or remove it.'),
    PGFERRY_RESOURCE_GROUP: checkedText('PGFERRY_RESOURCE_GROUP', pattern(RESOURCE_GROUP, 'a resource group name'), 'Use the name of the resource group the target servers are in (1–90 letters, digits, ._-()), or remove it.'),
    WEBSITE_OWNER_NAME: z.string().optional(),
    WEBSITE_RESOURCE_GROUP: z.string().optional(),
    PGFERRY_FALLBACK_MAX_WAL_MB: wholeNumber('PGFERRY_FALLBACK_MAX_WAL_MB', 1, 10_000_000, DEFAULT_FALLBACK_MAX_WAL_MB),
    AzureWebJobsStorage: z.string().optional(),
    AzureWebJobsStorage__accountName: z.string().optional(),
    AzureWebJobsStorage__tableServiceUri: z.string().optional(),
  })
  .transform((env, ctx): Settings => {
    const settings: Settings = {
      maxDatabases: env.PGFERRY_MAX_DATABASES,
      connectTimeoutMs: env.PGFERRY_CONNECT_TIMEOUT_MS,
      storage: storageOf(env, ctx),
      decoder: env.PGFERRY_DECODER,
      streamMemoryMb: env.PGFERRY_STREAM_MEMORY_MB,
      copySplitMb: env.PGFERRY_COPY_SPLIT_MB,
      copyLanes: env.PGFERRY_COPY_LANES,
      target: {
        hostSuffix: env.PGFERRY_TARGET_HOST_SUFFIX ?? AZURE_HOST_SUFFIX,
        ...(env.PGFERRY_TARGET_HOST !== undefined ? { host: env.PGFERRY_TARGET_HOST } : {}),
        ...(env.PGFERRY_TARGET_USERNAME !== undefined ? { username: env.PGFERRY_TARGET_USERNAME } : {}),
      },
      arm: armScopeFrom(env),
      fallbackMaxWalMb: env.PGFERRY_FALLBACK_MAX_WAL_MB,
    };
    if (env.PGFERRY_SECRET_KEY !== undefined) settings.secretKey = env.PGFERRY_SECRET_KEY;
    if (env.PGFERRY_SECRET_KEY_PREVIOUS !== undefined) settings.previousSecretKey = env.PGFERRY_SECRET_KEY_PREVIOUS;
    if (env.PGFERRY_TABLE_PREFIX !== undefined) settings.tablePrefix = env.PGFERRY_TABLE_PREFIX;
    if (env.PGFERRY_WEB_DIR !== undefined) settings.webDir = env.PGFERRY_WEB_DIR;
    return settings;
  });

function storageOf(
  env: { AzureWebJobsStorage?: string; AzureWebJobsStorage__accountName?: string; AzureWebJobsStorage__tableServiceUri?: string },
  ctx: z.RefinementCtx,
): StorageSetting {
  const connectionString = env.AzureWebJobsStorage?.trim() ?? '';
  if (connectionString !== '') {
    if (KEY_VAULT_REFERENCE.test(connectionString)) problem(ctx, 'AzureWebJobsStorage', 'is an unresolved Key Vault reference', KEY_VAULT_FIX);
    else if (!connectionString.includes('=')) {
      problem(ctx, 'AzureWebJobsStorage', 'is not a storage connection string', 'Use "UseDevelopmentStorage=true" for Azurite, or the account\'s connection string ("DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…").');
    }
    return { connectionString };
  }
  const uri = env.AzureWebJobsStorage__tableServiceUri?.trim() ?? '';
  if (uri !== '') {
    if (!/^https?:\/\/[^\s/]+/.test(uri)) {
      problem(ctx, 'AzureWebJobsStorage__tableServiceUri', 'is not an http(s) URL', 'Use the account\'s table endpoint, e.g. "https://myaccount.table.core.windows.net".');
    }
    return { tableServiceUri: uri };
  }
  const account = env.AzureWebJobsStorage__accountName?.trim() ?? '';
  if (account !== '') {
    if (!/^[a-z0-9]{3,24}$/.test(account)) {
      problem(ctx, 'AzureWebJobsStorage__accountName', 'is not a storage account name', 'Use the account name: 3–24 lowercase letters and digits.');
    }
    return { tableServiceUri: `https://${account}.table.core.windows.net` };
  }
  problem(
    ctx,
    'AzureWebJobsStorage',
    'is not set',
    'Set AzureWebJobsStorage to a storage connection string ("UseDevelopmentStorage=true" for Azurite), or AzureWebJobsStorage__accountName for a managed identity.',
  );
  return { connectionString: '' };
}

/** Parses the app settings; throws a SettingsError naming each bad variable. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const result = envSchema.safeParse(env);
  if (result.success) return result.data;
  throw new SettingsError(
    result.error.issues.map((issue) => {
      const fix: unknown = issue.code === z.ZodIssueCode.custom ? issue.params?.fix : undefined;
      return { variable: String(issue.path[0] ?? 'settings'), message: issue.message, fix: typeof fix === 'string' ? fix : 'Correct the value.' };
    }),
  );
}

let cached: Settings | undefined;

/** The settings of this process, parsed on first use. */
export function appSettings(): Settings {
  cached ??= loadSettings();
  return cached;
}
