/**
 * `npm run bench:copy`: an Offline migration through the product path — the offline host, its
 * orchestrations and activities, driven over HTTP: PUT → Succeeded, verification included — of
 * the product dataset (bench/lib/dataset.ts, about 740 MB), and in the same run the peers, each
 * into a fresh database of the same target: `pg_dump -Fc | pg_restore`, `pg_dump -Fd -j N` +
 * `pg_restore -j N`, `pgcopydb clone`. Writes bench/results/copy.json with every figure, the
 * ratios, the host's peak RSS, the longest activity and each activity function's times.
 *
 * Options: --factor 1 (dataset size), --jobs 4 (the peers' parallel jobs), --workers N (the host's
 * activity worker processes; default the host's, 2), --out bench/results/copy.json, --help
 */
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { sql } from '../emulator/local/admin';
import { databaseSize, generateProductDataset } from './lib/dataset';
import { dumpRestore, dumpRestoreParallel, pgcopydbClone } from './lib/peers';
import { activityFigures, engineFigures, migrationBody, parseWorkers, round, startProductRig, waitUntil } from './lib/product';
import { shape } from './lib/shape';

const { values: args } = parseArgs({
  options: {
    factor: { type: 'string', default: '1' },
    jobs: { type: 'string', default: '4' },
    workers: { type: 'string' },
    out: { type: 'string', default: 'bench/results/copy.json' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('npm run bench:copy -- [--factor 1] [--jobs 4] [--workers N] [--out bench/results/copy.json]');
  process.exit(0);
}
const workers = parseWorkers(args.workers);
const DB = 'bench';
/** Same server settings for every tool: room for WAL so checkpoints do not dominate. */
const SETTINGS = { shared_buffers: "'512MB'", max_wal_size: "'8GB'", checkpoint_timeout: "'30min'", max_locks_per_transaction: 1024 };
const say = (msg: string) => console.log(`[bench:copy ${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function main(): Promise<void> {
  const jobs = Number(args.jobs);
  const rig = await startProductRig({ label: 'bcopy', settings: SETTINGS, workers });
  try {
    const source = rig.source.info;
    const target = rig.target.info;
    await sql(source, 'postgres', `CREATE DATABASE ${DB}`);
    const g0 = performance.now();
    await generateProductDataset(source, DB, Number(args.factor));
    const sourceShape = await shape(source, DB);
    const dataset = { sourceMb: round((await databaseSize(source, DB)) / 1048576), generatedSeconds: round((performance.now() - g0) / 1000), ...sourceShape };
    say(`dataset ${JSON.stringify(dataset)}`);

    const tools: Record<string, Record<string, unknown> & { seconds: number }> = {};
    const shapes: Record<string, Record<string, number>> = {};
    const peer = async (name: string, into: string, fn: () => Promise<Record<string, unknown> & { seconds: number }>) => {
      tools[name] = await fn();
      shapes[name] = await shape(target, into);
      say(`${name}: ${JSON.stringify(tools[name])}`);
      await sql(target, 'postgres', `DROP DATABASE "${into}"`);
    };
    await peer('pg_dump_restore', 'by_dump', () => dumpRestore(source, target, DB, 'by_dump'));
    await peer('pg_dump_restore_parallel', 'by_dump_j', () => dumpRestoreParallel(source, target, DB, 'by_dump_j', jobs));
    await peer('pgcopydb', 'by_pgcopydb', () => pgcopydbClone(source, target, DB, 'by_pgcopydb', jobs));

    say('pgferry Offline through the host');
    const putAt = Date.now();
    const put = await rig.api('PUT', '/flexibleServers/bench/migrations/offline', migrationBody(source, target, [DB], 'Offline'));
    if (put.status !== 201) throw new Error(`PUT: ${put.status} ${put.text}`);
    const done = await waitUntil(rig, '/flexibleServers/bench/migrations/offline', (m) => m.properties.currentStatus.state === 'Succeeded');
    const stats = await rig.host.stats();
    // What the copy moved (COPY bytes, as the resource reports them): with copyChunk's seconds, MB/s per copy activity.
    const db = done.last.properties.currentStatus.currentSubStateDetails?.dbDetails?.[DB];
    const copied = { rows: db?.fullLoadRowsCopied ?? null, mb: db?.fullLoadBytesCopied === undefined ? null : round(db.fullLoadBytesCopied / 1048576) };
    const pgferry = { seconds: round(done.seconds), copied, timeline: done.steps, ...activityFigures(stats, putAt), engine: engineFigures(stats), hostPeakRssMb: rig.peakRssMb(), benchPeakRssMb: rig.benchPeakRssMb(), hostProcesses: rig.host.processes() };
    tools.pgferry = pgferry;
    shapes.pgferry = await shape(target, DB);
    say(`pgferry: ${done.seconds.toFixed(1)} s`);

    const ratios = Object.fromEntries(Object.keys(tools).filter((k) => k !== 'pgferry').map((k) => [k, round(pgferry.seconds / (tools[k]?.seconds ?? Number.NaN))]));
    // Issue #16's yardstick: the faster of the two pg_dump | pg_restore forms.
    const fastestPeer = ['pg_dump_restore', 'pg_dump_restore_parallel'].sort((a, b) => (tools[a]?.seconds ?? Infinity) - (tools[b]?.seconds ?? Infinity))[0] as string;
    const ratio = round(pgferry.seconds / (tools[fastestPeer]?.seconds ?? Number.NaN));
    const result = {
      benchmark: 'copy: Offline migration, PUT → Succeeded, against the peers',
      when: new Date().toISOString(),
      machine: { cpus: cpus().length, memoryGb: round(totalmem() / 1024 ** 3), postgres: 15, settings: SETTINGS, peerJobs: jobs, workers: rig.host.workers, maxConcurrentActivityFunctions: rig.host.maxConcurrentActivityFunctions },
      timing: 'end to end for every tool: empty target database in; schema, data, indexes, constraints out (pgferry: its verification too; pgcopydb: its VACUUM ANALYZE too)',
      dataset,
      secondsPerTool: Object.fromEntries(Object.entries(tools).map(([k, v]) => [k, v.seconds])),
      fastestPeer,
      ratio,
      ratiosPgferryToPeer: ratios,
      goals: { ratioAtMost1: ratio <= 1, hostPeakRssAtMost512Mb: pgferry.hostPeakRssMb <= 512 },
      tools,
      shapes,
    };
    mkdirSync(dirname(String(args.out)), { recursive: true });
    writeFileSync(String(args.out), `${JSON.stringify(result, null, 2)}\n`);
    say(`wrote ${args.out}: ${JSON.stringify(result.secondsPerTool)} ratio ${ratio} to ${fastestPeer}; ratios ${JSON.stringify(ratios)}`);
    for (const [tool, s] of Object.entries(shapes)) {
      if (JSON.stringify(s) !== JSON.stringify(sourceShape)) throw new Error(`${tool} produced ${JSON.stringify(s)}, the source has ${JSON.stringify(sourceShape)}`);
    }
  } finally {
    await rig.stop();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(`[bench:copy] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
