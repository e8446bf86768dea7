/**
 * Host settings: host.json (routePrefix, task hub, concurrency, functionTimeout), local.settings.json (app
 * settings, as Core Tools loads them) and the command line, merged once at start-up.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';

import { resolveKeySettings, type AuthMode, type KeySettings } from './http/auth';
import type { LogLevel } from './log';

export interface HostOptions {
  /** The function app's folder (package.json, host.json); default the current directory. */
  appDir?: string;
  /** Entry files or globs relative to appDir, instead of package.json `main`. */
  entry?: string[];
  /** Default 7071 (or local.settings.json Host.LocalHttpPort); 0 picks a free port. */
  port?: number;
  /** Interface to bind; default 127.0.0.1 so nothing is exposed beyond the machine. */
  host?: string;
  /** Storage connection string; default AzureWebJobsStorage, then Azurite's default endpoint. */
  storage?: string;
  /** Task hub name, instead of host.json extensions.durableTask.hubName. */
  hub?: string;
  logLevel?: LogLevel;
  /** How long stop() lets running activities finish, in ms (default 5000). */
  drainMs?: number;
  /** Function keys: `on`, `off` or `auto` (default PGFERRY_AUTH, else auto: enforced when a key is set). */
  auth?: AuthMode;
  /** `[d.]hh:mm:ss` or `-1`, instead of host.json functionTimeout (default 00:30:00). */
  functionTimeout?: string;
  /** Activity worker processes (at least 2; default 2). */
  workers?: number;
  /**
   * Test hook: activities whose every invocation runs twice at once on two workers (a lease that
   * expired and was redelivered); default PGFERRY_HOST_DELIVER_TWICE (comma-separated).
   */
  deliverTwice?: string[];
}

export interface HostConfig {
  appDir: string;
  entry: string[];
  port: number;
  host: string;
  storage: string;
  hubName: string;
  routePrefix: string;
  maxConcurrentActivityFunctions: number;
  maxConcurrentOrchestratorFunctions: number;
  logLevel: LogLevel;
  drainMs: number;
  /** Function and system keys (PGFERRY_FUNCTION_KEY, PGFERRY_SYSTEM_KEY) and whether they are enforced. */
  keys: KeySettings;
  /** functionTimeout in ms (undefined: unbounded, `-1`), and as written. */
  functionTimeoutMs: number | undefined;
  functionTimeout: string;
  workers: number;
  deliverTwice: string[];
}

const positiveInt = z.number().int().positive();

const hostJsonSchema = z
  .object({
    functionTimeout: z.string().optional(),
    extensions: z
      .object({
        http: z.object({ routePrefix: z.string().optional() }).passthrough().optional(),
        durableTask: z
          .object({
            hubName: z.string().optional(),
            maxConcurrentActivityFunctions: positiveInt.optional(),
            maxConcurrentOrchestratorFunctions: positiveInt.optional(),
          })
          .passthrough()
          .optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

const localSettingsSchema = z
  .object({
    Values: z.record(z.union([z.string(), z.number(), z.boolean()])).optional(),
    Host: z.object({ LocalHttpPort: z.number().int().optional() }).passthrough().optional(),
  })
  .passthrough();

const packageJsonSchema = z.object({ main: z.string().optional() }).passthrough();

/** Azure's default functionTimeout on the plans that allow more than 10 minutes (Premium, Dedicated, Flex). */
export const DEFAULT_FUNCTION_TIMEOUT = '00:30:00';
export const DEFAULT_WORKERS = 2;

/**
 * host.json's functionTimeout, a .NET TimeSpan (`[d.]hh:mm:ss[.fff]`), in ms; `-1` is unbounded
 * (undefined). Throws on anything else, naming `where`.
 */
export function parseFunctionTimeout(text: string, where: string): number | undefined {
  const t = text.trim();
  if (t === '-1') return undefined;
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(t);
  if (!m) throw new Error(`${where} must be a time span like 00:05:00 ([d.]hh:mm:ss) or -1, got ${JSON.stringify(text)}`);
  const [, d, h, min, sec, frac] = m;
  if (Number(h) > 23 || Number(min) > 59 || Number(sec) > 59) throw new Error(`${where}: ${text} is not a valid time span`);
  const ms = ((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Number(sec) * 1000 + Math.round(Number(`0.${frac ?? '0'}`) * 1000);
  if (ms <= 0) throw new Error(`${where} must be positive, got ${text}`);
  return ms;
}

/** Azure's rule for task hub names; they also become the table-name prefix here. */
const HUB_PATTERN = /^[A-Za-z][A-Za-z0-9]{2,44}$/;

function readJson(path: string): unknown {
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function parseFile<T>(path: string, schema: z.ZodType<T>): T | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = schema.safeParse(readJson(path));
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(`${path}: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`);
  }
  return parsed.data;
}

/** `%NAME%` app-setting references, as the Functions host resolves them in host.json. */
function resolveSettingRefs(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/%([^%]+)%/g, (whole, name: string) => env[name] ?? whole);
}

/**
 * Copies local.settings.json Values into `env` without overriding what is already set, as Core
 * Tools does; returns the LocalHttpPort it names, if any.
 */
export function applyLocalSettings(appDir: string, env: NodeJS.ProcessEnv): number | undefined {
  const settings = parseFile(join(appDir, 'local.settings.json'), localSettingsSchema);
  for (const [k, v] of Object.entries(settings?.Values ?? {})) {
    if (env[k] === undefined) env[k] = String(v);
  }
  return settings?.Host?.LocalHttpPort;
}

/** Merges options, host.json and the environment (after applyLocalSettings). */
export function resolveConfig(options: HostOptions, env: NodeJS.ProcessEnv, localPort?: number): HostConfig {
  const appDir = resolve(options.appDir ?? process.cwd());
  const hostJson = parseFile(join(appDir, 'host.json'), hostJsonSchema);
  const durable = hostJson?.extensions?.durableTask;
  const pkg = parseFile(join(appDir, 'package.json'), packageJsonSchema);

  const entry = options.entry && options.entry.length > 0 ? options.entry : pkg?.main ? [pkg.main] : ['index.js'];
  const hubName = resolveSettingRefs(options.hub ?? durable?.hubName ?? 'TestHubName', env);
  if (!HUB_PATTERN.test(hubName)) {
    throw new Error(`task hub name ${JSON.stringify(hubName)} must be 3–45 letters or digits, starting with a letter`);
  }
  const defaultLimit = 10 * Math.max(1, cpus().length);
  const port = options.port ?? localPort ?? 7071;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`port must be 0–65535, got ${port}`);

  const host = options.host ?? '127.0.0.1';
  const functionTimeout = options.functionTimeout ?? hostJson?.functionTimeout ?? DEFAULT_FUNCTION_TIMEOUT;
  const functionTimeoutMs = parseFunctionTimeout(functionTimeout, options.functionTimeout !== undefined ? '--function-timeout' : 'host.json functionTimeout');
  const workers = options.workers ?? DEFAULT_WORKERS;
  if (!Number.isInteger(workers) || workers < 2) throw new Error(`--workers must be at least 2 (no activity may rely on memory another left), got ${workers}`);
  const deliverTwice = options.deliverTwice ?? (env.PGFERRY_HOST_DELIVER_TWICE ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '');
  return {
    appDir,
    entry,
    port,
    host,
    storage: options.storage ?? env.AzureWebJobsStorage ?? 'UseDevelopmentStorage=true',
    hubName,
    routePrefix: (hostJson?.extensions?.http?.routePrefix ?? 'api').replace(/^\/+|\/+$/g, ''),
    maxConcurrentActivityFunctions: durable?.maxConcurrentActivityFunctions ?? defaultLimit,
    maxConcurrentOrchestratorFunctions: durable?.maxConcurrentOrchestratorFunctions ?? defaultLimit,
    logLevel: options.logLevel ?? 'info',
    drainMs: options.drainMs ?? 5000,
    keys: resolveKeySettings(options.auth, env, host),
    functionTimeoutMs,
    functionTimeout: functionTimeout.trim(),
    workers,
    deliverTwice,
  };
}
