/**
 * pgferry itself, end to end: the built app (dist/) in the offline host, as a real child process
 * (so tests can kill -9 it), on the rig's Azurite, with its own table prefix and task hub.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { freePort } from './ports';

export const ROOT = resolve(__dirname, '..', '..');
const BUILT_DIRS = ['functions', 'orchestrators', 'shared', 'emulator', 'cli'];

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

/** Builds dist/ unless it is current; test files share one build through a lock directory. */
export async function ensureBuilt(): Promise<void> {
  if (isFresh()) return;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const lock = join(ROOT, 'dist', '.build-lock');
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`build lock ${lock} held for 5 minutes`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (!isFresh()) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
  } finally {
    rmdirSync(lock);
  }
}

export interface PgferryHost {
  url: string;
  api: string;
  hub: string;
  prefix: string;
  secretKey: string;
  /** Set when the host enforces function keys; http() sends it to this host by itself. */
  functionKey?: string;
  /** The key for /runtime/webhooks/durabletask (the function key unless a separate one was given). */
  systemKey?: string;
  child: ChildProcess;
  logs(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface SpawnOptions {
  storage: string;
  /** Reuse a hub/prefix/key (a restarted host resumes the same migrations). */
  hub?: string;
  prefix?: string;
  secretKey?: string;
  port?: number;
  env?: Record<string, string>;
  /** Enforce function keys with this key (PGFERRY_FUNCTION_KEY); default: no key, not enforced. */
  functionKey?: string;
  /** A separate system key for the Durable webhooks (PGFERRY_SYSTEM_KEY). */
  systemKey?: string;
  /** Extra command-line options for emulator/main.js, e.g. ['--auth', 'off']. */
  args?: string[];
}

const live = new Set<PgferryHost>();

export async function spawnPgferry(o: SpawnOptions): Promise<PgferryHost> {
  await ensureBuilt();
  const port = o.port ?? (await freePort());
  const tag = randomBytes(3).toString('hex');
  const hub = o.hub ?? `pgf${tag}`;
  const prefix = o.prefix ?? `T${tag}`;
  const secretKey = o.secretKey ?? randomBytes(32).toString('base64');
  const keyEnv: Record<string, string> = {
    ...(o.functionKey ? { PGFERRY_FUNCTION_KEY: o.functionKey } : {}),
    ...(o.systemKey ? { PGFERRY_SYSTEM_KEY: o.systemKey } : {}),
  };
  const env: NodeJS.ProcessEnv = { ...process.env, AzureWebJobsStorage: o.storage, PGFERRY_SECRET_KEY: secretKey, PGFERRY_TABLE_PREFIX: prefix, ...keyEnv, ...o.env };
  // Keys only when asked for: an inherited PGFERRY_FUNCTION_KEY would make every other test send 401s.
  if (!o.functionKey && !o.env?.PGFERRY_FUNCTION_KEY) delete env.PGFERRY_FUNCTION_KEY;
  if (!o.systemKey && !o.env?.PGFERRY_SYSTEM_KEY) delete env.PGFERRY_SYSTEM_KEY;
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'emulator', 'main.js'), '--app', ROOT, '--port', String(port), '--storage', o.storage, '--hub', hub, ...(o.args ?? [])], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let out = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => { exitCode = code; r(code); }));
  child.stdout?.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr?.on('data', (b: Buffer) => { out += b.toString(); });
  const host: PgferryHost = {
    url: `http://127.0.0.1:${port}`,
    api: `http://127.0.0.1:${port}/api`,
    hub, prefix, secretKey, child,
    ...(o.functionKey ? { functionKey: o.functionKey, systemKey: o.systemKey ?? o.functionKey } : {}),
    logs: () => out,
    kill: async (signal = 'SIGKILL') => {
      if (exitCode === undefined) child.kill(signal);
      const code = await exited;
      live.delete(host);
      return code;
    },
  };
  live.add(host);
  const deadline = Date.now() + 60_000;
  while (!out.includes('pgferry host listening on ')) {
    if (exitCode !== undefined) throw new Error(`host exited (${exitCode}) before listening:\n${out}`);
    if (Date.now() > deadline) {
      await host.kill();
      throw new Error(`host did not start in 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return host;
}

export async function killAllPgferry(): Promise<void> {
  await Promise.all([...live].map((h) => h.kill('SIGKILL')));
}

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

export async function http(url: string, init: HttpInit = {}): Promise<Reply> {
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
