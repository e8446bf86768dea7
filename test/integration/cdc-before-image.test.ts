/**
 * The engine in before-image mode (the reverse stream of a fallback window) on real servers, both
 * plugins: the reading side's tables are REPLICA IDENTITY FULL, so each update and delete carries
 * the whole old row, and the writing side — written directly meanwhile — gets only the changes
 * that fit the rows they meet. Conflicts are reported, never applied over a row; the rest of their
 * transaction is applied; a second run applies and reports nothing again (exactly once); pgferry's
 * own bookkeeping tables are never replayed. And a quiet slot moves on, so it does not hold the
 * WAL its cluster writes for other databases.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Client } from 'pg';
import { connect, closeQuietly } from '../../shared/pg/connect';
import { advanceQuietSlot, applyBatch, currentFlushLsn, dropSlotAndPublication, ensureSlot, slotNameFor, type Plugin } from '../../shared/cdc';
import { useFullReplicaIdentity, matchReplicaIdentity } from '../../shared/cdc/replica-identity';
import type { ServerInfo } from '../support/cluster';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';

const source = inject('source');
const target = inject('target');

const SCHEMA = `
  CREATE TABLE t (id int PRIMARY KEY, v text, n numeric, doc json);
  CREATE TABLE k (a int, b text);
  INSERT INTO t SELECT g, 'v' || g, g / 3.0, ('{"g": ' || g || '}')::json FROM generate_series(1, 10) g;
  INSERT INTO k VALUES (1, 'one'), (2, 'two'), (2, 'two');`;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function open(server: ServerInfo, label: string, ddl: string): Promise<{ db: string; client: Client }> {
  const db = await createTestDatabase(server, label);
  await sql(server, db, ddl);
  const client = await connect(endpointOf(server, { database: db, sslMode: server.ssl ? 'Require' : 'Prefer' }));
  cleanups.push(async () => {
    await closeQuietly(client);
    await dropTestDatabase(server, db);
  });
  return { db, client };
}

describe.each<Plugin>(['pgoutput', 'wal2json'])('before-image replay (%s)', (plugin) => {
  it('applies what fits, reports what was written on the writing side directly, and never overwrites it', async () => {
    // Reading side: where the changes are made and the slot is (a fallback window's target).
    const reading = await open(source, 'bi_read', `${SCHEMA}; CREATE SCHEMA pgferry_cdc; CREATE TABLE pgferry_cdc.applied_lsn (slot_name text PRIMARY KEY, commit_lsn pg_lsn)`);
    const writing = await open(target, 'bi_write', SCHEMA);
    expect(await useFullReplicaIdentity(reading.client)).toBe(2);
    const slot = slotNameFor('it-before-image', reading.db);
    await ensureSlot(reading.client, slot, { plugin });
    cleanups.unshift(async () => {
      const c = await connect(endpointOf(source, { database: reading.db }));
      await dropSlotAndPublication(c, slot).finally(() => closeQuietly(c));
    });

    // Written on the writing side directly (not through the stream).
    await sql(target, writing.db, `UPDATE t SET v = 'direct' WHERE id = 1; DELETE FROM t WHERE id = 2; INSERT INTO t VALUES (100, 'direct', 0, '{}'), (300, 'direct', 0, '{}'); UPDATE t SET n = 99 WHERE id = 7`);
    // The reading side's own changes, in one transaction and a few more.
    await sql(source, reading.db, `BEGIN;
      UPDATE t SET v = 'read 1' WHERE id = 1;
      UPDATE t SET v = 'read 2' WHERE id = 2;
      INSERT INTO t VALUES (100, 'read', 1, '{}');
      UPDATE t SET v = 'read 3', doc = '{"x": 3}' WHERE id = 3;
      DELETE FROM t WHERE id = 4;
      INSERT INTO t VALUES (200, 'read', 2, '{}');
      UPDATE t SET id = 300 WHERE id = 6;
      UPDATE k SET b = 'uno' WHERE a = 1;
      DELETE FROM k WHERE ctid = (SELECT ctid FROM k WHERE a = 2 LIMIT 1);
      INSERT INTO pgferry_cdc.applied_lsn VALUES ('x', '0/1');
      COMMIT;
      UPDATE t SET v = 'read 7' WHERE id = 7;
      DELETE FROM t WHERE id = 5;`);

    const first = await applyBatch(reading.client, writing.client, { slot, plugin, beforeImage: true, progress: 'table' });
    const conflicts = first.conflicts.map((c) => ({ kind: c.kind, table: c.table.table, key: c.key, reason: c.reason }));
    expect(conflicts).toEqual([
      { kind: 'update', table: 't', key: 'id=1', reason: expect.stringMatching(/^the source row differs from the target's row before this change/) },
      { kind: 'update', table: 't', key: 'id=2', reason: expect.stringMatching(/^the row is not on the source/) },
      { kind: 'insert', table: 't', key: 'id=100', reason: expect.stringMatching(/^a row with this key already exists on the source/) },
      { kind: 'update', table: 't', key: 'id=6', reason: expect.stringMatching(/^its new key id=300 is taken on the source/) },
      { kind: 'update', table: 't', key: 'id=7', reason: expect.stringMatching(/differs/) },
    ]);
    expect(first.changesApplied).toBe(6);
    const rows = await sql(target, writing.db, `SELECT id, v FROM t ORDER BY id`);
    expect(rows.rows).toEqual([
      { id: 1, v: 'direct' }, { id: 3, v: 'read 3' }, { id: 6, v: 'v6' }, { id: 7, v: 'v7' }, { id: 8, v: 'v8' },
      { id: 9, v: 'v9' }, { id: 10, v: 'v10' }, { id: 100, v: 'direct' }, { id: 200, v: 'read' }, { id: 300, v: 'direct' },
    ]);
    const keyless = await sql(target, writing.db, `SELECT a, b FROM k ORDER BY a, b`);
    expect(keyless.rows).toEqual([{ a: 1, b: 'uno' }, { a: 2, b: 'two' }]);
    // pgferry's own bookkeeping was not replayed into the writing side's (made there by progress: 'table').
    expect((await sql(target, writing.db, `SELECT slot_name FROM pgferry_cdc.applied_lsn ORDER BY 1`)).rows).toEqual([{ slot_name: slot }]);

    // Exactly once: nothing is applied or reported again.
    const again = await applyBatch(reading.client, writing.client, { slot, plugin, beforeImage: true, progress: 'table' });
    expect(again.changesApplied).toBe(0);
    expect(again.conflicts).toEqual([]);
  }, 120_000);
});

describe('a quiet slot', () => {
  it('moves to the flush position after a caught-up batch, releasing WAL written for other databases; the next change applies once', async () => {
    const reading = await open(source, 'quiet_read', SCHEMA);
    const busy = await open(source, 'quiet_busy', 'CREATE TABLE filler (id int, pad text)');
    const writing = await open(target, 'quiet_write', SCHEMA);
    const slot = slotNameFor('it-quiet', reading.db);
    await ensureSlot(reading.client, slot, { plugin: 'pgoutput' });
    cleanups.unshift(async () => {
      const c = await connect(endpointOf(source, { database: reading.db }));
      await dropSlotAndPublication(c, slot).finally(() => closeQuietly(c));
    });
    const retained = async () => Number((await sql(source, 'postgres', `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::int8 AS b FROM pg_replication_slots WHERE slot_name = $1`, [slot])).rows[0]?.b);
    await sql(source, busy.db, `INSERT INTO filler SELECT g, repeat(md5(g::text), 30) FROM generate_series(1, 8000) g`);
    // A running-xacts record (a checkpoint logs one; the server also does every 15 s) is where a
    // logical slot's restart position can move to.
    await sql(source, 'postgres', 'CHECKPOINT');
    expect(await retained()).toBeGreaterThan(4 * 1024 * 1024);

    const flushed = await currentFlushLsn(reading.client);
    const batch = await applyBatch(reading.client, writing.client, { slot, plugin: 'pgoutput', beforeImage: true });
    expect(batch.caughtUp).toBe(true);
    expect(batch.changesApplied).toBe(0);
    expect(await advanceQuietSlot(reading.client, writing.client, slot, flushed, new Date().toISOString())).toBe(true);
    expect(await retained()).toBeLessThan(1024 * 1024);

    await sql(source, reading.db, `UPDATE t SET v = 'after' WHERE id = 1`);
    const next = await applyBatch(reading.client, writing.client, { slot, plugin: 'pgoutput', beforeImage: true });
    expect(next.changesApplied).toBe(1);
    expect((await sql(target, writing.db, `SELECT v FROM t WHERE id = 1`)).rows).toEqual([{ v: 'after' }]);
  }, 120_000);

  it('replica identities go back to the reference\'s', async () => {
    const reference = await open(source, 'ident_ref', `${SCHEMA}; ALTER TABLE t ALTER n SET NOT NULL; ALTER TABLE k REPLICA IDENTITY FULL; CREATE UNIQUE INDEX t_v ON t (id, n); ALTER TABLE t REPLICA IDENTITY USING INDEX t_v`);
    const subject = await open(target, 'ident_sub', `${SCHEMA}; ALTER TABLE t ALTER n SET NOT NULL; CREATE UNIQUE INDEX t_v ON t (id, n)`);
    expect(await useFullReplicaIdentity(subject.client)).toBe(2);
    expect(await matchReplicaIdentity(reference.client, subject.client)).toBe(1);
    const q = `SELECT c.relname, c.relreplident::text AS r, (SELECT i.indexrelid::regclass::text FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident) AS idx
                 FROM pg_class c WHERE c.relname IN ('t', 'k') ORDER BY 1`;
    expect((await sql(target, subject.db, q)).rows).toEqual((await sql(source, reference.db, q)).rows);
  }, 60_000);
});
