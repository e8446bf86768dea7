/**
 * Split copies stay exact under what real sources do while they are planned and copied:
 *  - a row updated inside a SAVEPOINT by a transaction open at planning time (the subtransaction
 *    has its own xid, which pg_current_snapshot() does not list);
 *  - an asynchronous commit (synchronous_commit = off) that a chunk sees before the WAL writer has
 *    written it out.
 * Each scenario copies a table split by heap pages (xmin-filtered chunks) chunk by chunk with the
 * engine, adds the primary key as the keys phase does, replays the slot with the copy's snapshots
 * (copySnapshotMap, as the CDC step builds it) and compares every row. The source is a server of
 * its own with a 10 s WAL writer delay, so an asynchronous commit stays unwritten while a chunk reads.
 */
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyBatch, dropSlotAndPublication, ensureSlot, slotNameFor, TypeCache } from '../../shared/cdc';
import {
  closeCopySession,
  copyChunk,
  copySnapshotMap,
  listMarks,
  openCopySession,
  planChunks,
  planTables,
  takeInventory,
  withRunningXids,
  type CopyChunk,
  type CopyPlan,
} from '../../shared/copy';
import { connect, closeQuietly } from '../../shared/pg/connect';
import { startCluster, type Cluster } from '../support/cluster';
import { adminClient, createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';

const target = inject('target');
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ major: 15, logical: true, label: 'copycons', settings: { wal_writer_delay: '10s' } });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

const ROWS = 3000;
const SOURCE_DDL = `CREATE TABLE t (k text PRIMARY KEY, v int NOT NULL, pad text NOT NULL);
  CREATE TABLE other (x int);
  INSERT INTO t SELECT 'k' || lpad(i::text, 5, '0'), 0, repeat('x', 200) FROM generate_series(1, ${ROWS}) i;
  ANALYZE t;`;
// The keys phase adds the primary key after the copy: duplicates show as rows, then as its failure.
const TARGET_DDL = `CREATE TABLE t (k text NOT NULL, v int NOT NULL, pad text NOT NULL); CREATE TABLE other (x int);`;

interface Scenario {
  srcDb: string;
  dstDb: string;
  src: Client;
  dst: Client;
  writer: Client;
  slot: string;
  plugin: 'wal2json' | 'pgoutput';
  close(): Promise<void>;
}

async function scenario(label: string): Promise<Scenario> {
  const srcDb = await createTestDatabase(cluster.info, label);
  const dstDb = await createTestDatabase(target, label);
  await sql(cluster.info, srcDb, SOURCE_DDL);
  await sql(target, dstDb, TARGET_DDL);
  const src = await connect(endpointOf(cluster.info, { database: srcDb }));
  const dst = await connect(endpointOf(target, { database: dstDb, sslMode: target.ssl ? 'Require' : 'Prefer' }));
  const writer = await adminClient(cluster.info, srcDb);
  const slot = slotNameFor(`it-${label}`, srcDb);
  const { plugin } = await ensureSlot(src, slot, { plugin: 'auto' });
  return {
    srcDb,
    dstDb,
    src,
    dst,
    writer,
    slot,
    plugin,
    close: async () => {
      await dropSlotAndPublication(src, slot).catch(() => undefined);
      await Promise.all([closeQuietly(src), closeQuietly(dst), writer.end()]);
      await dropTestDatabase(cluster.info, srcDb);
      await dropTestDatabase(target, dstDb);
    },
  };
}

/** The plan, with `t` split into three heap-page chunks under the xmin filter. */
async function planSplit(s: Scenario): Promise<{ plan: CopyPlan; chunks: CopyChunk[] }> {
  const plan = await planTables(s.src, await takeInventory(s.src), { planId: 'cc', splitRows: 1000, maxChunksPerTable: 3 });
  const chunks = planChunks(plan).filter((c) => c.table === 't');
  expect(plan.tables.find((t) => t.table === 't')?.split).toBe('ctid');
  expect(chunks).toHaveLength(3);
  expect(chunks.every((c) => c.baseSnapshot !== undefined)).toBe(true);
  return { plan, chunks };
}

async function copyChunks(s: Scenario, chunks: CopyChunk[]): Promise<void> {
  const session = await openCopySession(endpointOf(cluster.info, { database: s.srcDb }), endpointOf(target, { database: s.dstDb, sslMode: target.ssl ? 'Require' : 'Prefer' }));
  try {
    for (const c of chunks) await copyChunk(session, c);
  } finally {
    await closeCopySession(session);
  }
}

/** The first page of the last chunk: a row version there is copied only by that chunk. */
function lastChunkPage(chunks: CopyChunk[]): number {
  const last = chunks[chunks.length - 1];
  if (last?.range.kind !== 'ctid') throw new Error('not a ctid chunk');
  return last.range.fromPage;
}

async function page(c: Client, key: string): Promise<number> {
  const { rows } = await c.query<{ page: string }>(`SELECT (ctid::text::point)[0]::int8::text AS page FROM t WHERE k = $1`, [key]);
  return Number(rows[0]?.page);
}

/** Adds the key (fails on a duplicate), replays the slot with the copy's snapshots, compares. */
async function replayAndCompare(s: Scenario, plan: CopyPlan): Promise<void> {
  await s.dst.query('ALTER TABLE t ADD PRIMARY KEY (k)');
  const copy = copySnapshotMap(planChunks(plan), await listMarks(s.dst));
  const types = new TypeCache();
  for (let i = 0; ; i++) {
    const r = await applyBatch(s.src, s.dst, { slot: s.slot, plugin: s.plugin, copy, types });
    if (r.caughtUp) break;
    if (i > 50) throw new Error('no catch-up');
  }
  const rows = `SELECT count(*)::int AS n, md5(string_agg(k || ':' || v || ':' || pad, ',' ORDER BY k)) AS h FROM public.t`;
  const [a, b] = [(await s.writer.query(rows)).rows[0], (await s.dst.query(rows)).rows[0]];
  expect(b).toEqual(a);
}

describe('split copies on a busy source', () => {
  it('lists the running subtransactions in the base snapshot (pure)', () => {
    // 105 is top-level and listed; 107 is its subtransaction; 120 began after the snapshot.
    expect(withRunningXids('100:110:105', ['105', '107', '120', '99'])).toBe('100:110:105,107');
    expect(withRunningXids('100:110:', [])).toBe('100:110:');
  });

  it('copies a row updated inside a SAVEPOINT by a transaction open at planning exactly once', async () => {
    const s = await scenario('cc_subx');
    const holder = await adminClient(cluster.info, s.srcDb);
    try {
      // The transaction has a top-level xid, and its subtransaction moves row k00001 from the
      // full first page to the end of the table: the new version has the subtransaction's xid.
      await holder.query(`BEGIN; SELECT pg_current_xact_id(); SAVEPOINT a; UPDATE t SET v = 1 WHERE k = 'k00001'`);
      // A later transaction commits, so the snapshot's xmax passes the subtransaction's xid.
      await s.writer.query('INSERT INTO other VALUES (1)');
      const { plan, chunks } = await planSplit(s);
      expect(await page(holder, 'k00001')).toBeGreaterThanOrEqual(lastChunkPage(chunks));
      await copyChunks(s, chunks.slice(0, 1)); // sees the old version
      await holder.query('COMMIT');
      await copyChunks(s, chunks.slice(1)); // sees the new one
      const { rows } = await s.dst.query<{ n: number; keys: number }>(`SELECT count(*)::int AS n, count(DISTINCT k)::int AS keys FROM t`);
      expect(rows[0]).toEqual({ n: ROWS, keys: ROWS });
      await replayAndCompare(s, plan);
    } finally {
      await holder.end();
      await s.close();
    }
  }, 120_000);

  it('replays an asynchronous commit a chunk saw before it was written out', async () => {
    const s = await scenario('cc_async');
    try {
      const { plan, chunks } = await planSplit(s);
      await copyChunks(s, chunks.slice(0, -1));
      // A row of the last chunk is deleted by an asynchronous commit right before that chunk reads.
      const { rows } = await s.writer.query<{ k: string }>(`SELECT k FROM t WHERE ctid >= $1::tid ORDER BY k LIMIT 1`, [`(${lastChunkPage(chunks)},0)`]);
      const key = rows[0]?.k ?? '';
      await s.writer.query('SET synchronous_commit = off');
      await s.writer.query('DELETE FROM t WHERE k = $1', [key]);
      await copyChunks(s, chunks.slice(-1));
      // A synchronous commit flushes the WAL, so decoding reaches the delete.
      await s.writer.query('SET synchronous_commit = on; INSERT INTO other VALUES (2)');
      await replayAndCompare(s, plan);
    } finally {
      await s.close();
    }
  }, 120_000);
});
