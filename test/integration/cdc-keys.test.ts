/**
 * Replay on real servers of what users' schemas really have: tables keyed only by REPLICA
 * IDENTITY USING INDEX (a unique index on NOT NULL columns, no primary key), and CHECK
 * constraints whose functions name tables unqualified (resolved by the database's search_path).
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Client } from 'pg';
import { connect, closeQuietly } from '../../shared/pg/connect';
import { applyBatch, dropSlotAndPublication, ensureSlot, slotNameFor, tableKey, type ApplyBatchOptions, type CopySnapshotMap } from '../../shared/cdc';
import { adminClient, createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';

const source = inject('source');
const target = inject('target');

const RI_TABLE = `
  CREATE TABLE public.ri (code text NOT NULL, region int NOT NULL, n int, note text);
  CREATE UNIQUE INDEX ri_key ON public.ri (region, code);
  ALTER TABLE public.ri REPLICA IDENTITY USING INDEX ri_key;`;

interface Pair {
  src: Client;
  dst: Client;
  writer: Client;
  reader: Client;
  slot: string;
  srcDb: string;
  dstDb: string;
}

let p: Pair;

beforeEach(async (ctx) => {
  const label = ctx.task.name.slice(0, 12).replace(/\W+/g, '_');
  const srcDb = await createTestDatabase(source, `keys_${label}`);
  const dstDb = await createTestDatabase(target, `keys_${label}`);
  const src = await connect(endpointOf(source, { database: srcDb }));
  const dst = await connect(endpointOf(target, { database: dstDb, sslMode: target.ssl ? 'Require' : 'Prefer' }));
  p = { src, dst, writer: await adminClient(source, srcDb), reader: await adminClient(target, dstDb), slot: slotNameFor('it-keys', srcDb), srcDb, dstDb };
});

afterEach(async () => {
  await dropSlotAndPublication(p.src, p.slot).catch(() => undefined);
  await Promise.all([closeQuietly(p.src), closeQuietly(p.dst), p.writer.end(), p.reader.end()]);
  await dropTestDatabase(source, p.srcDb);
  await dropTestDatabase(target, p.dstDb);
});

async function catchUp(opts: Omit<ApplyBatchOptions, 'slot' | 'plugin'>): Promise<{ statements: number; changes: number }> {
  const slot = await ensureSlot(p.src, p.slot, { plugin: 'pgoutput' });
  let statements = 0;
  let changes = 0;
  for (let i = 0; i < 50; i++) {
    const r = await applyBatch(p.src, p.dst, { slot: p.slot, plugin: slot.plugin, progress: 'table', ...opts });
    statements += r.statements;
    changes += r.changesApplied;
    if (r.caughtUp) return { statements, changes };
  }
  throw new Error('no catch-up');
}

async function rows(c: Client, query: string): Promise<unknown[]> {
  return (await c.query(query)).rows;
}

describe('tables keyed by their replica identity index', () => {
  it('are replayed by that key while a chunked copy makes replay idempotent', async () => {
    await sql(source, p.srcDb, RI_TABLE);
    await sql(target, p.dstDb, RI_TABLE);
    await ensureSlot(p.src, p.slot, { plugin: 'pgoutput' });
    const before = (await p.writer.query<{ s: string }>(`SELECT pg_catalog.pg_current_snapshot()::text AS s`)).rows[0]?.s ?? '';
    await p.writer.query(`INSERT INTO public.ri SELECT 'c' || g, g % 3, g, 'x' FROM generate_series(1, 30) g`);
    // The copy (two chunks under the snapshot before the writes) already holds some of the rows.
    await p.reader.query(`INSERT INTO public.ri SELECT 'c' || g, g % 3, g, 'x' FROM generate_series(1, 10) g`);
    await p.writer.query(`UPDATE public.ri SET n = n * 10, note = 'updated' WHERE n % 2 = 0`);
    await p.writer.query(`DELETE FROM public.ri WHERE n % 5 = 0`);
    const endLsn = (await p.writer.query<{ l: string }>(`SELECT pg_catalog.pg_current_wal_lsn()::text AS l`)).rows[0]?.l ?? '';
    const copy: CopySnapshotMap = { [tableKey('public', 'ri')]: { snapshots: [before, before], endLsn, singleChunk: false, hasKey: true } };
    await catchUp({ copy, consistencyLsn: endLsn });
    const all = 'SELECT region, code, n, note FROM public.ri ORDER BY region, code';
    expect(await rows(p.reader, all)).toEqual(await rows(p.writer, all));
  });

  it('are updated and deleted many rows per statement, by the index, when replay is exact', async () => {
    await sql(source, p.srcDb, RI_TABLE);
    await sql(target, p.dstDb, RI_TABLE);
    const seed = `INSERT INTO public.ri SELECT 'c' || g, g % 3, g, 'x' FROM generate_series(1, 200) g`;
    await p.writer.query(seed);
    await p.reader.query(seed);
    await ensureSlot(p.src, p.slot, { plugin: 'pgoutput' });
    await p.writer.query(`UPDATE public.ri SET note = 'updated' WHERE n <= 100`);
    await p.writer.query(`DELETE FROM public.ri WHERE n > 150`);
    const r = await catchUp({});
    expect(r.changes).toBe(150);
    // Matched one row at a time (no key), these would be 150 statements, each a full scan.
    expect(r.statements).toBeLessThan(20);
    const all = 'SELECT region, code, n, note FROM public.ri ORDER BY region, code';
    expect(await rows(p.reader, all)).toEqual(await rows(p.writer, all));
  });
});

describe('the search_path of user code during replay', () => {
  it('is the database default, so a CHECK function naming a table unqualified works', async () => {
    const ddl = `
      CREATE TABLE public.allowed (v text PRIMARY KEY);
      INSERT INTO public.allowed VALUES ('red'), ('green');
      CREATE FUNCTION public.is_allowed(x text) RETURNS boolean LANGUAGE plpgsql STABLE
        AS $$ BEGIN RETURN EXISTS (SELECT 1 FROM allowed WHERE v = x); END $$;
      CREATE TABLE public.paint (id int PRIMARY KEY, colour text CHECK (public.is_allowed(colour)));`;
    await sql(source, p.srcDb, ddl);
    await sql(target, p.dstDb, ddl);
    await ensureSlot(p.src, p.slot, { plugin: 'pgoutput' });
    await p.writer.query(`INSERT INTO public.paint VALUES (1, 'red'), (2, 'green')`);
    await p.writer.query(`UPDATE public.paint SET colour = 'red' WHERE id = 2`);
    await catchUp({});
    expect(await rows(p.reader, 'SELECT id, colour FROM public.paint ORDER BY id')).toEqual([{ id: 1, colour: 'red' }, { id: 2, colour: 'red' }]);
    // The session keeps the database's path (reading the target's types did not leave pg_catalog).
    expect((await p.dst.query<{ p: string }>(`SELECT pg_catalog.current_setting('search_path') AS p`)).rows[0]?.p).toBe('"$user", public');
  });
});
