/**
 * Migration rows against a real Azurite: unique (server, name), newest-first listing with the
 * Active filter, ETag concurrency (explicit conflict, and concurrent updates that all land),
 * no secrets in any stored property.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import {
  AlreadyExistsError,
  ConcurrencyConflictError,
  createMigration,
  createStoreContext,
  dropTables,
  ensureTables,
  getMigration,
  keyOf,
  listMigrations,
  NotFoundError,
  replaceMigrationIfMatch,
  tableName,
  updateMigration,
  type MigrationRecord,
  type StoreContext,
} from '../../shared/store';
import { readModifyWrite } from '../../shared/store/table-ops';

const azurite = inject('azurite');
const prefix = `T${randomBytes(6).toString('hex')}`;
let ctx: StoreContext;

beforeAll(async () => {
  ctx = createStoreContext(azurite.connectionString, { prefix });
  await ensureTables(ctx);
  await ensureTables(ctx); // idempotent
});

afterAll(async () => {
  await dropTables(ctx);
});

function migration(server: string, name: string, over: Partial<MigrationRecord> = {}): MigrationRecord {
  return {
    server,
    name,
    migrationId: randomUUID(),
    state: 'InProgress',
    subState: 'PerformingPreRequisiteSteps',
    migrationMode: 'Online',
    migrationOption: 'ValidateAndMigrate',
    sourceType: 'OnPremises',
    sslMode: 'Prefer',
    source: { host: 'src.example.com', port: 5432, user: 'app' },
    target: { host: `${server}.postgres.database.azure.com`, port: 5432, user: 'azureadmin' },
    dbsToMigrate: ['ticketdb', 'timedb', 'inventorydb'],
    overwriteDbsInTarget: true,
    migrateRoles: false,
    createdAt: '2025-05-01T10:00:00.000Z',
    startedOn: '2025-05-01T10:00:00.000Z',
    instanceId: `migration-${server}-${name}`,
    ...over,
  };
}

/** The stored entity exactly as the service holds it, bypassing the repository. */
async function rawMigrationRow(server: string, name: string): Promise<Record<string, unknown>> {
  const client = TableClient.fromConnectionString(azurite.connectionString, tableName(prefix, 'migrations'), { allowInsecureConnection: true });
  return client.getEntity<Record<string, unknown>>(keyOf(server), keyOf(name));
}

describe('create and get', () => {
  it('round-trips every field, optional ones included', async () => {
    const rec = migration('srv-a', 'full', {
      error: 'none yet',
      sourceDbServerResourceId: 'src.example.com:5432@app',
      sourceDbServerFullyQualifiedDomainName: 'src.example.com',
      targetDbServerFullyQualifiedDomainName: 'srv-a.postgres.database.azure.com',
      setupLogicalReplicationOnSourceDbIfNeeded: true,
      startDataMigration: false,
      migrationWindowStartTimeInUtc: '2025-05-02T00:00:00.000Z',
      migrationWindowEndTimeInUtc: '2025-05-03T00:00:00.000Z',
      location: 'westeurope',
      tags: { owner: 'dba-team', ticket: 'CHG-1' },
      endedOn: '2025-05-01T12:00:00.000Z',
      cutoverRequestedAt: '2025-05-01T11:00:00.000Z',
      dbsToTriggerCutoverOn: ['ticketdb'],
      cancelRequestedAt: '2025-05-01T11:30:00.000Z',
      dbsToCancelMigrationOn: ['timedb'],
    });
    const created = await createMigration(ctx, rec);
    expect(created.record).toEqual(rec);
    expect(created.etag).toMatch(/\S/);

    const got = await getMigration(ctx, 'srv-a', 'full');
    expect(got?.record).toEqual(rec);
    expect(got?.etag).toBe(created.etag);
  });

  it('returns undefined for a migration that does not exist', async () => {
    expect(await getMigration(ctx, 'srv-a', 'nosuch')).toBeUndefined();
  });

  it('refuses a second migration with the same name on the same server, allows it on another', async () => {
    await createMigration(ctx, migration('srv-a', 'dup'));
    const second = createMigration(ctx, migration('srv-a', 'dup'));
    await expect(second).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(createMigration(ctx, migration('srv-a', 'dup'))).rejects.toThrow('migration srv-a/dup already exists');
    await expect(createMigration(ctx, migration('srv-b', 'dup'))).resolves.toMatchObject({ record: { server: 'srv-b', name: 'dup' } });
  });

  it('stores no password or other secret, even when the caller passes one along', async () => {
    const withSecrets = {
      ...migration('srv-a', 'nosecrets'),
      sourceServerPassword: 'hunter2',
      targetServerPassword: 'hunter3',
      secretParameters: { adminCredentials: { sourceServerPassword: 'hunter2' } },
    } as MigrationRecord;
    await createMigration(ctx, withSecrets);
    const raw = await rawMigrationRow('srv-a', 'nosecrets');
    const names = Object.keys(raw);
    expect(names.filter((k) => /pass|secret|pwd|credential/i.test(k))).toEqual([]);
    expect(JSON.stringify(raw)).not.toContain('hunter');
    expect(names.sort()).toEqual(
      [
        'createdAt', 'dbsToMigrate', 'etag', 'format', 'instanceId', 'migrateRoles', 'migrationId', 'migrationMode',
        'migrationOption', 'name', 'odata.metadata', 'overwriteDbsInTarget', 'partitionKey', 'rowKey', 'server',
        'sourceHost', 'sourcePort', 'sourceType', 'sourceUser', 'sslMode', 'startedOn', 'state', 'subState',
        'targetHost', 'targetPort', 'targetUser', 'timestamp',
      ].sort(),
    );
  });

  it('truncates a huge error message with a marker instead of failing the state change', async () => {
    await createMigration(ctx, migration('srv-a', 'hugeerror'));
    const { record } = await updateMigration(ctx, 'srv-a', 'hugeerror', (r) => ({ ...r, state: 'Failed', subState: 'Completed', error: 'E'.repeat(200_000) }));
    expect(record.state).toBe('Failed');
    expect(record.error?.length).toBeLessThan(20_000);
    expect(record.error).toMatch(/truncated by pgferry/);
    expect((await getMigration(ctx, 'srv-a', 'hugeerror'))?.record.error).toBe(record.error);
  });
});

describe('listMigrations', () => {
  const server = 'srv-list';
  beforeAll(async () => {
    const at = (h: number) => `2025-06-01T${String(h).padStart(2, '0')}:00:00.000Z`;
    await Promise.all([
      createMigration(ctx, migration(server, 'oldrunning', { startedOn: at(1), createdAt: at(1) })),
      createMigration(ctx, migration(server, 'succeeded', { state: 'Succeeded', subState: 'Completed', startedOn: at(3), createdAt: at(3) })),
      createMigration(ctx, migration(server, 'waiting', { state: 'WaitingForUserAction', subState: 'WaitingForCutoverTrigger', startedOn: at(2), createdAt: at(2) })),
      createMigration(ctx, migration(server, 'failed', { state: 'Failed', subState: 'Completed', startedOn: at(5), createdAt: at(5) })),
      // Same start as "waiting", created later: the tie-breaker puts it first.
      createMigration(ctx, migration(server, 'cleaning', { state: 'CleaningUp', subState: 'CancelingRequestedDBMigrations', startedOn: at(2), createdAt: at(4) })),
      createMigration(ctx, migration('srv-other', 'elsewhere', { startedOn: at(9) })),
    ]);
  });

  it('All lists every migration of the server, newest start first', async () => {
    const all = await listMigrations(ctx, server, 'All');
    expect(all.map((m) => m.name)).toEqual(['failed', 'succeeded', 'cleaning', 'waiting', 'oldrunning']);
  });

  it('Active lists only InProgress, WaitingForUserAction and CleaningUp, in the same order', async () => {
    const active = await listMigrations(ctx, server, 'Active');
    expect(active.map((m) => m.name)).toEqual(['cleaning', 'waiting', 'oldrunning']);
    expect(await listMigrations(ctx, server)).toEqual(active);
  });

  it('is empty for a server without migrations', async () => {
    expect(await listMigrations(ctx, 'srv-none', 'All')).toEqual([]);
  });
});

describe('optimistic concurrency', () => {
  it('two writers with the same ETag: the second gets ConcurrencyConflictError and the first update stays', async () => {
    await createMigration(ctx, migration('srv-c', 'race'));
    const [a, b] = await Promise.all([getMigration(ctx, 'srv-c', 'race'), getMigration(ctx, 'srv-c', 'race')]);
    if (!a || !b) throw new Error('migration missing');
    expect(a.etag).toBe(b.etag);

    const first = await replaceMigrationIfMatch(ctx, { ...a.record, subState: 'ValidationInProgress' }, a.etag);
    expect(first.etag).not.toBe(a.etag);
    const second = replaceMigrationIfMatch(ctx, { ...b.record, state: 'Canceled', subState: 'Completed' }, b.etag);
    await expect(second).rejects.toBeInstanceOf(ConcurrencyConflictError);
    await expect(replaceMigrationIfMatch(ctx, { ...b.record, state: 'Canceled' }, b.etag)).rejects.toThrow(/srv-c\/race was changed by another writer/);

    const stored = await getMigration(ctx, 'srv-c', 'race');
    expect(stored?.record).toMatchObject({ state: 'InProgress', subState: 'ValidationInProgress' });
    expect(stored?.etag).toBe(first.etag);
  });

  it('updateMigration: 20 concurrent increments all land', async () => {
    await createMigration(ctx, migration('srv-c', 'counter', { tags: { n: '0' } }));
    let calls = 0;
    const increment = (r: MigrationRecord): MigrationRecord => {
      calls++;
      return { ...r, tags: { ...r.tags, n: String(Number(r.tags?.n ?? '0') + 1) } };
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => updateMigration(ctx, 'srv-c', 'counter', increment)));
    const stored = await getMigration(ctx, 'srv-c', 'counter');
    expect(stored?.record.tags).toEqual({ n: '20' });
    // Each writer saw a distinct value: no update was lost or applied twice.
    expect(results.map((r) => Number(r.record.tags?.n)).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(calls).toBeGreaterThan(20); // there were conflicts, and they were retried
  });

  it('a mutate that returns undefined writes nothing', async () => {
    const created = await createMigration(ctx, migration('srv-c', 'noop'));
    const result = await updateMigration(ctx, 'srv-c', 'noop', () => undefined);
    expect(result.etag).toBe(created.etag);
  });

  it('gives up with ConcurrencyConflictError after maxAttempts when every write is pre-empted', async () => {
    await createMigration(ctx, migration('srv-c', 'hot'));
    let writes = 0;
    const attempt = readModifyWrite<MigrationRecord>({
      read: () => getMigration(ctx, 'srv-c', 'hot'),
      write: async (next, etag) => {
        writes++;
        // A rival lands between this writer's read and its write, every time.
        await updateMigration(ctx, 'srv-c', 'hot', (r) => ({ ...r, error: `rival ${writes}` }));
        return replaceMigrationIfMatch(ctx, next, etag);
      },
      mutate: (r) => ({ ...r, subState: 'MigratingData' }),
      what: 'migration srv-c/hot',
      options: { maxAttempts: 3 },
    });
    await expect(attempt).rejects.toBeInstanceOf(ConcurrencyConflictError);
    expect(writes).toBe(3);
    expect((await getMigration(ctx, 'srv-c', 'hot'))?.record).toMatchObject({ subState: 'PerformingPreRequisiteSteps', error: 'rival 3' });
  });

  it('updating or replacing a missing migration is NotFoundError', async () => {
    await expect(updateMigration(ctx, 'srv-c', 'ghost', (r) => r)).rejects.toBeInstanceOf(NotFoundError);
    await expect(replaceMigrationIfMatch(ctx, migration('srv-c', 'ghost'), 'W/"datetime\'2020-01-01T00%3A00%3A00Z\'"')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('an update cannot rename the migration', async () => {
    await createMigration(ctx, migration('srv-c', 'fixedname'));
    await expect(updateMigration(ctx, 'srv-c', 'fixedname', (r) => ({ ...r, name: 'other' }))).rejects.toThrow(/cannot rename/);
  });
});
