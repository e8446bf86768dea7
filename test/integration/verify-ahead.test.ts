/**
 * Verification ahead of cutover on real servers (verify/ahead.ts): what makes a table compared
 * ahead count as unchanged at cutover, and every way it stops counting — a write on the target
 * (by the applier or anyone, also through a parent table), a change on the source the target never
 * got (the source's own statistics, not the applier, tell), a TRUNCATE on the source, and a table
 * that differed when it was compared. The guards come off with dropGuards.
 */
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connect } from '../../shared/pg/connect';
import { aheadKey, dropGuards, GUARD_TRIGGER, stillVerified, verifyAhead } from '../../shared/verify/ahead';
import type { TableSpec } from '../../shared/verify/checksum';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';

const source = inject('source');
const target = inject('target');

const SCHEMA = `
  CREATE TABLE calm (id int PRIMARY KEY, v text);
  CREATE TABLE hot (id int PRIMARY KEY, v text);
  CREATE TABLE touched (id int PRIMARY KEY, v text);
  CREATE TABLE emptied (id int PRIMARY KEY, v text);
  CREATE TABLE differs (id int PRIMARY KEY, v text);
  CREATE TABLE parted (id int NOT NULL, v text) PARTITION BY RANGE (id);
  CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (1000);`;
const DATA = `
  INSERT INTO calm SELECT g, 'c' || g FROM generate_series(1, 100) g;
  INSERT INTO hot SELECT g, 'h' || g FROM generate_series(1, 100) g;
  INSERT INTO touched SELECT g, 't' || g FROM generate_series(1, 100) g;
  INSERT INTO emptied SELECT g, 'e' || g FROM generate_series(1, 100) g;
  INSERT INTO differs SELECT g, 'd' || g FROM generate_series(1, 100) g;
  INSERT INTO parted SELECT g, 'p' || g FROM generate_series(1, 100) g;`;
const spec = (table: string): TableSpec => ({ schema: 'public', table, columns: ['id', 'v'] });
const TABLES = ['calm', 'hot', 'touched', 'emptied', 'differs', 'parted_low'].map(spec);

let srcDb = '';
let tgtDb = '';
let src: Client;
let tgt: Client;

/** Waits until the source's statistics show `table` changed past `before` (a backend reports them when it ends). */
async function statsMoved(table: string, before: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await sql(source, srcDb, `SELECT (n_tup_ins + n_tup_upd + n_tup_del)::int AS n FROM pg_stat_user_tables WHERE relname = $1`, [table]);
    if ((rows[0] as { n: number }).n > before) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the statistics of ${table} never moved`);
}
const changesOf = async (table: string) => ((await sql(source, srcDb, `SELECT (n_tup_ins + n_tup_upd + n_tup_del)::int AS n FROM pg_stat_user_tables WHERE relname = $1`, [table])).rows[0] as { n: number }).n;
const held = async () => [...(await stillVerified(src, tgt, TABLES))].sort();

beforeAll(async () => {
  srcDb = await createTestDatabase(source, 'ahead_src');
  tgtDb = await createTestDatabase(target, 'ahead_tgt');
  await sql(source, srcDb, SCHEMA + DATA);
  await sql(target, tgtDb, SCHEMA + DATA);
  await sql(target, tgtDb, `UPDATE differs SET v = 'other' WHERE id = 7`);
  src = await connect(endpointOf(source, { database: srcDb }));
  tgt = await connect(endpointOf(target, { database: tgtDb }));
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([src?.end(), tgt?.end()]);
  if (srcDb) await dropTestDatabase(source, srcDb);
  if (tgtDb) await dropTestDatabase(target, tgtDb);
});

describe('verification ahead of cutover', () => {
  it('records the tables that match, guards each one and its parent, and holds them while nothing changes', async () => {
    const share = await verifyAhead(src, tgt, TABLES, Date.now() + 60_000);
    expect(share).toEqual({ verified: 5, missed: 1, done: 6 });
    const guarded = await sql(target, tgtDb, `SELECT tgrelid::regclass::text AS t, tgenabled AS e FROM pg_trigger WHERE tgname = $1 ORDER BY 1`, [GUARD_TRIGGER]);
    expect(guarded.rows).toEqual(['calm', 'differs', 'emptied', 'hot', 'parted', 'parted_low', 'touched'].map((t) => ({ t, e: 'A' })));
    expect(await held()).toEqual(['calm', 'emptied', 'hot', 'parted_low', 'touched'].map((t) => aheadKey(spec(t))));
    // A second pass reads only what no longer holds (here: differs, which still differs).
    expect(await verifyAhead(src, tgt, TABLES, Date.now() + 60_000)).toEqual({ verified: 5, missed: 1, done: 6 });
  });

  it('a change applied to the target (the applier in replica mode, or anyone) ends the hold', async () => {
    // The applier's session: replica mode, as on a superuser target (only the target's count can tell).
    await sql(target, tgtDb, `SET session_replication_role = replica; UPDATE hot SET v = 'new' WHERE id = 1`);
    // Written on the target only, by someone else, through the partitioned parent.
    await sql(target, tgtDb, `UPDATE parted SET v = 'direct' WHERE id = 2`);
    expect(await held()).toEqual(['calm', 'emptied', 'touched'].map((t) => aheadKey(spec(t))));
  });

  it('a table larger than the limit is left to cutover (a share reads a table whole)', async () => {
    const make = `CREATE TABLE sized (id int PRIMARY KEY, v text); INSERT INTO sized SELECT g, repeat('s', 200) FROM generate_series(1, 500) g`;
    await sql(source, srcDb, make);
    await sql(target, tgtDb, make);
    const bytes = ((await sql(target, tgtDb, `SELECT pg_table_size('sized')::int AS b`)).rows[0] as { b: number }).b;
    expect(bytes).toBeGreaterThan(0);
    expect(await verifyAhead(src, tgt, [spec('sized')], Date.now() + 60_000, bytes - 1)).toEqual({ verified: 0, missed: 1, done: 1 });
    expect((await stillVerified(src, tgt, [spec('sized')])).size).toBe(0);
    expect(await verifyAhead(src, tgt, [spec('sized')], Date.now() + 60_000, bytes)).toEqual({ verified: 1, missed: 0, done: 1 });
  });

  it('a transaction counts once per table, however many statements it runs (the applier runs thousands)', async () => {
    const count = async () => ((await sql(target, tgtDb, `SELECT writes::int AS n FROM pgferry_meta.table_writes WHERE relid = 'hot'::regclass`)).rows[0] as { n: number }).n;
    const before = await count();
    await sql(target, tgtDb, `BEGIN; SET LOCAL session_replication_role = replica; ${Array.from({ length: 500 }, (_, i) => `UPDATE hot SET v = 'n${i}' WHERE id = ${1 + (i % 100)};`).join(' ')} COMMIT`);
    expect(await count()).toBe(before + 1);
    await sql(target, tgtDb, `BEGIN; UPDATE hot SET v = 'a' WHERE id = 1; SAVEPOINT s; UPDATE hot SET v = 'b' WHERE id = 1; ROLLBACK TO s; UPDATE hot SET v = 'c' WHERE id = 1; COMMIT`);
    expect(await count()).toBe(before + 2);
  });

  it('a change on the source that never reached the target ends the hold (the source statistics, not the applier, tell)', async () => {
    const before = await changesOf('touched');
    await sql(source, srcDb, `DELETE FROM touched WHERE id = 3`);
    await statsMoved('touched', before);
    expect(await held()).toEqual(['calm', 'emptied'].map((t) => aheadKey(spec(t))));
  });

  it('a TRUNCATE on the source ends the hold (its file node changes)', async () => {
    await sql(source, srcDb, `BEGIN; TRUNCATE emptied; INSERT INTO emptied SELECT g, 'e' || g FROM generate_series(1, 100) g; COMMIT`);
    expect(await held()).toEqual([aheadKey(spec('calm'))]);
  });

  it('dropGuards takes every guard off and forgets what was verified', async () => {
    await dropGuards(tgt);
    const left = await sql(target, tgtDb, `SELECT count(*)::int AS n FROM pg_trigger WHERE tgname = $1`, [GUARD_TRIGGER]);
    expect(left.rows[0]).toEqual({ n: 0 });
    expect(await held()).toEqual([]);
    // The tables take writes as before.
    await sql(target, tgtDb, `INSERT INTO calm VALUES (1000, 'after')`);
  });
});
