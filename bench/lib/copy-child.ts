/**
 * A pgferry copy as a child process: `node copy-child.js <config.json>`. The benchmark runs it to
 * measure pgferry's own memory; the fault test kills it at random points and runs it again.
 *
 * Prints one line per event on stdout (`start <chunkId>`, `done <chunkId>`, `loaded <table>`)
 * and a final `result <json>` line; exits 1 on failure.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { closeQuietly, connect } from '../../shared/pg/connect';
import type { ServerEndpoint } from '../../shared/pg/endpoint';
import {
  copyLargeObjects,
  copySequences,
  planTables,
  runCopy,
  takeInventory,
  qualifiedName,
  type CopyPlan,
  type PlanSettings,
  type RunCopyOptions,
} from '../../shared/copy';

export interface CopyChildConfig {
  source: ServerEndpoint;
  target: ServerEndpoint;
  /** A stored plan to run; otherwise the child takes the inventory and plans with planSettings. */
  plan?: CopyPlan;
  planSettings?: PlanSettings;
  run?: Pick<RunCopyOptions, 'chunkJobs' | 'tableJobs' | 'indexJobs' | 'retries' | 'format' | 'maintenanceWorkMem'>;
  /** Post-data statements by qualified table name (schema.table), run when the table is loaded. */
  postData?: Record<string, string[]>;
  sequences?: boolean;
  largeObjects?: boolean;
  /** Print start/done lines (the fault test watches them). */
  events?: boolean;
}

export interface CopyChildResult {
  seconds: number;
  planSeconds: number;
  copySeconds: number;
  chunks: number;
  skipped: number;
  rows: number;
  bytes: number;
  retried: number;
  consistencyLsn: string | null;
  binaryChunks: number;
  frozenChunks: number;
  /** Load and post-data seconds of the tables over 10 MB. */
  bigTables: Array<{ table: string; mb: number; loadSeconds: number; postDataSeconds?: number }>;
  /** Peak resident set size of this process, in KiB. */
  maxRssKb: number;
  /** CPU seconds this process used (user + system). */
  cpuSeconds: number;
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as CopyChildConfig;
  const t0 = performance.now();
  let plan = config.plan;
  if (!plan) {
    const client = await connect(config.source);
    try {
      plan = await planTables(client, await takeInventory(client), config.planSettings ?? { planId: 'bench' });
    } finally {
      await closeQuietly(client);
    }
  }
  const t1 = performance.now();
  const say = (line: string): void => {
    if (config.events) process.stdout.write(`${line}\n`);
  };
  const out = await runCopy({
    source: config.source,
    target: config.target,
    plan,
    ...config.run,
    onChunkStart: (c) => say(`start ${c.id}`),
    onChunkDone: (c) => say(`done ${c.id}`),
    onTableLoaded: (t) => say(`loaded ${qualifiedName(t)}`),
    postData: (t) => config.postData?.[qualifiedName(t)] ?? [],
  });
  if (config.sequences || config.largeObjects) {
    const [s, t] = await Promise.all([connect(config.source), connect(config.target)]);
    try {
      if (config.sequences) await copySequences(s, t);
      if (config.largeObjects) await copyLargeObjects(s, t);
    } finally {
      await Promise.all([closeQuietly(s), closeQuietly(t)]);
    }
  }
  const t2 = performance.now();
  const result: CopyChildResult = {
    seconds: (t2 - t0) / 1000,
    planSeconds: (t1 - t0) / 1000,
    copySeconds: (t2 - t1) / 1000,
    chunks: out.chunks.length,
    skipped: out.chunks.filter((c) => c.skipped).length,
    rows: out.chunks.reduce((n, c) => n + c.rows, 0),
    bytes: out.chunks.reduce((n, c) => n + c.bytes, 0),
    retried: out.retried,
    consistencyLsn: out.consistencyLsn,
    binaryChunks: out.chunks.filter((c) => c.format === 'binary').length,
    frozenChunks: out.chunks.filter((c) => c.frozen).length,
    bigTables: out.tables
      .filter((t) => t.bytes > 10 * 1024 * 1024)
      .map((t) => ({
        table: `${t.schema}.${t.table}`,
        mb: Math.round(t.bytes / 1024 / 1024),
        loadSeconds: Number(t.loadSeconds.toFixed(2)),
        ...(t.postDataSeconds !== undefined ? { postDataSeconds: Number(t.postDataSeconds.toFixed(2)) } : {}),
      })),
    maxRssKb: process.resourceUsage().maxRSS,
    cpuSeconds: Number(((process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1e6).toFixed(2)),
  };
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
