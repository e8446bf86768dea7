/**
 * Benchmark: a whole-database clone of about 1 GB (bench/lib/dataset.ts) by
 *   - pgferry: schema pre-data via `pg_dump --section=pre-data | pg_restore` (shared/schema is not
 *     ready), then the copy in a child process (data, and each table's indexes and keys started
 *     from the onTableLoaded hook while other tables still copy), sequences, large objects;
 *   - `pgcopydb clone --table-jobs 4 --index-jobs 4` (Debian 0.10; it also VACUUM ANALYZEs);
 *   - `pg_dump -Fd -j 4` then `pg_restore -j 4`;
 * each into a fresh database on the same target cluster. Every tool is timed end to end: an
 * empty database in, a complete one (schema, data, indexes, constraints) out.
 * Writes bench/results/copy.json. Run: npm run bench:copy (vite-node bench/copy.ts).
 *
 * Tuning through the environment: PGFERRY_BENCH_SCALE, PGFERRY_BENCH_CHUNK_JOBS, …_TABLE_JOBS,
 * …_INDEX_JOBS, …_SPLIT_MB, PGFERRY_BENCH_ONLY=pgferry (skip the peers).
 */
import { execFile, spawn } from 'node:child_process';
import { cpus, totalmem, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { startCluster, type Cluster, type ServerInfo } from '../emulator/local/cluster';
import { sql } from '../emulator/local/admin';
import { endpointOf } from '../emulator/local/endpoints';
import { dropBookkeeping, takeInventory } from '../shared/copy';
import { connect } from '../shared/pg/connect';
import { compareDatabases, mismatches } from '../shared/verify';
import { bundleScript } from './lib/bundle';
import type { CopyChildConfig, CopyChildResult } from './lib/copy-child';
import { databaseSize, generateDataset, pgEnv, PG_BIN } from './lib/dataset';
import { readPostData } from './lib/post-data';

const run = promisify(execFile);
const env = (name: string, fallback: number) => Number(process.env[`PGFERRY_BENCH_${name}`] ?? fallback);
const SOURCE_DB = 'bench';
const round = (n: number) => Number(n.toFixed(2));

/** Same server settings for every tool: room for WAL so checkpoints do not dominate. */
const SETTINGS = { shared_buffers: "'512MB'", max_wal_size: "'8GB'", checkpoint_timeout: "'30min'" };

function uri(server: ServerInfo, db: string): string {
  return `postgresql://${server.user}@${server.host}:${server.port}/${db}?sslmode=disable`;
}

async function freshDatabase(server: ServerInfo, db: string): Promise<void> {
  await sql(server, 'postgres', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await sql(server, 'postgres', `CREATE DATABASE ${db} TEMPLATE template0 ENCODING 'UTF8'`);
  await sql(server, 'postgres', 'CHECKPOINT');
}

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { seconds: (performance.now() - t0) / 1000, value };
}

/** Indexes, constraints and rows of the big tables: a finished clone has the source's. */
async function shape(server: ServerInfo, db: string): Promise<Record<string, number>> {
  const { rows } = await sql(server, db, `
    SELECT (SELECT count(*) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema'))::int AS indexes,
           (SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
             WHERE c.contype IN ('p', 'u', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema'))::int AS constraints,
           (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname IN ('public', 'small'))::int AS tables,
           (SELECT count(*) FROM pgbench_accounts)::int AS accounts,
           (SELECT count(*) FROM wide)::int AS wide,
           (SELECT count(*) FROM events_uuid)::int AS events_uuid`);
  return rows[0] as Record<string, number>;
}

async function pgDumpRestore(src: ServerInfo, tgt: ServerInfo, db: string): Promise<Record<string, number>> {
  await freshDatabase(tgt, db);
  const dir = join(mkdtempSync(join(tmpdir(), 'pgferry-dump-')), 'dump');
  try {
    const dump = await timed(() => run(`${PG_BIN}/pg_dump`, ['-Fd', '-j', '4', '-f', dir, uri(src, SOURCE_DB)], { env: pgEnv(src) }));
    const restore = await timed(() => run(`${PG_BIN}/pg_restore`, ['-j', '4', '-d', uri(tgt, db), dir], { env: pgEnv(tgt) }));
    return { seconds: round(dump.seconds + restore.seconds), dumpSeconds: round(dump.seconds), restoreSeconds: round(restore.seconds) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function pgcopydb(src: ServerInfo, tgt: ServerInfo, db: string): Promise<Record<string, number>> {
  await freshDatabase(tgt, db);
  const dir = mkdtempSync(join(tmpdir(), 'pgferry-pgcopydb-'));
  try {
    const t = await timed(() =>
      run('pgcopydb', ['clone', '--source', uri(src, SOURCE_DB), '--target', uri(tgt, db), '--table-jobs', '4', '--index-jobs', '4', '--dir', join(dir, 'work')], {
        env: { ...pgEnv(tgt), PGPASSWORD: src.password },
        maxBuffer: 256 * 1024 * 1024,
      }),
    );
    return { seconds: round(t.seconds) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runChild(childJs: string, config: CopyChildConfig): Promise<CopyChildResult> {
  const file = join(mkdtempSync(join(tmpdir(), 'pgferry-bench-')), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return new Promise<CopyChildResult>((resolve, reject) => {
    const child = spawn(process.execPath, [childJs, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('result '));
      if (code !== 0 || !line) reject(new Error(`pgferry child failed (${code}): ${err}`));
      else resolve(JSON.parse(line.slice('result '.length)) as CopyChildResult);
    });
  }).finally(() => rmSync(dirname(file), { recursive: true, force: true }));
}

async function pgferry(src: ServerInfo, tgt: ServerInfo, db: string, childJs: string): Promise<Record<string, unknown>> {
  await freshDatabase(tgt, db);
  const dir = mkdtempSync(join(tmpdir(), 'pgferry-predata-'));
  try {
    const t0 = performance.now();
    const file = join(dir, 'pre.dump');
    const preData = await timed(async () => {
      await run(`${PG_BIN}/pg_dump`, ['-Fc', '--section=pre-data', '-f', file, uri(src, SOURCE_DB)], { env: pgEnv(src) });
      await run(`${PG_BIN}/pg_restore`, ['-d', uri(tgt, db), file], { env: pgEnv(tgt) });
    });
    const source = endpointOf(src, { database: SOURCE_DB });
    const target = endpointOf(tgt, { database: db });
    const client = await connect(source);
    const postData = await readPostData(client).finally(() => client.end());
    const child = await runChild(childJs, {
      source,
      target,
      planSettings: { planId: 'bench', splitBytes: env('SPLIT_MB', 1024) * 1024 * 1024, maxChunksPerTable: env('MAX_CHUNKS', 8) },
      run: { chunkJobs: env('CHUNK_JOBS', 4), tableJobs: env('TABLE_JOBS', 4), indexJobs: env('INDEX_JOBS', 4), maintenanceWorkMem: '1GB' },
      postData: postData.byTable,
      sequences: true,
      largeObjects: true,
    });
    if (postData.foreignKeys.length > 0) await sql(tgt, db, postData.foreignKeys.join(';\n'));
    // What cutover does: the done-marks go.
    const t = await connect(target);
    await dropBookkeeping(t).finally(() => t.end());
    const seconds = (performance.now() - t0) / 1000;
    return {
      seconds: round(seconds),
      preDataSeconds: round(preData.seconds),
      copySeconds: round(child.copySeconds),
      planSeconds: round(child.planSeconds),
      chunks: child.chunks,
      binaryChunks: child.binaryChunks,
      frozenChunks: child.frozenChunks,
      rows: child.rows,
      copyBytes: child.bytes,
      maxRssMb: round(child.maxRssKb / 1024),
      cpuSeconds: child.cpuSeconds,
      bigTables: child.bigTables,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function verifyPgferry(src: ServerInfo, tgt: ServerInfo, db: string): Promise<{ tables: number; mismatched: string[] }> {
  const [s, t] = await Promise.all([connect(endpointOf(src, { database: SOURCE_DB })), connect(endpointOf(tgt, { database: db }))]);
  try {
    const inventory = await takeInventory(s);
    const specs = inventory.tables.map((x) => ({ schema: x.schema, table: x.table, columns: x.columns.filter((c) => !c.generated).map((c) => c.name) }));
    const results = await compareDatabases(s, t, specs);
    return { tables: results.length, mismatched: mismatches(results).map((r) => `${r.schema}.${r.table}`) };
  } finally {
    await Promise.all([s.end(), t.end()]);
  }
}

async function main(): Promise<void> {
  const password = 'pgferry-bench-pw';
  const clusters: Cluster[] = [];
  let childJs = '';
  try {
    const [src, tgt] = await Promise.all([
      startCluster({ label: 'bcsrc', logical: true, password, settings: SETTINGS }),
      startCluster({ label: 'bctgt', password, settings: SETTINGS }),
    ]);
    clusters.push(src, tgt);
    childJs = await bundleScript(join(__dirname, 'lib', 'copy-child.ts'));

    await sql(src.info, 'postgres', `CREATE DATABASE ${SOURCE_DB}`);
    const gen = await timed(() => generateDataset(src.info, SOURCE_DB, { scale: env('SCALE', 50) }));
    const sourceBytes = await databaseSize(src.info, SOURCE_DB);
    const sourceShape = await shape(src.info, SOURCE_DB);
    console.log(`dataset: ${(sourceBytes / 1024 ** 2).toFixed(0)} MB in ${gen.seconds.toFixed(0)} s`, sourceShape);

    const only = process.env.PGFERRY_BENCH_ONLY;
    const tools: Record<string, Record<string, unknown>> = {};
    const shapes: Record<string, Record<string, number>> = {};
    if (!only || only === 'pg_dump') {
      tools['pg_dump_restore'] = await pgDumpRestore(src.info, tgt.info, 'by_pgdump');
      shapes['pg_dump_restore'] = await shape(tgt.info, 'by_pgdump');
      console.log('pg_dump | pg_restore', tools['pg_dump_restore']);
      await sql(tgt.info, 'postgres', 'DROP DATABASE by_pgdump');
    }
    if (!only || only === 'pgcopydb') {
      tools['pgcopydb'] = await pgcopydb(src.info, tgt.info, 'by_pgcopydb');
      shapes['pgcopydb'] = await shape(tgt.info, 'by_pgcopydb');
      console.log('pgcopydb', tools['pgcopydb']);
      await sql(tgt.info, 'postgres', 'DROP DATABASE by_pgcopydb');
    }
    tools['pgferry'] = await pgferry(src.info, tgt.info, 'by_pgferry', childJs);
    shapes['pgferry'] = await shape(tgt.info, 'by_pgferry');
    console.log('pgferry', tools['pgferry']);
    const verification = await verifyPgferry(src.info, tgt.info, 'by_pgferry');

    const seconds = (name: string) => Number(tools[name]?.['seconds'] ?? Number.NaN);
    const peers = ['pgcopydb', 'pg_dump_restore'].filter((p) => tools[p]);
    const fastestPeer = peers.sort((a, b) => seconds(a) - seconds(b))[0];
    const ratio = fastestPeer ? round(seconds('pgferry') / seconds(fastestPeer)) : null;
    const maxRssMb = Number(tools['pgferry']?.['maxRssMb']);
    const result = {
      benchmark: 'copy-1gb-clone',
      when: new Date().toISOString(),
      machine: { cpus: cpus().length, memoryGb: round(totalmem() / 1024 ** 3), postgres: 15, settings: SETTINGS },
      timing: 'end to end for every tool: empty target database in; schema, data, indexes, constraints (and for pgcopydb its VACUUM ANALYZE) out',
      dataset: { sourceMb: round(sourceBytes / 1024 ** 2), generatedSeconds: round(gen.seconds), ...sourceShape },
      secondsPerTool: Object.fromEntries(Object.keys(tools).map((k) => [k, seconds(k)])),
      tools,
      shapes,
      fastestPeer,
      ratioToFastestPeer: ratio,
      pgferryMaxRssMb: maxRssMb,
      goals: { ratioAtMost1: ratio !== null && ratio <= 1, rssAtMost256Mb: maxRssMb <= 256 },
      verification,
    };
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', 'copy.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    if (verification.mismatched.length > 0) throw new Error(`pgferry's copy differs from the source: ${verification.mismatched.join(', ')}`);
    for (const [tool, s] of Object.entries(shapes)) {
      if (JSON.stringify(s) !== JSON.stringify(sourceShape)) throw new Error(`${tool} produced ${JSON.stringify(s)}, the source has ${JSON.stringify(sourceShape)}`);
    }
  } finally {
    if (childJs) rmSync(dirname(childJs), { recursive: true, force: true });
    await Promise.allSettled(clusters.map((c) => c.stop()));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
