/**
 * The offline host for the torture runner: `node dist/emulator/main.js` as a child process (as
 * test/support/host.ts starts it, without vitest, so `npm run torture` runs under vite-node), with
 * the action watcher preloaded. A host can be killed with SIGKILL and started again on the same
 * task hub, table prefix and secret key: it resumes its orchestrations.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readViolations, describeViolation } from '../support/action-watch';
import { freePort } from '../../emulator/local/ports';

export const ROOT = resolve(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'emulator', 'main.js');
const WATCHER = join(ROOT, 'test', 'support', 'action-watcher.cjs');
const START_MS = 120_000;
/** Starting a host on a machine this busy can time out; it is tried this many times. */
const START_TRIES = 3;
/** Only the tail of a host's log is kept (a long run of many seeds would hold it all otherwise). */
const LOG_KEEP = 200_000;

export interface TortureHostOptions {
  storage: string;
  env?: Record<string, string>;
  /** Where the action watcher writes (one file per hub). */
  watchDir: string;
  label: string;
}

export interface TortureHost {
  api: string;
  label: string;
  logs(): string;
  /** SIGKILL, then the same hub, prefix, secret key and environment on a new port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** What the action watcher recorded for this host (its restarts included). */
  violations(): string[];
}

interface Process {
  child: ChildProcess;
  exited: Promise<void>;
  api: string;
}

export async function startTortureHost(o: TortureHostOptions): Promise<TortureHost> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm run build first`);
  const tag = randomBytes(3).toString('hex');
  const hub = `tort${tag}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AzureWebJobsStorage: o.storage,
    PGFERRY_SECRET_KEY: randomBytes(32).toString('base64'),
    PGFERRY_TABLE_PREFIX: `T${tag}`,
    PGFERRY_ACTION_WATCH_FILE: join(o.watchDir, `${hub}.jsonl`),
    ...o.env,
  };
  delete env.PGFERRY_FUNCTION_KEY;
  delete env.PGFERRY_SYSTEM_KEY;
  let out = '';
  const append = (b: Buffer) => {
    out += b.toString();
    if (out.length > LOG_KEEP * 2) out = out.slice(-LOG_KEEP);
  };

  const launch = async (): Promise<Process> => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--require', WATCHER, MAIN, '--app', ROOT, '--port', String(port), '--storage', o.storage, '--hub', hub], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let gone = false;
    const exited = new Promise<void>((r) => child.once('exit', () => { gone = true; r(); }));
    // This process's own output until it listens (the shared log holds earlier processes' lines too).
    let early = '';
    const onData = (b: Buffer) => {
      if (early.length < 100_000) early += b.toString();
      append(b);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const deadline = Date.now() + START_MS;
    while (!early.includes('pgferry host listening on ')) {
      if (gone) throw new Error(`host ${o.label} exited before listening:\n${out.slice(-3000)}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`host ${o.label} did not start in ${START_MS / 1000} s:\n${out.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return { child, exited, api: `http://127.0.0.1:${port}/api` };
  };

  const launchRetried = async (): Promise<Process> => {
    for (let i = 1; ; i++) {
      try {
        return await launch();
      } catch (e) {
        if (i >= START_TRIES) throw e;
      }
    }
  };
  const kill = async (p: Process) => {
    p.child.kill('SIGKILL');
    await p.exited;
  };
  const killOnExit = () => current.child.kill('SIGKILL');
  let current = await launchRetried();
  process.on('exit', killOnExit);
  const host: TortureHost = {
    api: current.api,
    label: o.label,
    logs: () => out,
    async restart() {
      await kill(current);
      out += `\n--- host killed (SIGKILL) and restarted ---\n`;
      current = await launchRetried();
      host.api = current.api;
    },
    async stop() {
      process.off('exit', killOnExit);
      await kill(current);
    },
    violations: () => readViolations(env.PGFERRY_ACTION_WATCH_FILE as string).map(describeViolation),
  };
  return host;
}
