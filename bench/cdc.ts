/**
 * CDC benchmark (npm run bench:cdc → vite-node bench/cdc.ts), on clusters of its own:
 *  (a) catch-up rate: a pgbench backlog (≥ 300,000 changes, `pgbench -t N -c 4 -n` after
 *      `pgbench -i`) applied by pgferry (wal2json and pgoutput, each read through the SQL peek
 *      functions and through the streaming protocol) and, on the same servers and the
 *      same backlog, by native logical replication (publication + subscription with
 *      copy_data = false on a slot created before the backlog). Each is timed from start until a
 *      marker row committed after the backlog is on its target: changes/s, and pgferry's ratio;
 *  (b) lag under a steady `pgbench -R <rate>` load that native replication sustains: p50/p99 of
 *      the end-to-end latency of a marker row committed every 250 ms (commit on the source →
 *      visible on the target), for native replication and for pgferry's fastest variant;
 *  (c) cutover on the idle source: drain + sequences + row counts + slot drop, timed.
 * Writes bench/results/cdc.json. Tuning: PGFERRY_BENCH_CDC_CHANGES (300000), …_RATE (tps),
 * …_LAG_SECONDS (30), …_SCALE (pgbench scale, 1).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { Client } from 'pg';
import { applyBatch, cutover, dropSlotAndPublication, ensureSlot, TypeCache, type BatchResult, type Plugin } from '../shared/cdc';
import { closeQuietly, connect } from '../shared/pg/connect';
import { startCluster, type ServerInfo } from '../emulator/local/cluster';
import { sql } from '../emulator/local/admin';
import { endpointOf } from '../emulator/local/endpoints';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const env = (name: string, fallback: number) => Number(process.env[`PGFERRY_BENCH_CDC_${name}`] ?? fallback);
const CHANGES = env('CHANGES', 300_000);
const SCALE = env('SCALE', 1);
const LAG_SECONDS = env('LAG_SECONDS', 30);
const CLIENTS = 4;
/** tpcb-like: 3 UPDATEs + 1 INSERT per transaction. */
const CHANGES_PER_TXN = 4;
const SETTINGS = { shared_buffers: "'256MB'", max_wal_size: "'8GB'", checkpoint_timeout: "'30min'", wal_writer_delay: "'10ms'" };
const round = (n: number, d = 2) => Number(n.toFixed(d));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pgEnv(s: ServerInfo): NodeJS.ProcessEnv {
  return { ...process.env, PGHOST: s.host, PGPORT: String(s.port), PGUSER: s.user, PGPASSWORD: s.password };
}

async function pgbench(s: ServerInfo, db: string, args: string[]): Promise<string> {
  const { stdout } = await run(`${PG_BIN}/pgbench`, [...args, db], { env: pgEnv(s), maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function createDb(s: ServerInfo, db: string): Promise<void> {
  await sql(s, 'postgres', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await sql(s, 'postgres', `CREATE DATABASE ${db}`);
  await pgbench(s, db, ['-i', '-q', '-s', String(SCALE)]);
  await sql(s, db, `CREATE TABLE bench_marker (id int PRIMARY KEY, at timestamptz)`);
}

async function markerPresent(c: Client, id: number): Promise<boolean> {
  const { rows } = await c.query(`SELECT 1 FROM public.bench_marker WHERE id = $1`, [id]);
  return rows.length > 0;
}

/** Order-independent digest of the pgbench tables. */
async function digest(s: ServerInfo, db: string): Promise<string> {
  const parts: string[] = [];
  for (const t of ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history', 'bench_marker']) {
    const { rows } = await sql(s, db, `SELECT count(*) || ':' || coalesce(sum(hashtext(x::text)::bigint), 0) AS d FROM public.${t} x`);
    parts.push(`${t}=${rows[0].d}`);
  }
  return parts.join(' ');
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

interface CatchUp {
  seconds: number;
  changes: number;
  changesPerSecond: number;
  batches?: number;
  targetTransactions?: number;
  statements?: number;
  readWaitSeconds?: number;
  writeSeconds?: number;
}

async function pgferryCatchUp(src: ServerInfo, dst: ServerInfo, srcDb: string, dstDb: string, slot: string, plugin: Plugin, markerId: number, stream: boolean): Promise<CatchUp> {
  const s = await connect(endpointOf(src, { database: srcDb }));
  const d = await connect(endpointOf(dst, { database: dstDb }));
  const types = new TypeCache();
  let changes = 0;
  let batches = 0;
  let targetTransactions = 0;
  let statements = 0;
  let readWaitMs = 0;
  let writeMs = 0;
  const t0 = performance.now();
  for (;;) {
    const r: BatchResult = await applyBatch(s, d, {
      slot,
      plugin,
      types,
      maxRows: 400_000,
      txnChanges: 50_000,
      statementRows: 10_000,
      ...(stream ? { openReplication: () => connect(endpointOf(src, { database: srcDb }), { replication: true }), maxMs: 60_000 } : {}),
    });
    batches++;
    changes += r.changesApplied;
    targetTransactions += r.targetTransactions;
    statements += r.statements;
    readWaitMs += r.readWaitMs;
    writeMs += r.writeMs;
    if (r.caughtUp) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  await d.query('SET search_path = public');
  if (!(await markerPresent(d, markerId))) throw new Error('pgferry caught up without the marker');
  await Promise.all([closeQuietly(s), closeQuietly(d)]);
  return { seconds: round(seconds), changes, changesPerSecond: Math.round(changes / seconds), batches, targetTransactions, statements, readWaitSeconds: round(readWaitMs / 1000), writeSeconds: round(writeMs / 1000) };
}

async function nativeCatchUp(src: ServerInfo, dst: ServerInfo, dstDb: string, markerId: number, changes: number): Promise<CatchUp> {
  const d = await connect(endpointOf(dst, { database: dstDb }));
  const t0 = performance.now();
  await d.query(`ALTER SUBSCRIPTION native_sub ENABLE`);
  while (!(await markerPresent(d, markerId))) await sleep(10);
  const seconds = (performance.now() - t0) / 1000;
  await closeQuietly(d);
  void src;
  return { seconds: round(seconds), changes, changesPerSecond: Math.round(changes / seconds) };
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = loadavg().map((l) => round(l));
  const [srcC, dstC] = await Promise.all([
    startCluster({ major: 15, logical: true, label: 'benchcdc-src', settings: SETTINGS }),
    startCluster({ major: 15, logical: true, label: 'benchcdc-dst', settings: SETTINGS }),
  ]);
  const src = srcC.info;
  const dst = dstC.info;
  try {
    console.log(`source ${src.port}, target ${dst.port}; ${CHANGES} changes`);
    await createDb(src, 'bench');
    const variants = [
      { name: 'wal2json-sql', plugin: 'wal2json', stream: false },
      { name: 'pgoutput-sql', plugin: 'pgoutput', stream: false },
      { name: 'wal2json-stream', plugin: 'wal2json', stream: true },
      { name: 'pgoutput-stream', plugin: 'pgoutput', stream: true },
    ] as const;
    const dbOf = (v: string) => `ferry_${v.replace('-', '_')}`;
    for (const db of [...variants.map((v) => dbOf(v.name)), 'native']) await createDb(dst, db);
    const s = await connect(endpointOf(src, { database: 'bench' }));
    for (const v of variants) await ensureSlot(s, `pgferry_bench_${v.name.replace('-', '_')}`, { plugin: v.plugin });
    await s.query(`CREATE PUBLICATION native_pub FOR ALL TABLES`);
    await s.query(`SELECT pg_create_logical_replication_slot('native_sub', 'pgoutput')`);
    await sql(dst, 'native', `CREATE SUBSCRIPTION native_sub CONNECTION 'host=${src.host} port=${src.port} user=${src.user} password=${src.password} dbname=bench'
      PUBLICATION native_pub WITH (copy_data = false, create_slot = false, slot_name = 'native_sub', enabled = false)`);

    // (a) the backlog
    const txns = Math.ceil(CHANGES / CHANGES_PER_TXN / CLIENTS);
    let t0 = performance.now();
    await pgbench(src, 'bench', ['-n', '-c', String(CLIENTS), '-j', '2', '-t', String(txns)]);
    await sql(src, 'bench', `INSERT INTO bench_marker VALUES (1, now())`);
    const backlogSeconds = (performance.now() - t0) / 1000;
    const backlogChanges = txns * CLIENTS * CHANGES_PER_TXN + 1;
    const srcTps = Math.round((txns * CLIENTS) / backlogSeconds);
    console.log(`backlog: ${backlogChanges} changes in ${round(backlogSeconds)} s (${srcTps} tps on the source)`);

    const ferry: Record<string, CatchUp> = {};
    for (const v of variants) {
      ferry[v.name] = await pgferryCatchUp(src, dst, 'bench', dbOf(v.name), `pgferry_bench_${v.name.replace('-', '_')}`, v.plugin, 1, v.stream);
      console.log(`pgferry ${v.name}`, ferry[v.name]);
      await sql(src, 'bench', 'CHECKPOINT');
    }
    const native = await nativeCatchUp(src, dst, 'native', 1, backlogChanges);
    console.log('native', native);
    const srcDigest = await digest(src, 'bench');
    const equal: Record<string, boolean> = { native: (await digest(dst, 'native')) === srcDigest };
    for (const v of variants) equal[v.name] = (await digest(dst, dbOf(v.name))) === srcDigest;
    console.log('equal to source', equal);
    const best = variants.map((v) => ({ v, rate: ferry[v.name]?.changesPerSecond ?? 0 })).sort((a, b) => b.rate - a.rate)[0]!;

    // (b) lag under a steady load that native replication sustains, measured end to end: a marker
    // row committed on the source every 250 ms, timed until it is visible on the target. First
    // native (pgferry idle), then pgferry's fastest variant (the subscription disabled).
    for (const v of variants) if (v.name !== best.v.name) await dropSlotAndPublication(s, `pgferry_bench_${v.name.replace('-', '_')}`);
    const rate = env('RATE', 1000);
    const lagNative = await lagRun(src, dst, 'native', rate, async (stop) => {
      await stop;
    });
    await sql(dst, 'native', `ALTER SUBSCRIPTION native_sub DISABLE`);
    await sql(src, 'bench', `SELECT pg_drop_replication_slot('native_sub')`).catch(() => undefined);
    const lagPlugin: Plugin = best.v.plugin;
    const lagSlot = `pgferry_bench_${best.v.name.replace('-', '_')}`;
    const lagDb = dbOf(best.v.name);
    // The pgferry target missed the native lag run's changes: apply them first.
    const ap = await connect(endpointOf(src, { database: 'bench' }));
    const at = await connect(endpointOf(dst, { database: lagDb }));
    const types = new TypeCache();
    const streamOpts = best.v.stream ? { openReplication: () => connect(endpointOf(src, { database: 'bench' }), { replication: true }), maxMs: 5000 } : {};
    for (;;) if ((await applyBatch(ap, at, { slot: lagSlot, plugin: lagPlugin, types, ...streamOpts })).caughtUp) break;
    const lagFerry = await lagRun(src, dst, lagDb, rate, async (stop) => {
      let running = true;
      void stop.then(() => (running = false));
      while (running) {
        const r = await applyBatch(ap, at, { slot: lagSlot, plugin: lagPlugin, types, maxRows: 100_000, txnChanges: 20_000, ...streamOpts });
        if (r.caughtUp && !best.v.stream) await sleep(10);
      }
    });
    const lagResult = { variant: best.v.name, rateTps: rate, rateChangesPerSecond: rate * CHANGES_PER_TXN, seconds: LAG_SECONDS, pgferry: lagFerry, native: lagNative };
    console.log('lag', lagResult);

    // (c) cutover on the idle source.
    for (;;) if ((await applyBatch(ap, at, { slot: lagSlot, plugin: lagPlugin, types, ...streamOpts })).caughtUp) break;
    t0 = performance.now();
    const report = await cutover(ap, at, { slot: lagSlot, plugin: lagPlugin, types, ...streamOpts, tables: ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history', 'bench_marker'].map((table) => ({ schema: 'public', table })) });
    const cutoverSeconds = (performance.now() - t0) / 1000;
    const cut = { seconds: round(cutoverSeconds), drainSeconds: round(report.drainMs / 1000), ok: report.ok, slotDropped: report.slotDropped, sequences: report.sequences.set };
    console.log('cutover', cut);
    await Promise.all([closeQuietly(ap), closeQuietly(at)]);
    await sql(dst, 'native', `ALTER SUBSCRIPTION native_sub SET (slot_name = NONE)`).catch(() => undefined);
    await closeQuietly(s);

    const result = {
      at: new Date().toISOString(),
      // Other work on the machine competes for the same cores: the 1/5/15-minute load averages.
      machine: { cpus: cpus().length, memoryGiB: round(totalmem() / 2 ** 30, 1), loadBefore, loadAfter: loadavg().map((l) => round(l)) },
      postgres: 15,
      backlog: { changes: backlogChanges, transactions: txns * CLIENTS, pgbenchScale: SCALE, generateSeconds: round(backlogSeconds), sourceTps: srcTps },
      catchUp: {
        pgferry: ferry,
        native,
        best: best.v.name,
        ratio: round(best.rate / native.changesPerSecond),
        ratios: Object.fromEntries(variants.map((v) => [v.name, round((ferry[v.name]?.changesPerSecond ?? 0) / native.changesPerSecond)])),
        equalToSource: equal,
        goal: 'ratio >= 1.0',
      },
      lag: { ...lagResult, goal: 'p99 <= 2 s' },
      cutover: { ...cut, goal: '<= 5 s + verification' },
      wallSeconds: Math.round((Date.now() - started) / 1000),
    };
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', 'cdc.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await Promise.allSettled([srcC.stop(), dstC.stop()]);
  }
}

interface LagStats {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Runs `pgbench -R rate` for LAG_SECONDS while `apply` replicates, and measures latency end to
 * end: a marker row committed on the source every 250 ms, timed until it is visible in `dstDb`.
 */
async function lagRun(src: ServerInfo, dst: ServerInfo, dstDb: string, rate: number, apply: (stop: Promise<void>) => Promise<void>): Promise<LagStats> {
  const load = spawn(`${PG_BIN}/pgbench`, ['-n', '-c', String(CLIENTS), '-j', '2', '-R', String(rate), '-T', String(LAG_SECONDS), 'bench'], { env: pgEnv(src), stdio: 'ignore' });
  const stop = new Promise<void>((resolve) => load.on('exit', () => resolve()));
  let loading = true;
  void stop.then(() => (loading = false));
  const applying = apply(stop);
  const w = await connect(endpointOf(src, { database: 'bench' }));
  const r = await connect(endpointOf(dst, { database: dstDb }));
  const samples: number[] = [];
  const base = Math.floor(Math.random() * 1e6) + 1000;
  await sleep(2000); // warm-up
  for (let i = 0; loading; i++) {
    await w.query(`INSERT INTO public.bench_marker VALUES ($1, now())`, [base + i]);
    const committed = performance.now();
    for (;;) {
      if ((await r.query(`SELECT 1 FROM public.bench_marker WHERE id = $1`, [base + i])).rows.length > 0) break;
      await sleep(5);
    }
    samples.push((performance.now() - committed) / 1000);
    await sleep(250);
  }
  await applying;
  await Promise.all([closeQuietly(w), closeQuietly(r)]);
  samples.sort((a, b) => a - b);
  return { samples: samples.length, p50: round(percentile(samples, 50), 3), p99: round(percentile(samples, 99), 3), max: round(samples[samples.length - 1] ?? 0, 3) };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
