/**
 * The way back's setup and safety net as steps, on real servers and a real Azurite: prepareReverse
 * makes the slot on the target with REPLICA IDENTITY FULL before the target is handed over; the
 * safety net of a failed or ended migration (dropReverse, as stopDatabase and finishMigration call
 * it) leaves nothing; and a way back that cannot be made (the target login may not alter the
 * tables) does not fail the cutover of data that is complete and verified: the database goes on,
 * its way back is Failed with the reason, the migration says so, and nothing is left behind. A fall
 * back drains the reverse stream to its end even when the target, its writes stopped, stands idle
 * right after a WAL page header (as the cutover's drain does the source: flushPast).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createMigration, createStoreContext, dropTables, ensureTables, getDatabase, getMigration, newDatabaseRecord, upsertDatabase, type MigrationRecord, type StoreContext } from '../../shared/store';
import { loadSettings } from '../../shared/model/settings';
import { putSecrets } from '../../shared/secrets/store';
import { migrationInstanceId } from '../../shared/steps/names';
import { dropReverse, prepareReverse, reverseSlotOf } from '../../shared/steps/reverse-slot';
import { applyReverse, openReverse } from '../../shared/steps/reverse';
import { beginFallback } from '../../shared/steps/fallback';
import { currentFlushLsn, currentInsertLsn } from '../../shared/cdc';
import { closeQuietly, connect } from '../../shared/pg/connect';
import { endpointOf } from '../support/endpoints';
import type { Runtime } from '../../shared/steps/runtime';
import { startCluster, type Cluster, type ServerInfo } from '../support/cluster';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';

const source = inject('source');
const target = inject('target');
const azurite = inject('azurite');
const key = randomBytes(32);
const weak = `fbs_${randomBytes(3).toString('hex')}`;
let store: StoreContext;
let rt: Runtime;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  store = createStoreContext(azurite.connectionString, { prefix: `S${randomBytes(6).toString('hex')}` });
  await ensureTables(store);
  rt = { settings: loadSettings({ AzureWebJobsStorage: azurite.connectionString }), store, keys: { current: key }, decoder: 'pgoutput' };
  await sql(target, 'postgres', `CREATE ROLE ${weak} LOGIN REPLICATION PASSWORD 'fbs-pw'`);
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await sql(target, 'postgres', `DROP ROLE IF EXISTS ${weak}`).catch(() => undefined);
  await dropTables(store);
});

const TABLES = `CREATE TABLE t (id int PRIMARY KEY, v text); CREATE TABLE k (a int, b text); ALTER TABLE k REPLICA IDENTITY FULL; INSERT INTO t VALUES (1, 'a')`;

/** The same database on both sides, and a migration with fallbackAfterCutover whose target login is `targetUser`. */
async function migration(targetUser?: string, on: ServerInfo = target): Promise<{ m: MigrationRecord; db: string }> {
  const db = await createTestDatabase(source, 'fbs');
  await createTestDatabase(on, 'fbs', db);
  cleanups.push(() => dropTestDatabase(source, db), () => dropTestDatabase(on, db));
  await sql(source, db, TABLES);
  await sql(on, db, TABLES);
  const name = `m${randomBytes(4).toString('hex')}`;
  const m: MigrationRecord = {
    server: 'srv', name, migrationId: randomUUID(), state: 'InProgress', subState: 'CompletingMigration', migrationMode: 'Online', migrationOption: 'Migrate',
    sourceType: 'OnPremises', sslMode: 'Prefer', source: { host: source.host, port: source.port, user: source.user },
    target: { host: on.host, port: on.port, user: targetUser ?? on.user },
    dbsToMigrate: [db], overwriteDbsInTarget: true, migrateRoles: false, fallback: { enabled: true },
    createdAt: new Date().toISOString(), startedOn: new Date().toISOString(), instanceId: migrationInstanceId('srv', name),
  };
  await createMigration(store, m);
  await upsertDatabase(store, m, newDatabaseRecord(db, 'InProgress'));
  await putSecrets(store, m.server, m.name, { sourcePassword: source.password, targetPassword: targetUser ? 'fbs-pw' : on.password }, rt.keys);
  return { m, db };
}

const identities = async (server: ServerInfo, db: string) =>
  (await sql(server, db, `SELECT relname || ' ' || relreplident::text AS t FROM pg_class WHERE relname IN ('t', 'k') ORDER BY 1`)).rows.map((r: { t: string }) => r.t);
const slots = async (db: string) => (await sql(target, 'postgres', `SELECT slot_name FROM pg_replication_slots WHERE database = $1`, [db])).rows.map((r: { slot_name: string }) => r.slot_name);

describe('the way back, set up and removed', () => {
  it('prepareReverse: REPLICA IDENTITY FULL and a slot on the target; dropReverse leaves nothing and says why', async () => {
    const { m, db } = await migration();
    const k = { server: m.server, name: m.name, db };
    expect(await prepareReverse(rt, k)).toEqual({ ok: true, value: { enabled: true } });
    expect(await identities(target, db)).toEqual(['k f', 't f']);
    expect(await slots(db)).toEqual([reverseSlotOf(k)]);
    const row = (await getDatabase(store, m, db))?.record.reverse;
    expect(row).toMatchObject({ state: 'Starting', slotName: reverseSlotOf(k), plugin: 'pgoutput' });
    // Again (a retried activity): nothing new.
    expect(await prepareReverse(rt, k)).toEqual({ ok: true, value: { enabled: true } });

    await dropReverse(rt, m, 'the migration ended Failed');
    expect(await slots(db)).toEqual([]);
    expect(await identities(target, db)).toEqual(await identities(source, db));
    expect((await getDatabase(store, m, db))?.record.reverse).toMatchObject({ state: 'Failed', message: 'the migration ended Failed' });
  }, 60_000);

  it('a way back that cannot be made does not fail the cutover: the database goes on, the reason is shown, nothing is left', async () => {
    const { m, db } = await migration(weak);
    const k = { server: m.server, name: m.name, db };
    const out = await prepareReverse(rt, k);
    expect(out).toEqual({ ok: true, value: { enabled: false } });
    const reverse = (await getDatabase(store, m, db))?.record.reverse;
    expect(reverse?.state).toBe('Failed');
    expect(reverse?.message).toMatch(/^The way back could not be made: .*must be owner of table/);
    expect((await getMigration(store, m.server, m.name))?.record.fallback?.error).toMatch(new RegExp(`^${db}: The way back could not be made`));
    expect(await slots(db)).toEqual([]);
    expect(await identities(target, db)).toEqual(['k f', 't d']);
  }, 60_000);
});

describe('a fall back on an idle target whose insert position stands right after a page header', () => {
  let idle: Cluster;
  // Its own target server, so no other test's WAL moves the flush position; no autovacuum for the same reason.
  beforeAll(async () => {
    idle = await startCluster({ label: 'fallback-idle', logical: true, settings: { autovacuum: 'off' } });
  });
  afterAll(async () => idle?.stop());

  it('drains the reverse stream to the end all the same (the flush is made to pass it)', async () => {
    const { m, db } = await migration(undefined, idle.info);
    const k = { server: m.server, name: m.name, db };
    expect(await prepareReverse(rt, k)).toEqual({ ok: true, value: { enabled: true } });
    expect(await openReverse(rt, k)).toEqual({ ok: true, value: null });
    await sql(idle.info, db, `INSERT INTO t VALUES (2, 'written on the target before the fall back')`);
    await sql(idle.info, db, 'SELECT pg_switch_wal()');
    // The condition itself: the next record would start after the new segment's page header.
    const c = await connect(endpointOf(idle.info, { database: db }));
    const [insert, flushed] = await Promise.all([currentInsertLsn(c), currentFlushLsn(c)]).finally(() => closeQuietly(c));
    expect(insert, `flushed ${flushed}`).toMatch(/^[0-9A-F]+\/[0-9A-F]*000028$/);
    const begun = await beginFallback(rt, k);
    if (!begun.ok) throw new Error(begun.failure.message);
    expect(begun.value.endLsn).toBe(insert);
    // 80 batches with 50 ms rests (the stream's idle wait is longer): without the flush the drain never ends.
    let reached = false;
    for (let i = 0; i < 80 && !reached; i++) {
      const out = await applyReverse(rt, { ...k, endLsn: begun.value.endLsn });
      if (!out.ok) throw new Error(out.failure.message);
      reached = out.value.reachedEnd;
      if (!reached) await new Promise((r) => setTimeout(r, 50));
    }
    expect(reached).toBe(true);
    expect((await sql(source, db, 'SELECT v FROM t WHERE id = 2')).rows).toEqual([{ v: 'written on the target before the fall back' }]);
    await dropReverse(rt, m, 'test over');
  }, 120_000);
});
