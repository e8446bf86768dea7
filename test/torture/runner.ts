/**
 * Runs many seeds: one source and one target cluster (a database per seed), one Azurite, started
 * once; `concurrency` seeds at a time. Seeds without a host kill share a host per decoder; a seed
 * whose fault schedule kills the host gets a host of its own (started for it, stopped after it),
 * so a host kill never touches another seed's migration and every seed's outcome depends on its
 * own number only — `--seed S` reruns exactly that seed's schema, workload and fault schedule.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerInfo } from '../../emulator/local/cluster';
import { startTortureHost, type TortureHost } from './host';
import { planSeed } from './plan';
import { diverged, dropSeedDatabases, runSeed, type SeedResult } from './run-seed';

export interface RunnerOptions {
  source: ServerInfo;
  target: ServerInfo;
  storage: string;
  seeds: number[];
  concurrency: number;
  /** Drop each seed's databases once it passed (the failing ones stay for a look). */
  dropPassed?: boolean;
  log?: (line: string) => void;
  /**
   * Kinds of difference ('large object', 'sequence', 'table', 'schema') reported but not counted as a
   * divergence: known defects being fixed elsewhere, so that the run still finds the others.
   */
  tolerate?: string[];
  /** Run the seeds' workloads without their faults. */
  noFaults?: boolean;
  /** The command that reruns one seed (printed for each failure). */
  reproduce: (seed: number) => string;
}

export interface RunSummary {
  seeds: number;
  /** Succeeded, judged equal, nothing left on the source. */
  passed: number;
  /** Ended with the one clear failure their plan allows (run-seed.ts expectedFailure): neither passed nor diverged. */
  expectedFailures: Array<{ seed: number; why: string }>;
  divergences: number;
  faultsByKind: Record<string, number>;
  /** Diverged seeds by what diverged: a state other than Succeeded, each kind of difference, leftovers. */
  divergencesByKind: Record<string, number>;
  failures: Array<SeedResult & { reproduce: string; hostLogTail?: string }>;
  results: SeedResult[];
  actionViolations: string[];
  durationMs: number;
}

/** What diverged in a seed, as kinds: `state Failed`, `table`, `sequence`, `large object`, `schema`, `leftover`. */
function kindsOf(r: SeedResult): string[] {
  const kinds = new Set<string>();
  if (r.state !== 'Succeeded') kinds.add(`state ${r.state}`);
  for (const d of r.differences) kinds.add(['table', 'sequence', 'large object', 'schema'].find((k) => d.startsWith(k)) ?? 'other');
  if (r.leftovers.length > 0) kinds.add('leftover');
  return [...kinds];
}

/** The host's log about this seed: all of it on its own host, its lines (by database or migration name) on a shared one. */
function logOf(host: TortureHost, seed: number): string {
  if (host.label === `seed-${seed}`) return host.logs().slice(-6000);
  const mine = new RegExp(`(torture_${seed}|seed-${seed})(?![0-9])`);
  return host.logs().split('\n').filter((l) => mine.test(l)).slice(-40).join('\n');
}

export async function runSeeds(o: RunnerOptions): Promise<RunSummary> {
  const t0 = Date.now();
  const log = o.log ?? ((l: string) => console.log(l));
  const watchDir = mkdtempSync(join(tmpdir(), 'pgferry-torture-watch-'));
  const shared = new Map<string, Promise<TortureHost>>();
  const allHosts: TortureHost[] = [];
  const sharedHost = (decoder: string) => {
    let h = shared.get(decoder);
    if (!h) {
      h = startTortureHost({ storage: o.storage, env: { PGFERRY_DECODER: decoder }, watchDir, label: `shared-${decoder}` }).then((x) => { allHosts.push(x); return x; });
      shared.set(decoder, h);
    }
    return h;
  };
  const results: SeedResult[] = [];
  const failures: RunSummary['failures'] = [];
  const queue = [...o.seeds];

  const one = async (seed: number) => {
    const planned = planSeed(seed);
    const plan = o.noFaults ? { ...planned, faults: [], ownHost: false } : planned;
    const failed = (e: unknown): SeedResult => ({
      seed, decoder: plan.decoder, ownHost: plan.ownHost, state: 'harness error', error: String(e), equal: false, differences: [], tables: 0, rows: 0, faults: [], workloadErrors: [], leftovers: [], durationMs: 0, timings: {},
    });
    let host: TortureHost | undefined;
    let r: SeedResult;
    try {
      host = plan.ownHost
        ? await startTortureHost({ storage: o.storage, env: { PGFERRY_DECODER: plan.decoder }, watchDir, label: `seed-${seed}` })
        : await sharedHost(plan.decoder);
      if (plan.ownHost) allHosts.push(host);
      const h = host;
      r = await runSeed({ source: o.source, target: o.target, host: h, log: (l: string) => log(`[seed ${seed}] ${l}`) }, plan).catch(failed);
    } catch (e) {
      r = failed(e);
    }
    const tolerated = r.differences.filter((d) => (o.tolerate ?? []).some((k) => d.startsWith(k)));
    if (tolerated.length > 0) {
      r.toleratedDifferences = tolerated;
      r.differences = r.differences.filter((d) => !tolerated.includes(d));
      r.equal = r.differences.length === 0;
    }
    results.push(r);
    const bad = diverged(r);
    if (bad) failures.push({ ...r, reproduce: o.reproduce(seed), ...(host ? { hostLogTail: logOf(host, seed) } : {}) });
    if (plan.ownHost) await host?.stop().catch(() => undefined);
    if (!bad && o.dropPassed !== false) await dropSeedDatabases(o, seed).catch(() => undefined);
    log(`[seed ${seed}] ${bad ? 'DIVERGED' : r.expectedFailure ? `expected clear failure (${r.expectedFailure})` : 'ok'}: ${r.state}${r.error ? ` (${r.error.slice(0, 300)})` : ''}, ${r.tables} tables, ${r.rows} rows, ${r.faults.length} fault(s), ${(r.durationMs / 1000).toFixed(1)} s (waiting at ${((r.timings.waiting ?? 0) / 1000).toFixed(1)} s)${r.differences.length ? `\n    ${r.differences.slice(0, 8).join('\n    ')}` : ''}${r.workloadErrors.length ? `\n    workload errors: ${r.workloadErrors.slice(0, 3).join(' | ')}` : ''}${r.stuck ? `\n    stuck: ${r.stuck.replace(/\n/g, '\n      ')}` : ''}${bad ? `\n    rerun: ${o.reproduce(seed)}` : ''}`);
  };

  const lanes = Array.from({ length: Math.max(1, o.concurrency) }, async () => {
    for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) await one(seed);
  });
  try {
    await Promise.all(lanes);
  } finally {
    await Promise.allSettled(allHosts.map((h) => h.stop()));
  }
  const actionViolations = allHosts.flatMap((h) => h.violations());
  rmSync(watchDir, { recursive: true, force: true });

  const faultsByKind: Record<string, number> = {};
  for (const f of results.flatMap((r) => r.faults)) faultsByKind[f.kind] = (faultsByKind[f.kind] ?? 0) + 1;
  const divergencesByKind: Record<string, number> = {};
  for (const f of failures) for (const k of kindsOf(f)) divergencesByKind[k] = (divergencesByKind[k] ?? 0) + 1;
  results.sort((a, b) => a.seed - b.seed);
  failures.sort((a, b) => a.seed - b.seed);
  const expectedFailures = results.flatMap((r) => (r.expectedFailure !== undefined && !diverged(r) ? [{ seed: r.seed, why: r.expectedFailure }] : []));
  return {
    seeds: results.length,
    passed: results.length - failures.length - expectedFailures.length,
    expectedFailures,
    divergences: failures.length,
    faultsByKind,
    divergencesByKind,
    failures,
    results,
    actionViolations,
    durationMs: Date.now() - t0,
  };
}
