/**
 * Exactly once under faults: the copy, as the copy activities run it (test/support/copy-child.ts:
 * the plan's units in lanes, each by copyChunkAt or copyGroupAt), runs in a child process that is
 * killed (SIGKILL) at random points, or whose copy sessions are terminated on the source or on
 * the target (pg_terminate_backend); every run resumes the same stored plan (done chunks are skipped).
 * In the end every table matches the source, with no row twice and one mark per chunk.
 * A chunk delivered twice at the same time also loads once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { copyChunk, listMarks, openCopySession, closeCopySession, planChunks, planTables, takeInventory, COPY_APPLICATION_NAME, type CopyPlan } from '../../shared/copy';
import { connect } from '../../shared/pg/connect';
import { bundleScript } from '../support/bundle';
import type { ServerInfo } from '../support/cluster';
import type { CopyChildConfig } from '../support/copy-child';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';
import { expectJudgedEqual } from '../support/judge';

const source = inject('source');
const target = inject('target');

const SCHEMA = `
  CREATE SCHEMA app;
  CREATE TABLE app.big (id bigint PRIMARY KEY, a integer, pad text);
  CREATE TABLE app.uuids (id uuid PRIMARY KEY, n integer, pad text);
  CREATE TABLE app.nokey (a integer, b text);
  CREATE TABLE app.nuk (code text PRIMARY KEY, uk integer UNIQUE, v text);
  CREATE TABLE app.part (id integer PRIMARY KEY, v text) PARTITION BY RANGE (id);
  CREATE TABLE app.part_1 PARTITION OF app.part FOR VALUES FROM (MINVALUE) TO (100000);
  CREATE TABLE app.part_2 PARTITION OF app.part FOR VALUES FROM (100000) TO (MAXVALUE);`;
const DATA = `
  INSERT INTO app.big SELECT g, g % 1000, repeat(md5(g::text), 3) FROM generate_series(1, 400000) g;
  INSERT INTO app.uuids SELECT md5('u' || g)::uuid, g, repeat('x', 50 + g % 50) FROM generate_series(1, 120000) g;
  INSERT INTO app.nokey SELECT g % 10, repeat('n', g % 30) FROM generate_series(1, 100000) g;
  INSERT INTO app.nokey SELECT 1, 'same' FROM generate_series(1, 20);
  INSERT INTO app.nuk SELECT 'k' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE g END, md5(g::text) FROM generate_series(1, 60000) g;
  INSERT INTO app.part SELECT g, md5(g::text) FROM generate_series(1, 200000) g;
  ANALYZE;`;
const KEYS: Record<string, string> = { big: 'id', uuids: 'id', nuk: 'code', part_1: 'id', part_2: 'id' };

let srcDb = '';
let tgtDb = '';
let plan: CopyPlan;
let childJs = '';
let configFile = '';

const sourceEp = () => endpointOf(source, { database: srcDb });
const targetEp = () => endpointOf(target, { database: tgtDb, sslMode: 'Require' });

beforeAll(async () => {
  srcDb = await createTestDatabase(source, 'copyf_src');
  tgtDb = await createTestDatabase(target, 'copyf_tgt');
  await Promise.all([sql(source, srcDb, SCHEMA), sql(target, tgtDb, SCHEMA)]);
  await sql(source, srcDb, DATA);
  const client = await connect(sourceEp());
  try {
    plan = await planTables(client, await takeInventory(client), { planId: 'faults', splitBytes: 1024 * 1024, maxChunksPerTable: 24 });
  } finally {
    await client.end();
  }
  childJs = await bundleScript(join(__dirname, '..', 'support', 'copy-child.ts'));
  configFile = join(mkdtempSync(join(tmpdir(), 'pgferry-faults-')), 'config.json');
  const config: CopyChildConfig = { source: sourceEp(), target: targetEp(), plan, lanes: 3 };
  writeFileSync(configFile, JSON.stringify(config));
}, 120_000);

afterAll(async () => {
  for (const f of [childJs, configFile]) if (f) rmSync(dirname(f), { recursive: true, force: true });
  if (srcDb) await dropTestDatabase(source, srcDb);
  if (tgtDb) await dropTestDatabase(target, tgtDb);
});

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  started: number;
  done: number;
  stderr: string;
}

/** Terminates the copy sessions at work (running a statement or inside a transaction), not those about to close. */
async function terminateCopySessions(server: ServerInfo, db: string): Promise<number> {
  const { rows } = await sql(
    server,
    'postgres',
    `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE datname = $1 AND application_name = $2 AND state IN ('active', 'idle in transaction')`,
    [db, COPY_APPLICATION_NAME],
  );
  return rows[0].n as number;
}

/** Runs the child; `fault` (if any) fires once the child has started `afterStarts` units plus a random delay. */
function runChild(fault?: { kind: 'kill' | 'source' | 'target'; afterStarts: number; delayMs: number }): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childJs, configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { code: null, signal: null, started: 0, done: 0, stderr: '' };
    let fired = false;
    let exited = false;
    let buffered = '';
    // Each unit opens its sessions afresh: a termination that finds none at work (between two units) tries again.
    const terminate = async (server: ServerInfo, db: string): Promise<void> => {
      while (!exited && (await terminateCopySessions(server, db)) === 0) await new Promise((r) => setTimeout(r, 10));
    };
    const fire = () => {
      if (fired || !fault) return;
      fired = true;
      setTimeout(() => {
        if (fault.kind === 'kill') child.kill('SIGKILL');
        else void terminate(fault.kind === 'source' ? source : target, fault.kind === 'source' ? srcDb : tgtDb).catch(reject);
      }, fault.delayMs);
    };
    child.stdout.on('data', (b: Buffer) => {
      buffered += b.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('start ')) run.started++;
        if (line.startsWith('done ')) run.done++;
        if (run.started > (fault?.afterStarts ?? 0)) fire();
      }
    });
    child.stderr.on('data', (b: Buffer) => (run.stderr += b.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      exited = true;
      resolve({ ...run, code, signal });
    });
  });
}

describe('copy under faults', () => {
  it('survives ≥ 10 kills and terminated sessions, then matches with no duplicates', async () => {
    const total = planChunks(plan).length;
    expect(total).toBeGreaterThan(40);
    const kinds = ['kill', 'source', 'kill', 'target'] as const;
    const faults: Array<{ kind: string; interrupted: boolean; done: number }> = [];
    for (let i = 0; faults.filter((f) => f.interrupted).length < 12 && i < 40; i++) {
      const kind = kinds[i % kinds.length] ?? 'kill';
      const run = await runChild({ kind, afterStarts: Math.floor(Math.random() * 4), delayMs: Math.floor(Math.random() * 120) });
      const interrupted = run.code !== 0;
      faults.push({ kind, interrupted, done: run.done });
      if (!interrupted) {
        // The copy ended before the fault landed (an idle machine copies fast): start it over from
        // an empty target, so that the faults still to come meet a copy at work.
        await sql(target, tgtDb, `DO $$ DECLARE t text; BEGIN
          FOR t IN SELECT format('%I.%I', schemaname, tablename) FROM pg_catalog.pg_tables WHERE schemaname = 'app' LOOP EXECUTE 'TRUNCATE ' || t || ' CASCADE'; END LOOP;
        END $$; DELETE FROM pgferry_meta.copy_chunk`);
        continue;
      }
      if (kind !== 'kill') expect(run.stderr).toMatch(/terminat|Connection|ECONNRESET|copy failed/i);
    }
    const interrupted = faults.filter((f) => f.interrupted);
    console.log(`faults: ${faults.map((f) => `${f.kind}${f.interrupted ? '' : '(missed)'}@${f.done}`).join(' ')}`);
    expect(interrupted.length).toBeGreaterThanOrEqual(10);
    expect(new Set(interrupted.map((f) => f.kind))).toEqual(new Set(['kill', 'source', 'target']));

    // Resume to the end: chunks done before are skipped.
    let final: ChildRun | undefined;
    for (let i = 0; i < 3 && final?.code !== 0; i++) final = await runChild();
    expect(final?.code, final?.stderr).toBe(0);

    const [src, tgt] = await Promise.all([connect(sourceEp()), connect(targetEp())]);
    try {
      const marks = await listMarks(tgt, 'faults:');
      expect(marks.map((m) => m.chunkId).sort()).toEqual(planChunks(plan).map((c) => c.id).sort());
      await expectJudgedEqual(source, target, srcDb, { targetDb: tgtDb });
      for (const [table, key] of Object.entries(KEYS)) {
        const { rows } = await tgt.query(`SELECT count(*)::int8::text AS n, count(DISTINCT ${key})::int8::text AS d FROM app.${table}`);
        expect(rows[0].n, table).toBe(rows[0].d);
      }
    } finally {
      await Promise.all([src.end(), tgt.end()]);
    }
  }, 150_000);

  it('loads a chunk delivered twice at the same time exactly once', async () => {
    const db = await createTestDatabase(target, 'copyf_dup');
    try {
      await sql(target, db, SCHEMA);
      const ep = endpointOf(target, { database: db, sslMode: 'Require' });
      const [a, b] = await Promise.all([openCopySession(sourceEp(), ep), openCopySession(sourceEp(), ep)]);
      const whole = plan.tables.find((t) => t.table === 'nokey')?.chunks[0];
      const part = plan.tables.find((t) => t.table === 'big')?.chunks[1];
      if (!whole || !part) throw new Error('plan lacks the chunks this test needs');
      try {
        for (const chunk of [whole, part]) {
          const [r1, r2] = await Promise.all([copyChunk(a, chunk), copyChunk(b, chunk)]);
          expect([r1.skipped, r2.skipped].filter(Boolean)).toHaveLength(1);
          expect(r1.rows).toBe(r2.rows);
          const { rows } = await sql(target, db, `SELECT count(*)::int AS n FROM app.${chunk.table}`);
          expect(rows[0].n).toBe(r1.rows);
        }
      } finally {
        await Promise.all([closeCopySession(a), closeCopySession(b)]);
      }
    } finally {
      await dropTestDatabase(target, db);
    }
  });
});
