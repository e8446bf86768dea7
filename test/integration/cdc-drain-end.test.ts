/**
 * The cutover's drain always reaches its end position. Torture seeds 187 and 68 (both wal2json,
 * on a loaded machine) sat in "Cutting over: applying the last changes" past 300 s:
 *  - a streamed batch that meets a transaction committed after the end has read everything up
 *    to the end, but it only said "caught up" when a keepalive happened to arrive before that
 *    transaction's data; each drain batch ran the race again and lost it again and again. Such a
 *    transaction is common: a user still writing, and, for wal2json, which prints even an empty
 *    transaction as B/C, autovacuum's ANALYZE of a table;
 *  - on an idle source whose last record ended on a page boundary, the insert position (the end)
 *    stands right after the next page's header, where no record ends: the flushed WAL never
 *    reaches it until something else writes WAL, so the drain waited for minutes.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from 'pg';
import { connect, closeQuietly } from '../../shared/pg/connect';
import { applyBatch, currentFlushLsn, currentInsertLsn, dropSlotAndPublication, ensureSlot, slotNameFor, TypeCache, type Plugin } from '../../shared/cdc';
import { startCluster, type Cluster, type ServerInfo } from '../support/cluster';
import { adminClient, createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';
import { drainForCutover } from '../support/cdc-drain';

const source = inject('source');
const target = inject('target');

interface Pair {
  s: Client;
  d: Client;
  writer: Client;
  slot: string;
  options: { slot: string; plugin: Plugin; types: TypeCache; openReplication: () => Promise<Client>; maxMs: number };
  targetRows: () => Promise<string[]>;
  close: () => Promise<void>;
}

/** A source database with table t and its slot, a target database with t, caught up. */
async function caughtUpPair(src: ServerInfo, plugin: Plugin, label: string): Promise<Pair> {
  const srcDb = await createTestDatabase(src, label);
  const dstDb = await createTestDatabase(target, label);
  for (const [server, db] of [[src, srcDb], [target, dstDb]] as const) await sql(server, db, 'CREATE TABLE t (id int PRIMARY KEY, v text)');
  const s = await connect(endpointOf(src, { database: srcDb }));
  const d = await connect(endpointOf(target, { database: dstDb, sslMode: 'Require' }));
  const writer = await adminClient(src, srcDb);
  const slot = slotNameFor(label, srcDb);
  await ensureSlot(s, slot, { plugin });
  const options = { slot, plugin, types: new TypeCache(), openReplication: () => connect(endpointOf(src, { database: srcDb }), { replication: true }), maxMs: 5000 };
  await writer.query(`INSERT INTO t SELECT g, 'copied by replay' FROM generate_series(1, 10) g`);
  expect((await applyBatch(s, d, options)).caughtUp).toBe(true);
  return {
    s, d, writer, slot, options,
    targetRows: async () => (await d.query<{ v: string }>('SELECT v FROM t WHERE id > 10 ORDER BY id')).rows.map((r) => r.v),
    close: async () => {
      await dropSlotAndPublication(s, slot).catch(() => undefined);
      await Promise.all([closeQuietly(s), closeQuietly(d), writer.end()]);
      await dropTestDatabase(src, srcDb);
      await dropTestDatabase(target, dstDb);
    },
  };
}

describe('a streamed drain batch with a transaction committed after the end', () => {
  it.each(['wal2json', 'pgoutput'] as const)('is caught up with the end, batch after batch, and leaves that transaction out (%s)', async (plugin) => {
    const p = await caughtUpPair(source, plugin, `drain_${plugin}`);
    try {
      await p.writer.query(`INSERT INTO t VALUES (11, 'before the end')`);
      const end = await currentInsertLsn(p.s);
      // After the end: autovacuum's kind of transaction (wal2json prints it as an empty B/C) and a user still writing.
      await p.writer.query('ANALYZE t');
      await p.writer.query(`INSERT INTO t VALUES (12, 'after the end')`);
      const caughtUp: boolean[] = [];
      for (let i = 0; i < 8; i++) caughtUp.push((await applyBatch(p.s, p.d, { ...p.options, uptoLsn: end })).caughtUp);
      expect(caughtUp).toEqual(Array.from({ length: 8 }, () => true));
      expect(await p.targetRows()).toEqual(['before the end']);
    } finally {
      await p.close();
    }
  });
});

describe('an idle source whose insert position stands right after a page header', () => {
  let idle: Cluster;
  // Its own server, so no other test's WAL moves the flush position; no autovacuum for the same reason.
  beforeAll(async () => {
    idle = await startCluster({ label: 'drain-idle', logical: true, settings: { autovacuum: 'off' } });
  });
  afterAll(async () => idle?.stop());

  it('is drained to the end all the same (the flush is made to pass it)', async () => {
    const p = await caughtUpPair(idle.info, 'pgoutput', 'drain_idle');
    try {
      await p.writer.query(`INSERT INTO t VALUES (11, 'before the end')`);
      await p.writer.query('SELECT pg_switch_wal()');
      // The condition itself: the next record would start after the new segment's page header.
      const [insert, flushed] = [await currentInsertLsn(p.s), await currentFlushLsn(p.s)];
      expect(insert, `flushed ${flushed}`).toMatch(/^[0-9A-F]+\/[0-9A-F]*000028$/);
      // 80 batches with their 50 ms rests: about 4 s; without flushPast the flush never gets there.
      const drain = await drainForCutover(p.s, p.d, p.options, 80);
      expect(drain.endLsn).toBe(insert);
      expect(await p.targetRows()).toEqual(['before the end']);
    } finally {
      await p.close();
    }
  });
});
