/**
 * The product as a user runs it, for benchmarks: a source and a target cluster, Azurite, and the
 * offline host (in this process; activities in its worker processes) driven over HTTP with the
 * function key — the same routes, orchestrations and activities as `npm start`.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startCluster, type Cluster, type ServerInfo } from '../../emulator/local/cluster';
import { startAzurite, type Azurite } from '../../emulator/local/azurite';
import type { EngineStats } from '../../emulator/durable/engine';
import type { RunningHost } from '../../emulator/host';
import { projectRoot } from '../../emulator/local/root';
import type { MigrationResource } from '../../shared/model/migration-resource';
import { withApiVersion } from '../../shared/model/arm';

/** The engine's figures of the running host: episodes, replay time, histories, activity timings. */
export type HostStats = ReturnType<RunningHost['stats']>;

/** The host process a benchmark drives (bench/lib/host-child.cjs). */
export interface HostProcess {
  url: string;
  /** Activity worker processes the host runs (its resolved `workers`). */
  workers: number;
  /** host.json maxConcurrentActivityFunctions as the host resolved it: activities at once over all workers. */
  maxConcurrentActivityFunctions: number;
  stats(): Promise<HostStats>;
  /** CPU time and peak memory of the host process and of each of its activity workers, so far. */
  processes(): HostProcesses;
  /** The host process (its activity workers are its children). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** One process's figures since it started (from /proc). */
export interface ProcessFigures {
  pid: number;
  /** User + system CPU time. */
  cpuSeconds: number;
  /** Peak resident memory (VmHWM). */
  peakRssMb: number;
}

/**
 * The host's processes: the host itself (HTTP, orchestrations, Table Storage) and its activity
 * workers. The host's stats do not say which worker ran which activity; a worker's CPU seconds
 * say how the activities' work spread over the workers.
 */
export interface HostProcesses {
  host: ProcessFigures | null;
  workers: ProcessFigures[];
}

export interface ProductRig {
  source: Cluster;
  target: Cluster;
  host: HostProcess;
  /** Stops the host (as a deploy or a crash-free restart would) and starts it again on the same storage. */
  stopHost(): Promise<void>;
  startHost(): Promise<void>;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: MigrationResource; text: string }>;
  /** Peak resident memory of the host: its process and its activity workers together, MB (what `npm start` holds; not Azurite). */
  peakRssMb(): number;
  /** Peak resident memory of the benchmark's whole Node tree: this driver, Azurite and the host, MB. */
  benchPeakRssMb(): number;
  stop(): Promise<void>;
}

export interface RigOptions {
  label: string;
  /** postgresql.conf settings of both clusters. */
  settings?: Record<string, string | number>;
  /** Activity worker processes of the host (HostOptions.workers); the host's default when absent. */
  workers?: number;
}

/**
 * `--workers N` of a benchmark: the host's activity worker processes (at least 2, as the host
 * requires); undefined (the host's default) when not given. Checked before anything starts.
 */
export function parseWorkers(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 2) throw new Error(`--workers must be a whole number of at least 2, got ${JSON.stringify(text)}`);
  return n;
}

export async function startProductRig(o: RigOptions): Promise<ProductRig> {
  execFileSync('npm', ['run', 'build'], { cwd: projectRoot(), stdio: 'ignore' });
  const started: Array<Cluster | Azurite> = [];
  const [source, target, azurite] = await Promise.all([
    // One password on both: pgcopydb takes a single PGPASSWORD for its source and target.
    startCluster({ logical: true, label: `${o.label}src`, settings: o.settings, password: 'pgferry-bench-pw' }),
    startCluster({ logical: true, label: `${o.label}tgt`, settings: o.settings, password: 'pgferry-bench-pw' }),
    startAzurite(),
  ]);
  started.push(source, target, azurite);
  const key = randomBytes(24).toString('base64url');
  const hub = `bench${randomBytes(3).toString('hex')}`;
  Object.assign(process.env, { AzureWebJobsStorage: azurite.info.connectionString, PGFERRY_SECRET_KEY: randomBytes(32).toString('base64'), PGFERRY_FUNCTION_KEY: key, PGFERRY_TABLE_PREFIX: 'Bench' });
  const launch = () => forkHost(hub, o.workers);
  let host = await launch();
  let peak = 0;
  let benchPeak = 0;
  const sampler = setInterval(() => {
    if (host.pid !== undefined) peak = Math.max(peak, treeRss(host.pid));
    benchPeak = Math.max(benchPeak, treeRss(process.pid));
  }, 250);
  const rig: ProductRig = {
    source,
    target,
    get host() { return host; },
    async stopHost() { await host.stop(); },
    async startHost() { host = await launch(); },
    async api(method, path, body) {
      const r = await fetch(withApiVersion(`${host.url}/api${path}`), { method, headers: { 'x-functions-key': key, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      const text = await r.text();
      return { status: r.status, text, json: (text ? JSON.parse(text) : {}) as MigrationResource };
    },
    peakRssMb: () => Math.round(peak / 1048576),
    benchPeakRssMb: () => Math.round(benchPeak / 1048576),
    async stop() {
      clearInterval(sampler);
      await host.stop().catch(() => undefined);
      await Promise.allSettled(started.reverse().map((s) => s.stop()));
    },
  };
  return rig;
}

/** What host-child.cjs sends once listening. */
interface Listening {
  url: string;
  workers: number;
  maxConcurrentActivityFunctions: number;
}

/** The host in its own process, as `npm start` runs it (one app per process: a restart is a new process). */
async function forkHost(hub: string, workers: number | undefined): Promise<HostProcess> {
  const argv = [projectRoot(), hub, ...(workers === undefined ? [] : [String(workers)])];
  const child: ChildProcess = fork(join(__dirname, 'host-child.cjs'), argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const listening = await new Promise<Listening>((resolve, reject) => {
    child.once('message', (m: Partial<Listening> & { error?: string }) => (m.url ? resolve(m as Listening) : reject(new Error(`host: ${m.error}`))));
    child.once('exit', (code) => reject(new Error(`host exited (${code}) before listening`)));
  });
  return {
    ...listening,
    pid: child.pid,
    processes: () => hostProcesses(child.pid),
    stats: () => new Promise<HostStats>((resolve) => {
      child.once('message', (m: { stats: HostStats }) => resolve(m.stats));
      child.send('stats');
    }),
    async stop() {
      if (child.exitCode === null) child.send('stop');
      await exited;
    },
  };
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times. */
let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100; // Linux's USER_HZ everywhere it runs
    }
  }
  return clockTicks;
}

/** A live process's CPU time and peak RSS; null once it exited. */
function processFigures(pid: number): ProcessFigures | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return { pid, cpuSeconds: round(ticks / ticksPerSecond()), peakRssMb: Math.round(hwm / 1024) };
  } catch {
    return null;
  }
}

/** The host process and its activity workers (its children running the worker script). */
function hostProcesses(pid: number | undefined): HostProcesses {
  if (pid === undefined) return { host: null, workers: [] };
  let kids: string[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((k) => k !== '');
  } catch { /* the host exited */ }
  const workers = kids.filter((k) => {
    try {
      return readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('worker.js');
    } catch {
      return false;
    }
  });
  return { host: processFigures(pid), workers: workers.map((k) => processFigures(Number(k))).filter((f): f is ProcessFigures => f !== null) };
}

/** Resident memory of a process and its descendants (the host's workers), bytes. */
function treeRss(pid: number): number {
  let total = 0;
  const walk = (p: number) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      const kids = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      for (const k of kids ? kids.split(/\s+/) : []) {
        const cmd = readFileSync(`/proc/${k}/cmdline`, 'utf8');
        if (cmd.includes('node')) walk(Number(k)); // the host's workers, not the PostgreSQL servers
      }
    } catch { /* exited meanwhile */ }
  };
  walk(pid);
  return total;
}

/** The properties file a user sends, for the rig's servers. */
export function migrationBody(source: ServerInfo, target: ServerInfo, dbs: string[], mode: 'Online' | 'Offline') {
  return {
    properties: {
      sourceDbServerResourceId: `${source.host}:${source.port}@${source.user}`,
      targetDbServerFullyQualifiedDomainName: `${target.host}:${target.port}`,
      secretParameters: { adminCredentials: { sourceServerPassword: source.password, targetServerPassword: target.password }, targetServerUsername: target.user },
      dbsToMigrate: dbs, migrationMode: mode, migrationOption: 'ValidateAndMigrate', overwriteDbsInTarget: 'True', sslMode: 'Prefer',
    },
  };
}

export interface Timeline {
  /** Seconds from the start of the wait to each state/substate first seen. */
  steps: Array<{ at: number; state: string; subState: string }>;
  seconds: number;
  last: MigrationResource;
}

const TERMINAL = new Set(['Succeeded', 'Failed', 'Canceled', 'ValidationFailed']);

/** Polls GET every 200 ms until `until` holds; a terminal state it does not accept is an error. */
export async function waitUntil(rig: ProductRig, path: string, until: (m: MigrationResource) => boolean, t0 = performance.now()): Promise<Timeline> {
  const steps: Timeline['steps'] = [];
  for (;;) {
    const { json, status, text } = await rig.api('GET', path);
    if (status !== 200) throw new Error(`GET ${path}: ${status} ${text}`);
    const s = json.properties.currentStatus;
    const seen = `${s.state}/${s.currentSubStateDetails?.currentSubState ?? ''}`;
    const prev = steps.at(-1);
    if (!prev || `${prev.state}/${prev.subState}` !== seen) {
      steps.push({ at: Number(((performance.now() - t0) / 1000).toFixed(1)), state: s.state, subState: s.currentSubStateDetails?.currentSubState ?? '' });
    }
    if (until(json)) return { steps, seconds: (performance.now() - t0) / 1000, last: json };
    if (TERMINAL.has(s.state)) {
      const details = s.state === 'ValidationFailed' ? ` ${JSON.stringify(s.currentSubStateDetails?.validationDetails ?? {})}` : '';
      throw new Error(`migration ended ${s.state}: ${s.error ?? JSON.stringify(s.currentSubStateDetails ?? {})}${details}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The engine's counters without the per-activity table (activityFigures gives that). */
export function engineFigures(stats: HostStats): EngineStats {
  const { activities: _activities, ...engine } = stats;
  return engine;
}

/**
 * The slowest activity function run, and every function's count / total / max seconds; given the
 * epoch ms the run began (its PUT), also when each function first started and last answered.
 */
export function activityFigures(stats: HostStats, since?: number) {
  const all = stats.activities;
  let longest = { name: '', seconds: 0 };
  const byName: Record<string, { count: number; totalSeconds: number; maxSeconds: number; fromSeconds?: number; toSeconds?: number }> = {};
  for (const [name, t] of Object.entries(all)) {
    const span = since === undefined ? {} : { fromSeconds: round((t.firstStartedAt - since) / 1000), toSeconds: round((t.lastEndedAt - since) / 1000) };
    byName[name] = { count: t.count, totalSeconds: round(t.totalMs / 1000), maxSeconds: round(t.maxMs / 1000), ...span };
    if (t.maxMs / 1000 > longest.seconds) longest = { name, seconds: round(t.maxMs / 1000) };
  }
  return { longestActivity: longest, activities: byName };
}

export const round = (n: number) => Number(n.toFixed(2));
