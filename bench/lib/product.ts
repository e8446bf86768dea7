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
  stats(): Promise<HostStats>;
  stop(): Promise<void>;
}

export interface ProductRig {
  source: Cluster;
  target: Cluster;
  host: HostProcess;
  /** Stops the host (as a deploy or a crash-free restart would) and starts it again on the same storage. */
  stopHost(): Promise<void>;
  startHost(): Promise<void>;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: MigrationResource; text: string }>;
  /** Peak resident memory of this process and the host's worker processes, MB. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

export interface RigOptions {
  label: string;
  /** postgresql.conf settings of both clusters. */
  settings?: Record<string, string | number>;
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
  const launch = () => forkHost(hub);
  let host = await launch();
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, treeRss(process.pid)); }, 250);
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
    async stop() {
      clearInterval(sampler);
      await host.stop().catch(() => undefined);
      await Promise.allSettled(started.reverse().map((s) => s.stop()));
    },
  };
  return rig;
}

/** The host in its own process, as `npm start` runs it (one app per process: a restart is a new process). */
async function forkHost(hub: string): Promise<HostProcess> {
  const child: ChildProcess = fork(join(__dirname, 'host-child.cjs'), [projectRoot(), hub], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url?: string; error?: string }) => (m.url ? resolve(m.url) : reject(new Error(`host: ${m.error}`))));
    child.once('exit', (code) => reject(new Error(`host exited (${code}) before listening`)));
  });
  return {
    url,
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

/** The slowest activity function run, and every function's count / total / max seconds. */
export function activityFigures(stats: HostStats) {
  const all = stats.activities;
  let longest = { name: '', seconds: 0 };
  const byName: Record<string, { count: number; totalSeconds: number; maxSeconds: number }> = {};
  for (const [name, t] of Object.entries(all)) {
    byName[name] = { count: t.count, totalSeconds: round(t.totalMs / 1000), maxSeconds: round(t.maxMs / 1000) };
    if (t.maxMs / 1000 > longest.seconds) longest = { name, seconds: round(t.maxMs / 1000) };
  }
  return { longestActivity: longest, activities: byName };
}

export const round = (n: number) => Number(n.toFixed(2));
