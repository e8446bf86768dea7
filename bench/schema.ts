/**
 * Schema extraction benchmark (issue #4): extract + render the schema of databases with 1,000 and
 * 10,000 tables, each with a primary key, a secondary index and a foreign key to the previous
 * table. Starts its own PostgreSQL 15 cluster (the test rig's) and removes it afterwards.
 *
 *   npm run bench:schema   (vite-node bench/schema.ts [sizes…]; default sizes: 1000 10000)
 *
 * Writes bench/results/schema.json. "read" is the catalog queries, "render" turns the rows into
 * the ordered plan, "extract" is extractSchema() end to end (what callers pay): each the median
 * of three runs after one warm-up run. "apply" then runs the three phases into an empty database
 * on the same server (concurrency 4), for scale: it is not part of the extract figure.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { applyPhase, buildPlan, describeFailures, extractSchema, PHASES, readCatalog, type PhaseReport } from '../shared/schema';
import { startCluster, type ServerInfo } from '../emulator/local/cluster';

const BATCH = 250;

async function client(server: ServerInfo, database: string): Promise<pg.Client> {
  const c = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database });
  await c.connect();
  return c;
}

/** Tables t_1 … t_n in schema bench: PK, an index on name, an FK to the previous table. */
async function populate(c: pg.Client, tables: number): Promise<void> {
  await c.query('CREATE SCHEMA bench');
  for (let start = 1; start <= tables; start += BATCH) {
    const stmts: string[] = [];
    for (let i = start; i < Math.min(start + BATCH, tables + 1); i++) {
      const fk = i > 1 ? `, parent_id bigint REFERENCES bench.t_${i - 1} (id)` : ', parent_id bigint';
      stmts.push(`CREATE TABLE bench.t_${i} (id bigint PRIMARY KEY${fk}, name text NOT NULL, created_at timestamptz DEFAULT now())`);
      stmts.push(`CREATE INDEX t_${i}_name ON bench.t_${i} (name)`);
    }
    await c.query(stmts.join(';\n'));
  }
}

const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function measure(server: ServerInfo, tables: number) {
  const db = `bench_schema_${tables}`;
  const admin = await client(server, 'postgres');
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const c = await client(server, db);
  try {
    let t = process.hrtime.bigint();
    await populate(c, tables);
    const populateSeconds = seconds(t);

    // Warm-up: first reads of fresh catalog rows set hint bits, and the JIT has not seen the code.
    const plan = await extractSchema(c);
    const read: number[] = [];
    const render: number[] = [];
    const extract: number[] = [];
    for (let i = 0; i < 3; i++) {
      // The two halves of extractSchema, timed apart.
      t = process.hrtime.bigint();
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await c.query(`SELECT pg_catalog.set_config('search_path', '', true)`);
      const catalog = await readCatalog({ client: c, versionNum: plan.sourceVersionNum });
      await c.query('COMMIT');
      read.push(seconds(t));
      t = process.hrtime.bigint();
      const v = plan.sourceVersionNum;
      const split = buildPlan(catalog, { sourceVersionNum: v, targetVersionNum: v, targetRoles: null, targetExtensions: null, concurrentIndexes: false });
      render.push(seconds(t));
      if (split.objects.length !== plan.objects.length) throw new Error('the timed halves and extractSchema disagree');
      t = process.hrtime.bigint();
      await extractSchema(c);
      extract.push(seconds(t));
    }
    const byPhase = Object.fromEntries(PHASES.map((p) => [p, plan.objects.filter((o) => o.phase === p).length]));

    const targetDb = `${db}_target`;
    await c.query(`CREATE DATABASE ${targetDb}`);
    const apply: Record<string, number> = {};
    const reports: PhaseReport[] = [];
    for (const phase of PHASES) {
      t = process.hrtime.bigint();
      const r = await applyPhase(plan, phase, () => client(server, targetDb), { concurrency: 4, previous: reports });
      if (!r.ok) throw new Error(`${phase}: ${describeFailures(r).slice(0, 3).join('; ')}`);
      reports.push(r);
      apply[phase] = seconds(t);
    }
    return {
      tables,
      objects: plan.objects.length,
      byPhase,
      populateSeconds,
      readSeconds: median(read),
      renderSeconds: median(render),
      extractSeconds: median(extract),
      applySeconds: apply,
    };
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const cluster = await startCluster({ major: 15, label: 'benchschema', settings: { max_locks_per_transaction: 256 } });
  try {
    const results = [];
    for (const tables of sizes.length ? sizes : [1000, 10000]) {
      const r = await measure(cluster.info, tables);
      console.log(
        `${String(tables).padStart(6)} tables: extract ${r.extractSeconds.toFixed(2)} s (read ${r.readSeconds.toFixed(2)} s + render ${r.renderSeconds.toFixed(2)} s), ${r.objects} objects; ` +
          `apply ${PHASES.map((p) => `${p} ${r.applySeconds[p]?.toFixed(1)} s`).join(', ')}`,
      );
      results.push(r);
    }
    const out = join(__dirname, 'results');
    mkdirSync(out, { recursive: true });
    const report = { benchmark: 'schema extract + render', date: new Date().toISOString(), server: 'PostgreSQL 15 (Debian), local', node: process.version, cpus: cpus().length, loadAverage1m: loadavg()[0], results };
    writeFileSync(join(out, 'schema.json'), `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await cluster.stop();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
