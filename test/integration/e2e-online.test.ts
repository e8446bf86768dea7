/**
 * End to end over HTTP: the built app in the offline host migrates a database Online while the
 * source keeps changing, waits for cutover, cuts over on PATCH, and the target equals the source.
 */
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestDatabase, dropTestDatabase, sql, withAdmin } from '../support/databases';
import { http, killAllPgferry, spawnPgferry, waitFor, type PgferryHost } from '../support/pgferry';
import { compareDatabases } from '../../shared/verify/compare';
import type { MigrationResource } from '../../shared/model/migration-resource';

const source = inject('source');
const target = inject('target');
const azurite = inject('azurite');
let host: PgferryHost;
const dbs: string[] = [];

const FIXTURE = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL, balance numeric(20,4), mood mood, tags text[], doc jsonb,
                         created timestamptz DEFAULT now());
  CREATE INDEX accounts_name ON accounts (name);
  CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id bigint REFERENCES accounts, payload text);
  CREATE TABLE audit (at timestamptz, msg text); ALTER TABLE audit REPLICA IDENTITY FULL;
  CREATE TABLE metrics (id int, bucket int, v float8, PRIMARY KEY (id, bucket)) PARTITION BY RANGE (bucket);
  CREATE TABLE metrics_a PARTITION OF metrics FOR VALUES FROM (0) TO (50);
  CREATE TABLE metrics_b PARTITION OF metrics FOR VALUES FROM (50) TO (100);
  INSERT INTO accounts (name, balance, mood, tags, doc)
    SELECT 'acct ' || g, g * 1.5, (ARRAY['sad','ok','happy'])[1 + g % 3]::mood, ARRAY['t' || g], jsonb_build_object('g', g)
      FROM generate_series(1, 5000) g;
  INSERT INTO events (account_id, payload) SELECT 1 + g % 5000, repeat('x', g % 200) FROM generate_series(1, 20000) g;
  INSERT INTO audit SELECT now(), 'boot ' || g FROM generate_series(1, 100) g;
  INSERT INTO metrics SELECT g, g % 100, g / 7.0 FROM generate_series(1, 3000) g;`;

const WRITES = `
  INSERT INTO accounts (name, balance, mood) VALUES ('new ' || random(), 1, 'ok');
  UPDATE accounts SET balance = balance + 1 WHERE id = 1 + floor(random() * 5000)::int;
  DELETE FROM events WHERE id = (SELECT min(id) FROM events);
  INSERT INTO events (account_id, payload) VALUES (1, 'live');
  INSERT INTO audit VALUES (now(), 'live');
  UPDATE metrics SET v = v + 1 WHERE id = 1 + floor(random() * 3000)::int;`;

function body(db: string, mode: 'Online' | 'Offline', option = 'ValidateAndMigrate') {
  return {
    properties: {
      sourceDbServerResourceId: `${source.host}:${source.port}@${source.user}`,
      targetDbServerFullyQualifiedDomainName: `${target.host}:${target.port}`,
      secretParameters: { adminCredentials: { sourceServerPassword: source.password, targetServerPassword: target.password }, targetServerUsername: target.user },
      dbsToMigrate: [db],
      overwriteDbsInTarget: 'True',
      migrationMode: mode,
      migrationOption: option,
      sslMode: 'Prefer',
    },
  };
}

async function getMigration(server: string, name: string): Promise<MigrationResource> {
  const r = await http(`${host.api}/flexibleServers/${server}/migrations/${name}`);
  expect(r.status, r.text).toBe(200);
  return r.json<MigrationResource>();
}

async function tablesOf(db: string) {
  return withAdmin(source, db, async (c) => {
    const { rows } = await c.query<{ schema: string; table: string; columns: string[] }>(`
      SELECT n.nspname AS schema, c.relname AS table,
             array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attgenerated = '') AS columns
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       WHERE c.relkind = 'r' AND n.nspname = 'public' GROUP BY 1, 2 ORDER BY 1, 2`);
    return rows;
  });
}

async function expectEqual(db: string): Promise<void> {
  const tables = await tablesOf(db);
  const cmp = await withAdmin(source, db, (s) => withAdmin(target, db, (t) => compareDatabases(s, t, tables)));
  expect(cmp.filter((c) => !c.match)).toEqual([]);
  expect(cmp.length).toBe(tables.length);
  const seq = `SELECT last_value FROM accounts_id_seq`;
  expect((await sql(target, db, seq)).rows[0]).toEqual((await sql(source, db, seq)).rows[0]);
}

async function slotsLeft(db: string): Promise<string[]> {
  const { rows } = await sql(source, 'postgres', `SELECT slot_name FROM pg_replication_slots WHERE database = $1`, [db]);
  return rows.map((r: { slot_name: string }) => r.slot_name);
}

beforeAll(async () => {
  host = await spawnPgferry({ storage: azurite.connectionString });
});

afterAll(async () => {
  await killAllPgferry();
  for (const db of dbs) {
    await dropTestDatabase(source, db).catch(() => undefined);
    await dropTestDatabase(target, db).catch(() => undefined);
  }
});

describe('Online migration over HTTP', () => {
  it('copies, streams changes during the copy, waits for cutover, cuts over on PATCH, and the target equals the source', async () => {
    const db = await createTestDatabase(source, 'e2eonline');
    dbs.push(db);
    await sql(source, db, FIXTURE);
    const put = await http(`${host.api}/flexibleServers/tgt/migrations/online1`, { method: 'PUT', body: body(db, 'Online') });
    expect(put.status, put.text).toBe(201);
    expect(put.text).not.toContain(source.password);

    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        await sql(source, db, WRITES);
        writes++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const waiting = await waitFor('WaitingForCutoverTrigger', async () => {
      const m = await getMigration('tgt', 'online1');
      const s = m.properties.currentStatus;
      if (s.state === 'Failed' || s.state === 'ValidationFailed') throw new Error(`migration failed: ${JSON.stringify(s)}\n${host.logs().slice(-4000)}`);
      return s.currentSubStateDetails.currentSubState === 'WaitingForCutoverTrigger' ? m : undefined;
    }, 180_000);
    expect(waiting.properties.currentStatus.state).toBe('WaitingForUserAction');
    expect(waiting.properties.currentStatus.currentSubStateDetails.validationDetails?.status).not.toBe('Failed');
    const details = waiting.properties.currentStatus.currentSubStateDetails.dbDetails[db];
    expect(details?.migrationState).toBe('WaitingForCutoverTrigger');
    expect(details?.fullLoadCompletedTables).toBeGreaterThanOrEqual(5);

    writing = false;
    await writer;
    expect(writes).toBeGreaterThan(0);
    const patch = await http(`${host.api}/flexibleServers/tgt/migrations/online1`, { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } });
    expect(patch.status, patch.text).toBe(200);

    const done = await waitFor('Succeeded', async () => {
      const m = await getMigration('tgt', 'online1');
      const st = m.properties.currentStatus.state;
      if (st === 'Failed') throw new Error(`migration failed: ${JSON.stringify(m.properties.currentStatus)}\n${host.logs().slice(-4000)}`);
      return st === 'Succeeded' ? m : undefined;
    }, 120_000);
    expect(done.properties.currentStatus.currentSubStateDetails.currentSubState).toBe('Completed');
    const final = done.properties.currentStatus.currentSubStateDetails.dbDetails[db];
    expect(final?.migrationState).toBe('Succeeded');
    // Changes written during the copy were replayed by CDC, not just copied.
    expect((final?.cdcInsertCounter ?? 0) + (final?.cdcUpdateCounter ?? 0)).toBeGreaterThan(0);
    expect(final?.appliedChanges).toBeGreaterThan(0);
    await expectEqual(db);
    expect(await slotsLeft(db)).toEqual([]);
  }, 300_000);
});
