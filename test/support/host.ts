/**
 * The offline host as a test fixture, for every e2e file and the fault suite: the built app (dist/)
 * — pgferry itself, or another app folder such as test/fixtures/durable-app — run by
 * `node dist/emulator/main.js` as a real child process, so a test can kill -9 it and start it
 * again on the same task hub, tables and secret key.
 *
 *   const host = useHost({ functionKey });        // an e2e file's host: beforeAll / afterAll
 *   const h = await startHost({ storage });        // one more, or one in a suite without the rig
 *   const again = await h.restart();               // SIGKILL, then the same hub, prefix, key, env
 *   await stopAllHosts();                          // every host this file started
 *
 * `http()` sends the function key of the host a URL points at (its system key for the Durable
 * webhooks), so helpers work unchanged on hosts that enforce keys.
 *
 * Every host runs with the action watcher (action-watcher.cjs, also in its worker processes): a
 * Task.any/Task.all holding a task yielded before is recorded, and stopAllHosts() — every file's
 * afterAll — fails naming it (the global teardown checks once more for the whole run). A test that
 * provokes one on purpose starts its host with `actionWatch: 'record'` and reads actionViolations().
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { describeViolation, readViolations, type ActionViolation } from './action-watch';
import { freePort } from './ports';
import { withApiVersion } from '../../shared/model/arm';

export const ROOT = resolve(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'emulator', 'main.js');
export const ACTION_WATCHER = join(ROOT, 'test', 'support', 'action-watcher.cjs');
const BUILT_DIRS = ['functions', 'orchestrators', 'shared', 'emulator', 'cli'];
const BUILD_LOCK_MS = 300_000;
const START_MS = 60_000;

// Build ------------------------------------------------------------------------------------------

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []);
}

function isFresh(): boolean {
  return BUILT_DIRS.flatMap((d) => sources(join(ROOT, d))).every((ts) => {
    const js = join(ROOT, 'dist', relative(ROOT, ts)).replace(/\.ts$/, '.js');
    return existsSync(js) && statSync(js).mtimeMs >= statSync(ts).mtimeMs;
  });
}

/** Builds dist/ (tsconfig.build.json) unless it is current; test files share one build through a lock directory. */
export async function ensureBuilt(): Promise<void> {
  if (isFresh()) return;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const lock = join(ROOT, 'dist', '.build-lock');
  const deadline = Date.now() + BUILD_LOCK_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`build lock ${lock} held for ${BUILD_LOCK_MS / 60_000} minutes`);
      // A lock older than any build was left by a killed run.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > BUILD_LOCK_MS) rmdirSync(lock);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (!isFresh()) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
  } finally {
    rmdirSync(lock);
  }
}

// Hosts ------------------------------------------------------------------------------------------

export interface HostOptions {
  /** Table Storage connection string (useHost: the rig's Azurite). */
  storage: string;
  /** The app folder the host loads (its package.json `main`); default pgferry itself. */
  app?: string;
  /** Task hub, table prefix and secret key; new ones unless given (a restarted host reuses them). */
  hub?: string;
  prefix?: string;
  secretKey?: string;
  /** A free one unless given. */
  port?: number;
  env?: Record<string, string>;
  /** Enforce function keys with this key (PGFERRY_FUNCTION_KEY); default: no key, not enforced. */
  functionKey?: string;
  /** A separate system key for the Durable webhooks (PGFERRY_SYSTEM_KEY). */
  systemKey?: string;
  /** Extra command-line options for emulator/main.js, e.g. ['--auth', 'off']. */
  args?: string[];
  /**
   * `fail` (default): a compound action holding a task already yielded fails the file's afterAll.
   * `record`: for tests that provoke one; read them with actionViolations().
   */
  actionWatch?: 'fail' | 'record';
}

export interface Host {
  url: string;
  /** `${url}/api` */
  api: string;
  port: number;
  hub: string;
  prefix: string;
  secretKey: string;
  /** Set when the host enforces function keys; http() sends it to this host by itself. */
  functionKey?: string;
  /** The key for /runtime/webhooks/durabletask (the function key unless a separate one was given). */
  systemKey?: string;
  child: ChildProcess;
  /** Everything the host printed so far (stdout and stderr). */
  logs(): string;
  /** What the action watcher recorded for this host (and its restarts) so far, and where. */
  actionViolations(): ActionViolation[];
  actionWatchFile: string;
  /** Sends `signal` (default SIGKILL) and resolves with the exit code once it is gone. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /**
   * Kills it (`signal`, default SIGKILL) and starts it again with the same options, hub, prefix and
   * secret key, on a new free port unless a port was given: it resumes its orchestrations.
   */
  restart(signal?: NodeJS.Signals): Promise<Host>;
}

const live = new Set<Host>();
/** Watch files of this process's hosts not yet checked by stopAllHosts(). */
const watched = new Set<string>();

let watchDir: string | undefined;
/** The run's watch directory (the global setup's, so its teardown sees every file), else one of this process. */
function actionWatchDir(): string {
  if (watchDir) return watchDir;
  let provided: string | undefined;
  try {
    provided = inject('actionWatchDir');
  } catch {
    provided = undefined;
  }
  watchDir = provided ?? process.env.PGFERRY_ACTION_WATCH_DIR ?? mkdtempSync(join(tmpdir(), 'pgferry-action-watch-'));
  mkdirSync(watchDir, { recursive: true });
  return watchDir;
}

export async function startHost(options: HostOptions): Promise<Host> {
  await ensureBuilt();
  const tag = randomBytes(3).toString('hex');
  const hub = options.hub ?? `pgf${tag}`;
  const prefix = options.prefix ?? `T${tag}`;
  const secretKey = options.secretKey ?? randomBytes(32).toString('base64');
  /** What a restart starts again. */
  const o = { ...options, hub, prefix, secretKey };
  const port = o.port ?? (await freePort());
  const keyEnv: Record<string, string> = {
    ...(o.functionKey ? { PGFERRY_FUNCTION_KEY: o.functionKey } : {}),
    ...(o.systemKey ? { PGFERRY_SYSTEM_KEY: o.systemKey } : {}),
  };
  const env: NodeJS.ProcessEnv = { ...process.env, AzureWebJobsStorage: o.storage, PGFERRY_SECRET_KEY: secretKey, PGFERRY_TABLE_PREFIX: prefix, ...keyEnv, ...o.env };
  // Keys only when asked for: an inherited PGFERRY_FUNCTION_KEY would make every other test send 401s.
  if (!o.functionKey && !o.env?.PGFERRY_FUNCTION_KEY) delete env.PGFERRY_FUNCTION_KEY;
  if (!o.systemKey && !o.env?.PGFERRY_SYSTEM_KEY) delete env.PGFERRY_SYSTEM_KEY;
  const watchFile = join(actionWatchDir(), o.actionWatch === 'record' ? `${hub}.expected.jsonl` : `${hub}.jsonl`);
  if (o.actionWatch !== 'record') watched.add(watchFile);
  env.PGFERRY_ACTION_WATCH_FILE = watchFile;
  const child = spawn(process.execPath, ['--require', ACTION_WATCHER, MAIN, '--app', o.app ?? ROOT, '--port', String(port), '--storage', o.storage, '--hub', hub, ...(o.args ?? [])], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let out = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => { exitCode = code; r(code); }));
  child.stdout?.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr?.on('data', (b: Buffer) => { out += b.toString(); });
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (exitCode === undefined) child.kill(signal);
    const code = await exited;
    live.delete(host);
    return code;
  };
  const host: Host = {
    url: `http://127.0.0.1:${port}`,
    api: `http://127.0.0.1:${port}/api`,
    port,
    hub,
    prefix,
    secretKey,
    child,
    ...(o.functionKey ? { functionKey: o.functionKey, systemKey: o.systemKey ?? o.functionKey } : {}),
    logs: () => out,
    actionViolations: () => readViolations(watchFile),
    actionWatchFile: watchFile,
    kill,
    restart: async (signal = 'SIGKILL') => {
      await kill(signal);
      return startHost(o);
    },
  };
  live.add(host);
  const deadline = Date.now() + START_MS;
  while (!out.includes('pgferry host listening on ')) {
    if (exitCode !== undefined) throw new Error(`host exited (${exitCode}) before listening:\n${out}`);
    if (Date.now() > deadline) {
      await host.kill();
      throw new Error(`host did not start in ${START_MS / 1000} s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return host;
}

/**
 * Kills (SIGKILL) every host this process started that is still running, then fails if the action
 * watcher recorded a Task.any/Task.all holding a task already yielded in any of them.
 */
export async function stopAllHosts(): Promise<void> {
  await Promise.all([...live].map((h) => h.kill('SIGKILL')));
  const violations = [...watched].flatMap(readViolations);
  watched.clear();
  if (violations.length > 0) {
    throw new Error(`the Durable extension would schedule these tasks twice (azure-functions-durable-js#574):\n${violations.map(describeViolation).join('\n')}`);
  }
}

/**
 * A test file's host: started by beforeAll (on the rig's Azurite unless `storage` is given), and
 * every host of the file stopped by afterAll. The returned object is filled in by that beforeAll,
 * so tests use it directly (`host.url`, `host.logs()`).
 */
export function useHost(options: Partial<HostOptions> = {}): Host {
  const host = {} as Host;
  beforeAll(async () => {
    Object.assign(host, await startHost({ storage: inject('azurite').connectionString, ...options }));
  });
  afterAll(stopAllHosts);
  return host;
}

// HTTP -------------------------------------------------------------------------------------------

export interface Reply {
  status: number;
  text: string;
  json<T = unknown>(): T;
}

export interface HttpInit {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * The api-version added to ARM routes (…/flexibleServers/…) that name none: the current one by
   * default, as ARM clients send it; null sends none (for tests of its absence).
   */
  apiVersion?: string | null;
  /**
   * The key to send as x-functions-key. Default: the key of the live host the URL points at (its
   * system key for /runtime/webhooks/…), so helpers work unchanged on hosts that enforce keys;
   * null sends none.
   */
  key?: string | null;
}

function keyFor(url: string): string | undefined {
  const u = new URL(url);
  const host = [...live].find((h) => new URL(h.url).origin === u.origin);
  return u.pathname.startsWith('/runtime/webhooks/') ? host?.systemKey : host?.functionKey;
}

export async function http(rawUrl: string, init: HttpInit = {}): Promise<Reply> {
  const url = init.apiVersion === null ? rawUrl : withApiVersion(rawUrl, init.apiVersion);
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const key = init.key === null ? undefined : (init.key ?? keyFor(url));
  const headers: Record<string, string> = {
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(key === undefined ? {} : { 'x-functions-key': key }),
    ...init.headers,
  };
  const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), body, headers });
  const text = await res.text();
  return { status: res.status, text, json: <T>() => JSON.parse(text) as T };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
