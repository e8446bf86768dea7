/**
 * The copy end to end on the rig servers (PostgreSQL 15 → 15, target over SSL), as the copy
 * activities run it (test/support/copy-units.ts: the production plan's units, each copied by
 * copyChunkAt or copyGroupAt): the fixture's every column type, partitions, keys of every shape
 * and large objects arrive with equal counts and checksums; a small split threshold makes several
 * tables travel in chunks, the small ones in groups; a second run copies nothing (exactly once).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  closeCopySession,
  copyChunk,
  CopyError,
  copyLargeObjects,
  copySequences,
  dropBookkeeping,
  GROUP_FREEZE_MIN_BYTES,
  groupable,
  listMarks,
  openCopySession,
  planChunks,
  planTables,
  readSequences,
  syncLargeObjects,
  takeInventory,
  type CopyChunk,
  type CopyPlan,
  type Inventory,
} from '../../shared/copy';
import { connect } from '../../shared/pg/connect';
import { compareDatabases, largeObjectDigest, mismatches, sameLargeObjects, verifyLargeObjects } from '../../shared/verify';
import { prepareVerifySession, tableChecksum } from '../../shared/verify/checksum';
import { copyPlan, unitsOfPlan, type CopyPlanResult } from '../support/copy-units';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';
import { expectJudgedEqual } from '../support/judge';

const source = inject('source');
const target = inject('target');
const FIXTURES = join(__dirname, '..', 'fixtures', 'copy');
const schemaSql = readFileSync(join(FIXTURES, 'schema.sql'), 'utf8');
const dataSql = readFileSync(join(FIXTURES, 'data.sql'), 'utf8');

let srcDb = '';
let tgtDb = '';
let src: Client;
let tgt: Client;
let inventory: Inventory;
let plan: CopyPlan;
let first: CopyPlanResult;

const sourceEp = () => endpointOf(source, { database: srcDb });
const targetEp = () => endpointOf(target, { database: tgtDb, sslMode: 'Require' });
const byName = (name: string) => plan.tables.find((t) => `${t.schema}.${t.table}` === name);

beforeAll(async () => {
  srcDb = await createTestDatabase(source, 'copy_src');
  tgtDb = await createTestDatabase(target, 'copy_tgt');
  await sql(source, srcDb, schemaSql);
  await sql(target, tgtDb, schemaSql);
  await sql(source, srcDb, dataSql);
  src = await connect(sourceEp());
  tgt = await connect(targetEp());
  inventory = await takeInventory(src);
  plan = await planTables(src, inventory, { planId: 'p1', splitBytes: 64 * 1024, maxChunksPerTable: 5 });
  first = await copyPlan(sourceEp(), targetEp(), plan, { lanes: 3 });
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([src?.end(), tgt?.end()]);
  if (srcDb) await dropTestDatabase(source, srcDb);
  if (tgtDb) await dropTestDatabase(target, tgtDb);
});

describe('inventory', () => {
  it('lists ordinary tables and leaf partitions, never partitioned parents', () => {
    const names = inventory.tables.map((t) => `${t.schema}.${t.table}`);
    expect(names).toEqual(expect.arrayContaining(['app.orders_p1', 'app.orders_p2a', 'app.orders_p2b', 'app.orders_rest', 'Odd Schema.Weird "Table".x']));
    expect(names).not.toContain('app.orders');
    expect(names).not.toContain('app.orders_p2');
    const leaf = inventory.tables.find((t) => t.table === 'orders_p2a');
    expect(leaf).toMatchObject({ kind: 'partition', partitionOf: 'app.orders_p2' });
    expect(inventory.largeObjects.count).toBe(4);
  });

  it('orders tables largest first, with sizes and row estimates', () => {
    const sizes = inventory.tables.map((t) => t.estimatedBytes);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    const docs = inventory.tables.find((t) => t.table === 'docs');
    expect(docs?.estimatedBytes).toBeGreaterThan(3_000_000); // TOAST counted
    expect(docs?.estimatedRows).toBe(4000);
  });

  it('knows columns, generated and identity columns, keys and binary safety', () => {
    const t = (name: string) => inventory.tables.find((x) => x.table === name);
    const ids = t('identities');
    expect(ids?.columns.map((c) => [c.name, c.generated, c.identity])).toEqual([
      ['id', false, 'always'],
      ['id2', false, 'by default'],
      ['qty', false, null],
      ['doubled', true, null],
      ['label', false, null],
    ]);
    expect(t('all_types')?.columns.map((c) => c.name)).not.toContain('dropped_later');
    expect(t('all_types')?.columns.at(-1)?.name).toBe('after_drop');
    expect(t('numbers')?.columns.every((c) => c.binarySafe)).toBe(true);
    const unsafe = t('all_types')?.columns.filter((c) => !c.binarySafe).map((c) => c.name);
    expect(unsafe?.sort()).toEqual(['addr', 'addrs', 'emails', 'fr', 'mood', 'moods', 'rt']);
    expect(t('all_types')?.columns.find((c) => c.name === 'pos')?.binarySafe).toBe(true); // domain over int

    expect(t('docs')?.chunkKey).toEqual({ column: 'id', type: 'bigint', notNull: true, isReplicationKey: true });
    expect(t('by_uuid')).toMatchObject({ hasKey: true, chunkKey: null, replicationKey: ['id'] });
    expect(t('nullable_uk')).toMatchObject({ hasKey: true, replicationKey: ['code'], chunkKey: { column: 'uk', notNull: false, isReplicationKey: false } });
    expect(t('no_key')).toMatchObject({ hasKey: false, replicationKey: null, chunkKey: null, replicaIdentity: 'default' });
    expect(t('uk_only')).toMatchObject({ hasKey: false, chunkKey: { column: 'uk', notNull: false } });
    expect(t('scratch')?.unlogged).toBe(true);
  });
});

describe('plan', () => {
  it('splits big keyed tables by key or by ctid, never a table without a key', () => {
    expect(byName('app.docs')?.split).toBe('key');
    expect(byName('app.docs')?.chunks.length).toBeGreaterThan(1);
    expect(byName('app.by_uuid')?.split).toBe('ctid');
    expect(byName('app.by_uuid')?.chunks.every((c) => c.baseSnapshot === plan.base.snapshot && c.relfilenode !== undefined)).toBe(true);
    expect(byName('Odd Schema.Weird "Table".x')?.split).toBe('ctid');
    const nuk = byName('app.nullable_uk');
    expect(nuk?.split).toBe('key');
    expect(nuk?.chunks.at(-1)?.range).toEqual({ kind: 'keyNull', column: 'uk' });
    expect(byName('app.no_key')).toMatchObject({ split: 'none', note: expect.stringMatching(/no primary key/) });
    expect(byName('app.no_key')?.chunks).toHaveLength(1);
    expect(byName('app.uk_only')?.split).toBe('none');
    expect(byName('app.orders_p1')?.split).toBe('key');
    expect(byName('app.identities')?.columns).not.toContain('doubled');
  });

  it('gives every chunk a stable, unique id and survives JSON', () => {
    const ids = planChunks(plan).map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('cuts the plan into units: every chunk in exactly one, chunks of split tables alone, small whole tables in groups', () => {
    const units = unitsOfPlan(plan);
    expect(units.flat().map((c) => c.id).sort()).toEqual(planChunks(plan).map((c) => c.id).sort());
    for (const unit of units) if (unit.some((c) => c.chunkCount > 1)) expect(unit).toHaveLength(1);
    expect(units.some((unit) => unit.length > 1)).toBe(true);
    expect(first.units).toBe(units.length);
  });
});

describe('copy', () => {
  it('copies every table with equal counts and checksums', async () => {
    // Sequences and large objects travel later (their own test below).
    await expectJudgedEqual(source, target, srcDb, { targetDb: tgtDb, skip: ['sequences', 'largeObjects'] });
    const results = await compareDatabases(src, tgt, plan.tables);
    expect(mismatches(results)).toEqual([]);
    const docs = results.find((r) => r.table === 'docs');
    expect(docs?.rowsTarget).toBe('4000');
    expect(results.find((r) => r.table === 'nullable_uk')?.rowsTarget).toBe('6000');
    expect(results.find((r) => r.table === 'no_key')?.rowsTarget).toBe('6005');
  });

  it('used binary only where types allow, FREEZE for whole tables (in a group, from GROUP_FREEZE_MIN_BYTES), and reports snapshots and LSNs', () => {
    const chunks = new Map(planChunks(plan).map((c) => [c.id, c]));
    for (const r of first.chunks) {
      const c = chunks.get(r.chunkId);
      expect(r.format).toBe(c?.binarySafe ? 'binary' : 'text');
      expect(r.frozen).toBe(c !== undefined && c.chunkCount === 1 && (!groupable(c) || c.estimatedBytes >= GROUP_FREEZE_MIN_BYTES));
      expect(r.endLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(r.snapshot).toMatch(/^\d+:\d+:/);
    }
    expect(first.chunks.find((r) => r.chunkId.includes('all_types'))?.format).toBe('text');
    expect(first.chunks.find((r) => r.chunkId.includes('numbers'))?.format).toBe('binary');
    expect(first.chunks.filter((r) => r.chunkId.includes('by_uuid')).every((r) => r.snapshot === plan.base.snapshot)).toBe(true);
    expect(first.consistencyLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(first.chunks).toHaveLength(planChunks(plan).length);
  });

  it('streamed the 1 MB+ TOAST values intact', async () => {
    const q = 'SELECT id, length(body) AS len, md5(body) AS md5 FROM app.docs WHERE id <= 3 ORDER BY id';
    const [a, b] = await Promise.all([src.query(q), tgt.query(q)]);
    expect(a.rows.every((r: { len: number }) => r.len > 1_000_000)).toBe(true);
    expect(b.rows).toEqual(a.rows);
  });

  it('keeps identity values and recomputes generated columns', async () => {
    const q = 'SELECT id, id2, qty, doubled FROM app.identities WHERE id2 = -5 OR id = 2000 ORDER BY id';
    const [a, b] = await Promise.all([src.query(q), tgt.query(q)]);
    expect(b.rows).toEqual(a.rows);
    expect(b.rows.find((r: { id2: string }) => r.id2 === '-5')).toMatchObject({ qty: 7, doubled: 14 });
  });

  it('records one done-mark per chunk, and a second run copies nothing', async () => {
    const marks = await listMarks(tgt, 'p1:');
    expect(marks).toHaveLength(planChunks(plan).length);
    const again = await copyPlan(sourceEp(), targetEp(), plan, { lanes: 2 });
    expect(again.chunks).toHaveLength(planChunks(plan).length);
    expect(again.chunks.every((r) => r.skipped)).toBe(true);
    await expectJudgedEqual(source, target, srcDb, { targetDb: tgtDb, skip: ['sequences', 'largeObjects'] });
  });

  it('copies sequences and large objects', async () => {
    const seq = await copySequences(src, tgt);
    expect(seq.missing).toEqual([]);
    expect(await readSequences(tgt)).toEqual(await readSequences(src));
    const lo = await copyLargeObjects(src, tgt, { sliceBytes: 256 * 1024, batch: 2 });
    expect(lo.count).toBe(4);
    expect(lo.bytes).toBe(18 + 98304 * 16 + 4);
    expect(await largeObjectDigest(tgt)).toEqual(await largeObjectDigest(src));
    // Again: replaced, not duplicated.
    await copyLargeObjects(src, tgt);
    expect(await largeObjectDigest(tgt)).toEqual(await largeObjectDigest(src));
    // Tables, sequences and large objects: the whole database is now an exact copy.
    await expectJudgedEqual(source, target, srcDb, { targetDb: tgtDb });
  });

  it('finds large objects created, changed and unlinked after the copy, and syncs exactly those (slice by slice)', async () => {
    const before = await largeObjectDigest(src);
    const [changed, removed] = [before[0]?.oid ?? '', before[1]?.oid ?? ''];
    const { rows } = await src.query<{ oid: string }>(`SELECT lo_from_bytea(0, convert_to(repeat('late ', 100000), 'UTF8'))::int8::text AS oid`);
    const created = rows[0]?.oid ?? '';
    await src.query(`SELECT lo_put($1::oid, 3, '\\x00ff'::bytea)`, [changed]);
    await src.query(`SELECT lo_unlink($1::oid)`, [removed]);
    const diff = await verifyLargeObjects(src, tgt);
    expect(diff).toEqual({ missing: [created], changed: [changed], extra: [removed] });
    expect(sameLargeObjects(diff)).toBe(false);
    const sync = await syncLargeObjects(src, tgt, { sliceBytes: 64 * 1024 });
    expect(sync).toMatchObject({ missing: [created], changed: [changed], extra: [removed] });
    expect(sync.bytes).toBeGreaterThan(500_000);
    expect(sameLargeObjects(await verifyLargeObjects(src, tgt))).toBe(true);
    expect(await largeObjectDigest(tgt)).toEqual(await largeObjectDigest(src));
  });

  it('sets an identity sequence named differently on the target through its column, and names a sequence the target lacks', async () => {
    const owned = async (c: Client) => (await c.query<{ s: string }>(`SELECT pg_get_serial_sequence('app.identities', 'id') AS s`)).rows[0]?.s ?? '';
    const value = async (c: Client, seq: string) => (await c.query<{ v: string }>(`SELECT last_value::text AS v FROM ${seq}`)).rows[0]?.v;
    const original = await owned(tgt);
    await tgt.query(`ALTER SEQUENCE ${original} RENAME TO "renamed id seq"`);
    await src.query(`SELECT setval('${await owned(src)}', 424242); CREATE SEQUENCE app."only on source"`);
    try {
      const before = (await readSequences(src)).length;
      const seq = await copySequences(src, tgt);
      expect(seq).toEqual({ set: before - 1, missing: ['app."only on source"'] });
      expect(await value(tgt, await owned(tgt))).toBe('424242');
    } finally {
      await src.query(`DROP SEQUENCE app."only on source"`);
      await tgt.query(`ALTER SEQUENCE app."renamed id seq" RENAME TO ${original.replace(/^app\./, '')}`);
    }
    expect(await copySequences(src, tgt)).toMatchObject({ missing: [] });
    expect(await readSequences(tgt)).toEqual(await readSequences(src));
  });

  it('verification notices a changed, a missing and a duplicated row', async () => {
    const tables = plan.tables.filter((t) => ['numbers', 'no_key', 'by_uuid'].includes(t.table));
    await tgt.query('BEGIN');
    try {
      await tgt.query(`UPDATE app.numbers SET f8 = f8 + 1e-9 WHERE id = 6`);
      await tgt.query(`DELETE FROM app.by_uuid WHERE n = 17`);
      await tgt.query(`INSERT INTO app.no_key SELECT * FROM app.no_key LIMIT 1`);
      const results = await compareDatabases(src, tgt, tables);
      expect(mismatches(results).map((r) => r.table).sort()).toEqual(['by_uuid', 'no_key', 'numbers']);
      // A table with equal counts and other fast checksums is decided by md5 (the same on every
      // platform): what is reported is md5's; equal tables report the fast checksum.
      const numbers = tables.find((t) => t.table === 'numbers')!;
      await prepareVerifySession(tgt);
      const [fast, md5] = [await tableChecksum(tgt, numbers, 'fast'), await tableChecksum(tgt, numbers, 'md5')];
      expect(fast.checksum).not.toBe(md5.checksum);
      expect(results.find((r) => r.table === 'numbers')).toMatchObject({ rowsTarget: md5.rows, checksumTarget: md5.checksum });
    } finally {
      await tgt.query('ROLLBACK');
    }
  });

  it('converts a LATIN1 source into a UTF8 target, in text and binary COPY, in a group and in chunks', async () => {
    const latin = `copy_latin1_${srcDb.slice(-8)}`;
    const utf = await createTestDatabase(target, 'copy_utf8');
    await sql(source, 'postgres', `CREATE DATABASE ${latin} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`);
    try {
      const ddl = `CREATE TYPE e AS ENUM ('café'); CREATE TABLE t (id int PRIMARY KEY, s text, v varchar(10), m e);`;
      await sql(source, latin, ddl);
      await sql(target, utf, ddl);
      await sql(source, latin, `INSERT INTO t SELECT g, 'Grüße, ñandú ' || g || ' ' || chr(255), 'àéîõü', 'café' FROM generate_series(1, 500) g`);
      const sourceLatin = endpointOf(source, { database: latin });
      const targetUtf = endpointOf(target, { database: utf, sslMode: 'Require' });
      const s = await connect(sourceLatin);
      const t = await connect(targetUtf);
      // Both kinds of unit: the table whole in a group (copyGroupAt), and split in key chunks (copyChunkAt).
      const plans = async (id: string): Promise<CopyPlan[]> => {
        const inventory = await takeInventory(s);
        const grouped = await planTables(s, inventory, { planId: `${id}g` });
        const split = await planTables(s, inventory, { planId: `${id}c`, splitBytes: 8 * 1024, maxChunksPerTable: 3 });
        expect(unitsOfPlan(grouped)).toEqual([[expect.objectContaining({ chunkCount: 1 })]]);
        expect(groupable(grouped.tables[0]?.chunks[0] as CopyChunk)).toBe(true);
        expect(unitsOfPlan(split).map((u) => u.length)).toEqual([1, 1, 1]);
        return [grouped, split];
      };
      const copyAfresh = async (p: CopyPlan, format?: 'auto' | 'text') => {
        await t.query('TRUNCATE public.t; DROP SCHEMA IF EXISTS pgferry_meta CASCADE');
        return copyPlan(sourceLatin, targetUtf, p, format ? { format } : {});
      };
      try {
        for (const p of await plans('l1')) {
          for (const format of ['auto', 'text'] as const) {
            const out = await copyAfresh(p, format);
            expect(out.chunks.map((c) => c.format)).toEqual(out.chunks.map(() => 'text')); // the enum column keeps it text either way
            await expectJudgedEqual(source, target, latin, { targetDb: utf });
            const { rows } = await t.query(`SELECT s, v, m::text FROM public.t WHERE id = 7`);
            expect(rows[0]).toEqual({ s: 'Grüße, ñandú 7 ÿ', v: 'àéîõü', m: 'café' });
          }
        }
        // Without the enum the rows travel in binary, converted by the servers all the same.
        await Promise.all([s.query('ALTER TABLE public.t DROP COLUMN m'), t.query('ALTER TABLE public.t DROP COLUMN m')]);
        for (const p of await plans('l2')) {
          const out = await copyAfresh(p);
          expect(out.chunks.map((c) => c.format)).toEqual(out.chunks.map(() => 'binary'));
          await expectJudgedEqual(source, target, latin, { targetDb: utf });
          expect((await t.query(`SELECT s FROM public.t WHERE id = 9`)).rows[0].s).toBe('Grüße, ñandú 9 ÿ');
        }
      } finally {
        await Promise.all([s.end(), t.end()]);
      }
    } finally {
      await dropTestDatabase(source, latin);
      await dropTestDatabase(target, utf);
    }
  });

  it('fails, not loses rows, when a row-level security policy would hide rows from the copying role', async () => {
    const role = `rls_${srcDb.slice(-8)}`;
    await sql(source, srcDb, `
      CREATE ROLE ${role} LOGIN PASSWORD 'rls-pw';
      CREATE TABLE app.secret (id int PRIMARY KEY, owner_name text);
      INSERT INTO app.secret SELECT g, CASE WHEN g % 2 = 0 THEN 'me' ELSE 'other' END FROM generate_series(1, 10) g;
      ALTER TABLE app.secret ENABLE ROW LEVEL SECURITY;
      CREATE POLICY mine ON app.secret USING (owner_name = 'me');
      GRANT USAGE ON SCHEMA app TO ${role};
      GRANT SELECT ON app.secret TO ${role};`);
    await sql(target, tgtDb, 'CREATE TABLE app.secret (id int PRIMARY KEY, owner_name text)');
    try {
      const { rows } = await sql(source, srcDb, `SELECT oid::int8 AS oid FROM pg_class WHERE oid = 'app.secret'::regclass`);
      const session = await openCopySession(endpointOf(source, { database: srcDb, user: role, password: 'rls-pw' }), targetEp());
      const chunk: CopyChunk = {
        schema: 'app', table: 'secret', id: 'rls:app.secret:0', chunkNo: 0, chunkCount: 1, oid: Number(rows[0].oid),
        columns: ['id', 'owner_name'], binarySafe: true, range: { kind: 'all' }, estimatedRows: 10, estimatedBytes: 8192,
      };
      const err = await copyChunk(session, chunk).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CopyError);
      expect(err).toMatchObject({ retryable: false, context: { side: 'source', sqlstate: '42501', table: 'app.secret' } });
      await closeCopySession(session);
      expect((await sql(target, tgtDb, 'SELECT count(*)::int AS n FROM app.secret')).rows[0].n).toBe(0);
    } finally {
      await sql(source, srcDb, `DROP TABLE app.secret; REVOKE ALL ON SCHEMA app FROM ${role}; DROP ROLE ${role}`);
      await sql(target, tgtDb, 'DROP TABLE app.secret');
    }
  });

  it('dropBookkeeping removes the marks schema', async () => {
    await dropBookkeeping(tgt);
    const { rows } = await tgt.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'pgferry_meta'`);
    expect(rows[0].n).toBe(0);
  });
});
