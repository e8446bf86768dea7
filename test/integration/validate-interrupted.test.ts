/**
 * A validation session that ends under it (pg_terminate_backend, a failover) is retried, not
 * reported as a finding: the torture run (seeds 35, 39, 41 …) saw "No usable logical decoding
 * plugin on the source: pgoutput: terminating connection due to administrator command" end a
 * migration ValidationFailed. Seeds 64 and 132 then saw the same while the probe's session was
 * still opening (the connect's error, a PgConnectionError, was taken for a failure to connect): a
 * session cut at any point of any validation connection is retried, while a server that cannot be
 * reached at all stays a finding the user can act on.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from 'pg';
import { probeDecodingPlugin } from '../../shared/validate/source-facts';
import { flattenMessages, validateMigration, type ValidationRequest } from '../../shared/validate';
import { connect } from '../../shared/pg/connect';
import { isRetryable } from '../../shared/pg/retryable';
import type { ServerInfo } from '../support/cluster';
import { adminClient, createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';
import { freePort } from '../support/ports';

const source = inject('source');
const target = inject('target');
let db: string;

beforeAll(async () => {
  db = await createTestDatabase(source, 'probeint');
  await sql(source, db, 'CREATE TABLE t (id int PRIMARY KEY)');
});
afterAll(async () => {
  await dropTestDatabase(source, db);
  await dropTestDatabase(target, db);
});

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

/**
 * Holds `db`'s database lock as an uncommitted ALTER DATABASE … RENAME does, so the next session to
 * it waits inside its login; terminates that session there (as the torture harness's
 * pg_terminate_backend did to seeds 64 and 132: "ended the session: terminating connection due to
 * administrator command" while the probe's connection was opening); then lets the others in.
 */
async function cutTheNextLogin<T>(server: ServerInfo, db: string, run: () => Promise<T>): Promise<{ returned: T } | { thrown: unknown }> {
  const oid = (await sql(server, 'postgres', 'SELECT oid FROM pg_database WHERE datname = $1', [db])).rows[0]?.oid as number;
  const holder = await adminClient(server, 'postgres');
  try {
    await holder.query(`BEGIN; ALTER DATABASE "${db}" RENAME TO "${db}_held"`);
    const outcome = run().then((returned) => ({ returned }), (thrown: unknown) => ({ thrown }));
    let cut = 0;
    for (let i = 0; i < 400 && cut === 0; i++) {
      const { rows } = await sql(server, 'postgres', `
        SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_locks
         WHERE locktype = 'object' AND classid = 'pg_database'::regclass AND objid = $1 AND NOT granted`, [oid]);
      cut = rows[0]?.n ?? 0;
      if (cut === 0) await new Promise((r) => setTimeout(r, 25));
    }
    expect(cut, 'a login to the database waited for its lock and was terminated').toBe(1);
    await holder.query('ROLLBACK');
    return await outcome;
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end();
  }
}

function request(over: Partial<ValidationRequest> = {}): ValidationRequest {
  return { source: endpointOf(source), target: endpointOf(target), databases: [db], mode: 'Online', overwriteDbsInTarget: true, timeoutMs: 5000, ...over };
}

/** The validation threw the cut session's error (the activity's retry runs it again), and a re-run passes. */
async function expectRetriedThenPassing(out: { returned: unknown } | { thrown: unknown }, again: ValidationRequest): Promise<void> {
  expect('thrown' in out, `a finding instead of a retry: ${JSON.stringify(out).slice(0, 1500)}`).toBe(true);
  const thrown = (out as { thrown: unknown }).thrown;
  expect(isRetryable(thrown), String(thrown)).toBe(true);
  expect(String(thrown)).toMatch(/ended the session|closed the connection|terminat/);
  const rerun = await validateMigration(again);
  expect(rerun.details.status, JSON.stringify(flattenMessages(rerun.details).filter((m) => m.state === 'Failed'))).not.toBe('Failed');
}

describe('a session cut while it opens', () => {
  it("the plugin probe's: retried, not 'no usable decoding plugin' (torture seeds 64, 132)", async () => {
    const req = request();
    await expectRetriedThenPassing(await cutTheNextLogin(source, db, () => validateMigration(req)), req);
  });

  it("the per-database source check's: retried, not 'could not check the database'", async () => {
    // Offline has no probe: the first session to the database is the per-database check's.
    const req = request({ mode: 'Offline' });
    await expectRetriedThenPassing(await cutTheNextLogin(source, db, () => validateMigration(req)), req);
  });

  it("the per-database target check's: retried", async () => {
    // An (empty) database of that name on the target is read for what it holds.
    await sql(target, 'postgres', `CREATE DATABASE "${db}" TEMPLATE template0`);
    try {
      const req = request({ mode: 'Offline' });
      await expectRetriedThenPassing(await cutTheNextLogin(target, db, () => validateMigration(req)), req);
    } finally {
      await dropTestDatabase(target, db);
    }
  });

  it("the connectivity check's: retried, not 'cannot connect'", async () => {
    const req = request({ source: endpointOf(source, { database: db }) });
    await expectRetriedThenPassing(await cutTheNextLogin(source, db, () => validateMigration(req)), req);
  });

  it('a server that cannot be reached at all is still a finding with its fix, not a retry', async () => {
    const out = await validateMigration(request({ source: endpointOf(source, { port: await freePort() }) }));
    expect(out.details.status).toBe('Failed');
    const failed = flattenMessages(out.details).filter((m) => m.state === 'Failed');
    expect(failed.map((m) => m.message).join(' ')).toMatch(/Connection refused/);
    expect(failed.every((m) => m.fix.length > 0)).toBe(true);
  });
});
