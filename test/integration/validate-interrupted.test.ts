/**
 * A validation session that ends under it (pg_terminate_backend, a failover) is retried, not
 * reported as a finding: the torture run (seeds 35, 39, 41 …) saw "No usable logical decoding
 * plugin on the source: pgoutput: terminating connection due to administrator command" end a
 * migration ValidationFailed.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from 'pg';
import { probeDecodingPlugin } from '../../shared/validate/source-facts';
import { connect } from '../../shared/pg/connect';
import { isRetryable } from '../../shared/pg/retryable';
import { adminClient, createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';

const source = inject('source');
let db: string;

beforeAll(async () => {
  db = await createTestDatabase(source, 'probeint');
  await sql(source, db, 'CREATE TABLE t (id int)');
});
afterAll(async () => dropTestDatabase(source, db));

describe('the decoding-plugin probe', () => {
  it("throws a retryable error when its session is terminated, instead of saying the plugin is missing", async () => {
    // A transaction with an xid makes the probe's slot creation wait, so it can be terminated mid-probe.
    const blocker = await adminClient(source, db);
    await blocker.query('BEGIN; INSERT INTO t VALUES (1)');
    const probeClient = (await connect(endpointOf(source, { database: db }))) as Client;
    const pid = (await probeClient.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    try {
      const probe = probeDecodingPlugin(probeClient, source.major * 10000, 30_000).then((r) => ({ returned: r }), (err: unknown) => ({ thrown: err }));
      for (let i = 0; i < 100; i++) {
        const { rows } = await sql(source, 'postgres', `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ${pid} AND query LIKE '%pg_create_logical_replication_slot%' AND state = 'active'`);
        if (rows[0].n === 1) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await sql(source, 'postgres', `SELECT pg_terminate_backend(${pid})`);
      const out = await probe;
      expect('thrown' in out, JSON.stringify(out)).toBe(true);
      expect(isRetryable((out as { thrown: unknown }).thrown)).toBe(true);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
      await probeClient.end().catch(() => undefined);
    }
  });
});
