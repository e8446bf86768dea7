/**
 * The activities behind "a failed database is visible at once" (docs/api.md "When a database
 * fails"), on a real Azurite: markCaughtUp never makes the migration WaitingForUserAction with a
 * database Failed; the watch turns a stored WaitingForUserAction back to InProgress with the error
 * naming the database; the cutover event follows the PATCH's rule (healthy ones only); and
 * stopDatabases records a cancel for the databases still running and wakes their CDC loops.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import {
  createMigration, createStoreContext, dropTables, ensureTables, getMigration, newDatabaseRecord, upsertDatabase,
  type MigrationRecord, type StoreContext,
} from '../../shared/store';
import { loadSettings } from '../../shared/model/settings';
import type { DbMigrationState, MigrationState, MigrationSubState } from '../../shared/model/states';
import { markCaughtUp, recordControl } from '../../shared/steps/migration';
import { stopDatabases, watchDatabases } from '../../shared/steps/watch';
import { EVENTS, cdcInstanceId, migrationInstanceId } from '../../shared/steps/names';
import type { OrchestrationPort } from '../../shared/steps/port';
import type { Runtime } from '../../shared/steps/runtime';

const azurite = inject('azurite');
let store: StoreContext;
let rt: Runtime;

beforeAll(async () => {
  store = createStoreContext(azurite.connectionString, { prefix: `F${randomBytes(6).toString('hex')}` });
  await ensureTables(store);
  rt = { settings: loadSettings({ AzureWebJobsStorage: azurite.connectionString }), store, keys: { current: Buffer.alloc(32) }, decoder: 'pgoutput' };
});

afterAll(async () => {
  await dropTables(store);
});

/** A port that records the events raised and knows no instance (every database row is what counts). */
function recordingPort(): OrchestrationPort & { raised: Array<[string, string, unknown]> } {
  const raised: Array<[string, string, unknown]> = [];
  return {
    raised,
    start: () => Promise.resolve(),
    raiseEvent: (id, event, data) => { raised.push([id, event, data]); return Promise.resolve(); },
    status: () => Promise.resolve(undefined),
  };
}

async function migrationWith(dbs: Record<string, DbMigrationState>, state: MigrationState = 'InProgress', subState: MigrationSubState = 'MigratingData'): Promise<MigrationRecord> {
  const name = `m${randomBytes(4).toString('hex')}`;
  const rec: MigrationRecord = {
    server: 'srv', name, migrationId: randomUUID(), state, subState, migrationMode: 'Online', migrationOption: 'Migrate',
    sourceType: 'OnPremises', sslMode: 'Prefer', source: { host: '127.0.0.1', port: 5432, user: 'u' }, target: { host: '127.0.0.1', port: 5433, user: 'u' },
    dbsToMigrate: Object.keys(dbs), overwriteDbsInTarget: true, migrateRoles: false,
    createdAt: new Date().toISOString(), startedOn: new Date().toISOString(), instanceId: migrationInstanceId('srv', name),
  };
  await createMigration(store, rec);
  for (const [db, s] of Object.entries(dbs)) {
    await upsertDatabase(store, rec, { ...newDatabaseRecord(db, s), ...(s === 'Failed' ? { message: `${db}: replication slot "x" does not exist` } : {}) });
  }
  return rec;
}

const stored = async (m: MigrationRecord) => (await getMigration(store, m.server, m.name))?.record;

describe('a failed database on the migration row', () => {
  it('markCaughtUp: the last healthy database catching up leaves the migration InProgress / WaitingForCutoverTrigger, not ready', async () => {
    const m = await migrationWith({ a: 'InProgress', b: 'Failed' });
    await markCaughtUp(rt, { server: m.server, name: m.name, db: 'a' });
    expect(await stored(m)).toMatchObject({ state: 'InProgress', subState: 'WaitingForCutoverTrigger' });
  });

  it('markCaughtUp without a failed database still makes it WaitingForUserAction', async () => {
    const m = await migrationWith({ a: 'InProgress', b: 'WaitingForCutoverTrigger' });
    await markCaughtUp(rt, { server: m.server, name: m.name, db: 'a' });
    expect(await stored(m)).toMatchObject({ state: 'WaitingForUserAction', subState: 'WaitingForCutoverTrigger' });
  });

  it('the watch turns a stored WaitingForUserAction back to InProgress and stores the error naming the failed database', async () => {
    const m = await migrationWith({ a: 'WaitingForCutoverTrigger', b: 'Failed' }, 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    const status = await watchDatabases(rt, { server: m.server, name: m.name, migrationInstanceId: m.instanceId }, recordingPort());
    expect(status.finished).toBe(false);
    const r = await stored(m);
    expect(r).toMatchObject({ state: 'InProgress', subState: 'WaitingForCutoverTrigger' });
    expect(r?.error).toMatch(/^Database b failed: b: replication slot "x" does not exist\. The migration will end Failed; the other databases \(a\) keep running/);
  });

  it('a cutover event is accepted for the healthy databases once they wait, refused when it names only the failed one', async () => {
    const m = await migrationWith({ a: 'WaitingForCutoverTrigger', b: 'Failed' }, 'InProgress', 'WaitingForCutoverTrigger');
    await recordControl(rt, { server: m.server, name: m.name, control: 'cutover', request: { dbs: ['b'] } });
    const refused = await stored(m);
    expect(refused?.cutoverRequestedAt).toBeUndefined();
    expect(refused?.rejectedRequest).toMatch(/was refused: nothing to cut over: b is not running \(failed: b\); name databases that wait for cutover \(a\)/);
    await recordControl(rt, { server: m.server, name: m.name, control: 'cutover', request: null });
    expect(await stored(m)).toMatchObject({ dbsToTriggerCutoverOn: ['a', 'b'] });
    expect((await stored(m))?.cutoverRequestedAt).toBeDefined();
  });

  it('stopDatabases records a cancel for the databases still running only, says why, and wakes their CDC loops', async () => {
    const m = await migrationWith({ a: 'Succeeded', b: 'WaitingForCutoverTrigger', c: 'Failed', d: 'InProgress' });
    const port = recordingPort();
    await stopDatabases(rt, { server: m.server, name: m.name, migrationInstanceId: m.instanceId, error: 'table storage timed out' }, port);
    const r = await stored(m);
    expect(r?.dbsToCancelMigrationOn).toEqual(['b', 'd']);
    expect(r?.cancelRequestedAt).toBeDefined();
    expect(r?.error).toBe('table storage timed out. The migration fails: stopping the databases still running (b, d)');
    expect(r?.state).toBe('InProgress');
    expect(port.raised).toEqual([
      [cdcInstanceId(m.instanceId, 1), EVENTS.cancel, { dbs: ['b'], recorded: true }],
      [cdcInstanceId(m.instanceId, 3), EVENTS.cancel, { dbs: ['d'], recorded: true }],
    ]);
  });
});
