/**
 * `npm run bench:tables`: many small tables through the product path. A source database of N
 * tables (10 rows and one secondary index each) is migrated by pgferry — the offline host (in
 * this process), its orchestrations and activities, driven over HTTP — and, in the same run, by
 * the peers into other databases of the same target:
 *   - Offline: PUT → Succeeded (verification included) against `pg_dump -Fc | pg_restore`;
 *   - Online: PUT → WaitingForUserAction (ready for cutover) against native logical replication's
 *     schema copy and initial sync; then pgferry's cutover on the idle source.
 *
 * Recorded per size and mode: the seconds, the peer's, the ratio, the orchestrations' episodes,
 * replay time and longest history, every activity function's count and time, the host's peak
 * RSS. Each run gets a fresh host, so its figures are its own.
 *
 * Options: --tables 2000,10000 (default), --modes Offline,Online, --workers N (the host's activity
 * worker processes; default the host's, 2), --out bench/results/tables.json, --help
 */
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { ServerInfo } from '../emulator/local/cluster';
import { sql } from '../emulator/local/admin';
import { dumpRestore, nativeReplication } from './lib/peers';
import { activityFigures, engineFigures, migrationBody, parseWorkers, round, startProductRig, waitUntil, type ProductRig } from './lib/product';

const { values: args } = parseArgs({
  options: {
    tables: { type: 'string', default: '2000,10000' },
    modes: { type: 'string', default: 'Offline,Online' },
    workers: { type: 'string' },
    out: { type: 'string', default: 'bench/results/tables.json' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('npm run bench:tables -- [--tables 2000,10000] [--modes Offline,Online] [--workers N] [--out bench/results/tables.json]');
  process.exit(0);
}
const workers = parseWorkers(args.workers);
const sizes = String(args.tables).split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
const modes = String(args.modes).split(',').map((s) => s.trim()) as Array<'Offline' | 'Online'>;
for (const m of modes) if (m !== 'Offline' && m !== 'Online') throw new Error(`--modes: ${m} is neither Offline nor Online`);
// Groups of small tables hold a lock per table in one transaction; native replication needs slots and workers.
const SETTINGS = { max_locks_per_transaction: 1024, max_replication_slots: 40, max_wal_senders: 40, max_logical_replication_workers: 8, max_worker_processes: 16 };

const say = (msg: string) => console.log(`[bench:tables ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** N tables of 10 rows and one index each, created in batches of 500 per transaction. */
async function createDataset(server: ServerInfo, db: string, n: number): Promise<void> {
  await sql(server, 'postgres', `CREATE DATABASE "${db}"`);
  for (let from = 1; from <= n; from += 500) {
    const to = Math.min(n, from + 499);
    await sql(server, db, `DO $$ BEGIN FOR i IN ${from}..${to} LOOP
      EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text NOT NULL, at timestamptz NOT NULL DEFAULT now())', i);
      EXECUTE format('INSERT INTO t%s (id, v) SELECT g, md5(g::text) FROM generate_series(1, 10) g', i);
      EXECUTE format('CREATE INDEX t%s_v ON t%s (v)', i, i);
    END LOOP; END $$`);
  }
}

/** One pgferry migration of `db` on a fresh host: PUT → the mode's end, then (Online) cutover. */
async function pgferry(rig: ProductRig, n: number, db: string, mode: 'Offline' | 'Online') {
  await rig.stopHost();
  await rig.startHost();
  const path = `/flexibleServers/bench/migrations/tables-${n}-${mode.toLowerCase()}`;
  const t0 = performance.now();
  const putAt = Date.now();
  const put = await rig.api('PUT', path, migrationBody(rig.source.info, rig.target.info, [db], mode));
  if (put.status !== 201) throw new Error(`PUT: ${put.status} ${put.text}`);
  const end = mode === 'Offline' ? 'Succeeded' : 'WaitingForUserAction';
  const run = await waitUntil(rig, path, (m) => m.properties.currentStatus.state === end, t0);
  const stats = await rig.host.stats();
  const figures = { seconds: round(run.seconds), timeline: run.steps, engine: engineFigures(stats), ...activityFigures(stats, putAt), hostProcesses: rig.host.processes() };
  if (mode === 'Offline') return figures;
  const k0 = performance.now();
  const patch = await rig.api('PATCH', path, { properties: { triggerCutover: 'True' } });
  if (patch.status !== 200) throw new Error(`PATCH: ${patch.status} ${patch.text}`);
  const cut = await waitUntil(rig, path, (m) => m.properties.currentStatus.state === 'Succeeded', k0);
  return { ...figures, cutoverSeconds: round(cut.seconds) };
}

async function main(): Promise<void> {
  const rig = await startProductRig({ label: 'btables', settings: SETTINGS, workers });
  const host = { workers: rig.host.workers, maxConcurrentActivityFunctions: rig.host.maxConcurrentActivityFunctions };
  const results: Array<Record<string, unknown>> = [];
  try {
    for (const n of sizes) {
      const db = `tables_${n}`;
      say(`creating ${n} tables on the source`);
      await createDataset(rig.source.info, db, n);
      // Each measured run starts on a quiet machine: no autovacuum left to do on the new tables.
      await sql(rig.source.info, db, 'VACUUM ANALYZE');
      for (const mode of modes) {
        let peer: Record<string, unknown>;
        let peerSeconds: number;
        if (mode === 'Offline') {
          say(`${n} tables: pg_dump -Fc | pg_restore`);
          peerSeconds = (await dumpRestore(rig.source.info, rig.target.info, db, `${db}_dump`)).seconds;
          peer = { name: 'pg_dump -Fc | pg_restore', seconds: round(peerSeconds) };
        } else {
          say(`${n} tables: native logical replication, schema and initial sync`);
          const native = await nativeReplication(rig.source.info, rig.target.info, db, `${db}_native`);
          await native.drop();
          peerSeconds = native.initialSync.seconds;
          peer = { name: 'native logical replication (schema + initial sync)', ...native.initialSync };
        }
        // The peer's copy goes before pgferry's run, so that autovacuum does not analyze it meanwhile.
        await sql(rig.target.info, 'postgres', `DROP DATABASE IF EXISTS "${mode === 'Offline' ? `${db}_dump` : `${db}_native`}" WITH (FORCE)`);
        say(`peer ${peerSeconds.toFixed(1)} s; pgferry ${mode} through the host`);
        const ours = await pgferry(rig, n, db, mode);
        const row = { tables: n, mode, pgferry: ours, peer, ratio: round(ours.seconds / peerSeconds), hostPeakRssMb: rig.peakRssMb(), benchPeakRssMb: rig.benchPeakRssMb() };
        say(`${n} tables ${mode}: pgferry ${ours.seconds} s, peer ${peerSeconds.toFixed(1)} s, ratio ${row.ratio}`);
        results.push(row);
      }
    }
  } finally {
    await rig.stop();
  }
  const bySize = (mode: string) => results.filter((r) => r.mode === mode).map((r) => [r.tables as number, (r.pgferry as { seconds: number }).seconds] as const);
  const linear = Object.fromEntries(modes.map((m) => {
    const s = bySize(m);
    return [m, s.length >= 2 ? round((s.at(-1)?.[1] ?? 0) / (s[0]?.[1] ?? 1)) : null];
  }));
  const out = String(args.out);
  mkdirSync(dirname(out), { recursive: true });
  const result = {
    benchmark: 'many small tables (10 rows, one index each): pgferry through the host against pg_dump | pg_restore (Offline) and native logical replication (Online)',
    when: new Date().toISOString(),
    machine: { cpus: cpus().length, memoryGb: round(totalmem() / 1024 ** 3), postgres: 15, settings: SETTINGS, ...host },
    results,
    /** pgferry's time at the largest size over its time at the smallest, per mode. */
    growth: { sizes, ...linear },
  };
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  say(`wrote ${out}`);
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(`[bench:tables] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
