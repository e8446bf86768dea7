/**
 * Small tables travelling together (copy/copy-group.ts) on the rig servers: a group of whole
 * tables is copied under one source snapshot in one target transaction, every table with its own
 * done-mark (the snapshot and WAL position the CDC applier needs, as for a one-table chunk); a
 * failure on any table leaves no row and no mark of the group; a re-run or a concurrent twin
 * copies nothing twice; tables already done are skipped.
 */
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { copyChunkAt, copyGroupAt, copySnapshotMap, copyUnits, dropBookkeeping, listMarks, planChunks, planTables, takeInventory, type CopyChunk } from '../../shared/copy';
import { connect } from '../../shared/pg/connect';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';
import { expectJudgedEqual } from '../support/judge';

const source = inject('source');
const target = inject('target');
const TABLES = 24;

let srcDb = '';
let tgtDb = '';
let src: Client;
let tgt: Client;
let chunks: CopyChunk[] = [];

const sourceEp = () => endpointOf(source, { database: srcDb });
const targetEp = () => endpointOf(target, { database: tgtDb });

const SCHEMA = `
  CREATE TABLE parent (id int PRIMARY KEY, v text);
  DO $$ BEGIN FOR i IN 1..${TABLES - 1} LOOP
    EXECUTE format('CREATE TABLE g%s (id int PRIMARY KEY, v text NOT NULL, n numeric)', i);
  END LOOP; END $$;`;
const DATA = `
  INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 50) g;
  DO $$ BEGIN FOR i IN 1..${TABLES - 1} LOOP
    EXECUTE format('INSERT INTO g%s SELECT g, md5(g::text), g * 1.5 FROM generate_series(1, 100 + %s) g', i, i);
  END LOOP; END $$;`;

/** The target's schema: the tables without their keys (built after the load), and an FK to parent (no FREEZE for it). */
const TARGET_SCHEMA = `
  CREATE TABLE parent (id int PRIMARY KEY, v text);
  CREATE TABLE child_of_parent (p int REFERENCES parent);
  DO $$ BEGIN FOR i IN 1..${TABLES - 1} LOOP
    EXECUTE format('CREATE TABLE g%s (id int, v text NOT NULL, n numeric)', i);
  END LOOP; END $$;`;

async function resetTarget(): Promise<void> {
  await dropBookkeeping(tgt);
  await tgt.query(`DROP SCHEMA public CASCADE; CREATE SCHEMA public;`);
  await tgt.query(TARGET_SCHEMA);
}

const count = async (c: Client, table: string) => Number((await c.query<{ n: string }>(`SELECT count(*)::int8 AS n FROM ${table}`)).rows[0]?.n);
const ids = (cs: readonly CopyChunk[]) => cs.map((c) => c.id);

beforeAll(async () => {
  srcDb = await createTestDatabase(source, 'group_src');
  tgtDb = await createTestDatabase(target, 'group_tgt');
  await sql(source, srcDb, SCHEMA);
  await sql(source, srcDb, `CREATE TABLE child_of_parent (p int REFERENCES parent); ${DATA}`);
  src = await connect(sourceEp());
  tgt = await connect(targetEp());
  const plan = await planTables(src, await takeInventory(src), { planId: 'grp' });
  chunks = planChunks(plan);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([src?.end(), tgt?.end()]);
  if (srcDb) await dropTestDatabase(source, srcDb);
  if (tgtDb) await dropTestDatabase(target, tgtDb);
});

describe('copyGroup', () => {
  it('plans the small tables into a few groups', () => {
    const units = copyUnits(chunks);
    expect(chunks).toHaveLength(TABLES + 1);
    expect(units).toHaveLength(4);
    expect(units.flat().sort((a, b) => a - b)).toEqual([...chunks.keys()]);
  });

  it('copies a group under one snapshot, one mark per table with that snapshot and WAL position, equal under the judge', async () => {
    await resetTarget();
    const results = await copyGroupAt(sourceEp(), targetEp(), chunks);
    expect(results.map((r) => r.chunkId)).toEqual(ids(chunks));
    expect(new Set(results.map((r) => `${r.snapshot}@${r.endLsn}`)).size).toBe(1);
    expect(results.find((r) => r.chunkId.includes('"parent"'))?.frozen).toBe(false);
    // A few pages: no TRUNCATE + FREEZE (it would cost more than the vacuum it saves).
    expect(results.find((r) => r.chunkId.includes('"g1"'))).toMatchObject({ rows: 101, frozen: false, format: 'binary' });
    const marks = await listMarks(tgt, 'grp:');
    expect(marks.map((m) => m.chunkId).sort()).toEqual(ids(chunks).sort());
    // What the CDC applier reads: every table of the group is a one-chunk table with the group's snapshot.
    const map = copySnapshotMap(chunks, marks);
    expect(Object.keys(map)).toHaveLength(TABLES + 1);
    for (const entry of Object.values(map)) expect(entry).toMatchObject({ singleChunk: true, snapshots: [results[0]?.snapshot], endLsn: results[0]?.endLsn });
    await expectJudgedEqual(source, target, srcDb, { targetDb: tgtDb, skip: ['schema', 'sequences', 'largeObjects'] });
  }, 60_000);

  it('a second run copies nothing and returns the recorded results', async () => {
    const again = await copyGroupAt(sourceEp(), targetEp(), chunks);
    expect(again.every((r) => r.skipped === true)).toBe(true);
    expect(await count(tgt, 'g5')).toBe(105);
    await expectJudgedEqual(source, target, srcDb, { targetDb: tgtDb, skip: ['schema', 'sequences', 'largeObjects'] });
  }, 60_000);

  it('a failure on one table leaves no row and no mark of any table of the group; the retry copies each once', async () => {
    await resetTarget();
    await tgt.query(`ALTER TABLE g7 ADD CONSTRAINT refuses CHECK (id < 50)`);
    const err = await copyGroupAt(sourceEp(), targetEp(), chunks).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'CopyError', context: { table: 'public.g7', side: 'target' } });
    expect(await listMarks(tgt, 'grp:')).toEqual([]);
    expect(await count(tgt, 'g1')).toBe(0);
    await tgt.query(`ALTER TABLE g7 DROP CONSTRAINT refuses`);
    await copyGroupAt(sourceEp(), targetEp(), chunks);
    await expectJudgedEqual(source, target, srcDb, { targetDb: tgtDb, skip: ['schema', 'sequences', 'largeObjects'] });
  }, 60_000);

  it('copies only the tables without a mark (one already copied alone is skipped, not copied again)', async () => {
    await resetTarget();
    const alone = chunks.find((c) => c.table === 'g3') as CopyChunk;
    await copyChunkAt(sourceEp(), targetEp(), alone);
    // Every table frozen here (no size floor): one TRUNCATE for them all, then COPY FREEZE.
    const results = await copyGroupAt(sourceEp(), targetEp(), chunks, { freezeMinBytes: 0 });
    expect(results.filter((r) => r.skipped).map((r) => r.chunkId)).toEqual([alone.id]);
    expect(results.find((r) => r.chunkId.includes('"g1"'))).toMatchObject({ rows: 101, frozen: true });
    expect(results.find((r) => r.chunkId.includes('"parent"'))?.frozen).toBe(false);
    expect(await count(tgt, 'g3')).toBe(103);
    await expectJudgedEqual(source, target, srcDb, { targetDb: tgtDb, skip: ['schema', 'sequences', 'largeObjects'] });
  }, 60_000);

  it('two concurrent runs of one group (a redelivered activity) load every row once', async () => {
    await resetTarget();
    const [a, b] = await Promise.all([copyGroupAt(sourceEp(), targetEp(), chunks), copyGroupAt(sourceEp(), targetEp(), chunks)]);
    expect(a.map((r) => [r.chunkId, r.rows])).toEqual(b.map((r) => [r.chunkId, r.rows]));
    expect((await listMarks(tgt, 'grp:')).length).toBe(TABLES + 1);
    await expectJudgedEqual(source, target, srcDb, { targetDb: tgtDb, skip: ['schema', 'sequences', 'largeObjects'] });
  }, 60_000);
});
