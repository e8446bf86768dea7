/**
 * The rows under a migration, against a real Azurite: per-database details (awkward names,
 * 64-bit counters, concurrent updates), validation results beyond one property's size, the
 * copy-chunk plan (several transactions) and its state machine, and purging a migration.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { odata, TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import {
  ConcurrencyConflictError,
  createMigration,
  createStoreContext,
  deleteMigration,
  dropTables,
  EntityTooLargeError,
  ensureTables,
  getChunk,
  getDatabase,
  getMigration,
  InvalidTransitionError,
  keyOf,
  padNumber,
  listChunks,
  listDatabases,
  loadValidation,
  markChunk,
  newDatabaseRecord,
  putChunkPlan,
  replaceDatabaseIfMatch,
  saveValidation,
  tableName,
  updateDatabase,
  upsertDatabase,
  type ChunkPlanItem,
  type JsonValue,
  type MigrationRecord,
  type MigrationRef,
  type StoreContext,
  type TableRole,
} from '../../shared/store';

const azurite = inject('azurite');
const prefix = `T${randomBytes(6).toString('hex')}`;
let ctx: StoreContext;

beforeAll(async () => {
  ctx = createStoreContext(azurite.connectionString, { prefix });
  await ensureTables(ctx);
});

afterAll(async () => {
  await dropTables(ctx);
});

function rawTable(role: TableRole): TableClient {
  return TableClient.fromConnectionString(azurite.connectionString, tableName(prefix, role), { allowInsecureConnection: true });
}

async function rawRows(role: TableRole, partitionKey: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for await (const e of rawTable(role).listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` } })) rows.push(e);
  return rows;
}

function migration(server: string, name: string, dbsToMigrate: string[]): MigrationRecord {
  return {
    server,
    name,
    migrationId: randomUUID(),
    state: 'InProgress',
    subState: 'MigratingData',
    migrationMode: 'Online',
    migrationOption: 'Migrate',
    sourceType: 'AzureVM',
    sslMode: 'Require',
    source: { host: '10.0.0.4', port: 5432, user: 'repl' },
    target: { host: 'tgt.postgres.database.azure.com', port: 5432, user: 'admin' },
    dbsToMigrate,
    overwriteDbsInTarget: false,
    migrateRoles: false,
    createdAt: '2025-07-01T00:00:00.000Z',
    startedOn: '2025-07-01T00:00:00.000Z',
    instanceId: randomUUID(),
  };
}

describe('databases', () => {
  const ref: MigrationRef = { server: 'srv-d', name: 'dbs' };
  const names = ['a/b', 'x#y', 'what?', 'back\\slash', 'with space', 'naïve données', '数据库', 'emoji😀', 'Sales', 'sales', 'per%cent', "o'brien", 'ctl\u0001char'];

  it('stores databases with awkward names as separate rows and finds each by name', async () => {
    for (const [i, name] of names.entries()) await upsertDatabase(ctx, ref, { ...newDatabaseRecord(name), appliedChanges: i });
    const listed = await listDatabases(ctx, ref);
    expect(listed.map((d) => d.databaseName).sort()).toEqual([...names].sort());
    for (const [i, name] of names.entries()) {
      const got = await getDatabase(ctx, ref, name);
      expect(got?.record).toMatchObject({ databaseName: name, appliedChanges: i });
    }
    expect((await getDatabase(ctx, ref, 'SALES'))).toBeUndefined();
    const keys = (await rawRows('databases', keyOf(ref.server, ref.name))).map((e) => String(e.rowKey));
    expect(keys).toHaveLength(names.length);
    for (const k of keys) expect(k).toMatch(/^[A-Za-z0-9\-_.!~*'():|]+$/); // no / \ # ? % or control characters
  });

  it('round-trips 64-bit counters, LSNs and progress fields', async () => {
    const rec = {
      ...newDatabaseRecord('big', 'WaitingForCutoverTrigger'),
      migrationOperation: 'Applying changes',
      startedOn: '2025-07-01T00:01:00.000Z',
      fullLoadCompletedTables: 1200,
      cdcInsertCounter: 5_000_000_000,
      appliedChanges: Number.MAX_SAFE_INTEGER,
      incomingChanges: 2 ** 40,
      latency: 3,
      message: 'caught up',
      slotName: 'pgferry_big',
      plugin: 'pgoutput',
      startLsn: '16/B374D848',
      consistencyLsn: 'FFFFFFFF/FFFFFFFF',
      appliedLsn: '17/0',
      retainedWalBytes: 3 * 2 ** 32,
      rowsCopied: 9_876_543_210,
      bytesCopied: 2 ** 50,
    };
    await upsertDatabase(ctx, ref, rec);
    expect((await getDatabase(ctx, ref, 'big'))?.record).toEqual(rec);
    const [raw] = (await rawRows('databases', keyOf(ref.server, ref.name))).filter((e) => e.databaseName === 'big');
    expect(raw?.appliedChanges).toBe(BigInt(Number.MAX_SAFE_INTEGER)); // Edm.Int64 on the wire
  });

  it('rejects a malformed LSN before writing', async () => {
    await expect(upsertDatabase(ctx, ref, { ...newDatabaseRecord('badlsn'), appliedLsn: '12345' })).rejects.toThrow(/appliedLsn is not an LSN/);
    expect(await getDatabase(ctx, ref, 'badlsn')).toBeUndefined();
  });

  it('concurrent updates all land; a stale ETag is a ConcurrencyConflictError', async () => {
    await upsertDatabase(ctx, ref, newDatabaseRecord('busy db/1'));
    await Promise.all(
      Array.from({ length: 20 }, () => updateDatabase(ctx, ref, 'busy db/1', (d) => ({ ...d, appliedChanges: d.appliedChanges + 1, incomingChanges: d.incomingChanges + 2 }))),
    );
    const stored = await getDatabase(ctx, ref, 'busy db/1');
    expect(stored?.record).toMatchObject({ appliedChanges: 20, incomingChanges: 40 });
    if (!stored) throw new Error('missing');
    await updateDatabase(ctx, ref, 'busy db/1', (d) => ({ ...d, latency: 1 }));
    await expect(replaceDatabaseIfMatch(ctx, ref, { ...stored.record, latency: 99 }, stored.etag)).rejects.toBeInstanceOf(ConcurrencyConflictError);
    expect((await getDatabase(ctx, ref, 'busy db/1'))?.record.latency).toBe(1);
  });
});

describe('validation results', () => {
  const ref: MigrationRef = { server: 'srv-v', name: 'val' };
  const item = (i: number): JsonValue => ({
    type: 'SchemaValidation',
    state: 'Warning',
    messages: [{ state: 'Warning', message: `Table "public"."orders_${i}" has no primary key: only INSERTs replay. Fix: ALTER TABLE ... REPLICA IDENTITY FULL;` }],
  });

  it('round-trips server- and database-level results larger than one 64 KiB property', async () => {
    const big = Array.from({ length: 2000 }, (_, i) => item(i));
    expect(JSON.stringify(big).length).toBeGreaterThan(64 * 1024);
    const result = {
      server: { state: 'Succeeded' as const, startedOn: '2025-07-01T00:00:00.000Z', endedOn: '2025-07-01T00:00:05.000Z', items: [{ type: 'SourceVersionValidation', state: 'Succeeded', messages: [] }] },
      databases: [
        { databaseName: 'orders/eu', state: 'Warning' as const, items: big },
        { databaseName: 'Orders', state: 'Succeeded' as const, items: [] },
      ],
    };
    await saveValidation(ctx, ref, result);
    const loaded = await loadValidation(ctx, ref);
    expect(loaded.server).toEqual(result.server);
    expect(loaded.databases).toEqual([result.databases[1], result.databases[0]]); // by name: "O" < "o"
  });

  it('a new run replaces the previous one, dropping scopes it no longer has', async () => {
    await saveValidation(ctx, ref, { databases: [{ databaseName: 'Orders', state: 'Failed', items: [item(1)] }] });
    expect(await loadValidation(ctx, ref)).toEqual({ databases: [{ databaseName: 'Orders', state: 'Failed', items: [item(1)] }] });
  });

  it('rejects results beyond the bounded size with EntityTooLargeError and keeps what was stored', async () => {
    const huge = Array.from({ length: 5000 }, (_, i) => item(i));
    const save = saveValidation(ctx, ref, { databases: [{ databaseName: 'Orders', state: 'Warning', items: huge }] });
    await expect(save).rejects.toBeInstanceOf(EntityTooLargeError);
    await expect(saveValidation(ctx, ref, { databases: [{ databaseName: 'Orders', state: 'Warning', items: huge }] })).rejects.toThrow(
      /validation of database "Orders" of migration srv-v\/val \(items\) is too large to store/,
    );
    expect((await loadValidation(ctx, ref)).databases[0]?.state).toBe('Failed');
  });

  it('is empty before validation ran', async () => {
    expect(await loadValidation(ctx, { server: 'srv-v', name: 'never' })).toEqual({ databases: [] });
  });
});

describe('copy chunks', () => {
  const ref: MigrationRef = { server: 'srv-k', name: 'copy' };
  const db = 'shop #1';
  const plan: ChunkPlanItem[] = [
    ...Array.from({ length: 200 }, (_, i) => ({ schema: 'public', table: 'orders', chunkNo: i, range: { ctid: [i * 1000, (i + 1) * 1000] }, estimatedRows: 50_000, estimatedBytes: 2 ** 33 })),
    ...Array.from({ length: 49 }, (_, i) => ({ schema: 'sales.eu', table: 'Line Items', chunkNo: i, range: { pk: [i, i + 1] } })),
    { schema: 'public', table: 'tiny', chunkNo: 0, range: null },
  ];
  const orders0 = { schema: 'public', table: 'orders', chunkNo: 0 };

  it('stores a plan of 250 chunks (three transactions), all queued', async () => {
    const stored = await putChunkPlan(ctx, ref, db, plan);
    expect(stored).toHaveLength(250);
    const listed = await listChunks(ctx, ref, db);
    expect(listed).toHaveLength(250);
    expect(listed.every((c) => c.state === 'queued' && c.attempts === 0)).toBe(true);
    const orders = listed.filter((c) => c.table === 'orders').map((c) => c.chunkNo);
    expect(orders).toEqual(Array.from({ length: 200 }, (_, i) => i)); // numeric order from padded keys
    expect(listed.find((c) => c.table === 'Line Items' && c.chunkNo === 7)).toMatchObject({ schema: 'sales.eu', range: { pk: [7, 8] } });
    expect(listed.find((c) => c.table === 'orders' && c.chunkNo === 3)).toMatchObject({ estimatedBytes: 2 ** 33 });
  });

  it('a repeated plan call returns the stored plan unchanged', async () => {
    const again = await putChunkPlan(ctx, ref, db, plan.slice(0, 3));
    expect(again).toHaveLength(250);
  });

  it('moves a chunk queued → loading → done, and repeating done is a no-op', async () => {
    const loading = await markChunk(ctx, ref, db, orders0, { state: 'loading', at: '2025-07-01T01:00:00.000Z' });
    expect(loading.record).toMatchObject({ state: 'loading', attempts: 1, startedAt: '2025-07-01T01:00:00.000Z' });
    const done = await markChunk(ctx, ref, db, orders0, { state: 'done', rows: 50_123, bytes: 7_000_000_000, endLsn: '0/3000060', at: '2025-07-01T01:05:00.000Z' });
    expect(done.record).toMatchObject({ state: 'done', rows: 50_123, bytes: 7_000_000_000, endLsn: '0/3000060', endedAt: '2025-07-01T01:05:00.000Z' });
    const repeat = await markChunk(ctx, ref, db, orders0, { state: 'done', rows: 1, bytes: 1, endLsn: '0/1' });
    expect(repeat).toEqual(done);
    expect((await getChunk(ctx, ref, db, orders0))?.record).toEqual(done.record);
  });

  it('retries: loading → errored (clipped message) → loading counts attempts and clears the error', async () => {
    const id = { schema: 'public', table: 'orders', chunkNo: 1 };
    await markChunk(ctx, ref, db, id, { state: 'loading' });
    const errored = await markChunk(ctx, ref, db, id, { state: 'errored', error: `SQLSTATE 57P01 ${'x'.repeat(50_000)}` });
    expect(errored.record.state).toBe('errored');
    expect(errored.record.error).toMatch(/^SQLSTATE 57P01 x+… \[truncated by pgferry/);
    const retry = await markChunk(ctx, ref, db, id, { state: 'loading' });
    expect(retry.record).toMatchObject({ state: 'loading', attempts: 2 });
    expect(retry.record.error).toBeUndefined();
  });

  it.each([
    ['queued → done', { schema: 'public', table: 'orders', chunkNo: 2 }, { state: 'done' as const, rows: 1, bytes: 1, endLsn: '0/1' }, /from queued to done/],
    ['done → loading', { schema: 'public', table: 'orders', chunkNo: 0 }, { state: 'loading' as const }, /from done to loading/],
  ])('rejects %s with InvalidTransitionError', async (_name, id, update, message) => {
    const mark = markChunk(ctx, ref, db, id, update);
    await expect(mark).rejects.toBeInstanceOf(InvalidTransitionError);
    await expect(markChunk(ctx, ref, db, id, update)).rejects.toThrow(message);
  });

  it('concurrent marks of different chunks do not interfere', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => ({ schema: 'public', table: 'orders', chunkNo: 100 + i }));
    await Promise.all(ids.map((id) => markChunk(ctx, ref, db, id, { state: 'loading' })));
    const listed = await listChunks(ctx, ref, db);
    expect(listed.filter((c) => c.table === 'orders' && c.chunkNo >= 100 && c.chunkNo < 130).every((c) => c.state === 'loading')).toBe(true);
  });

  it('a plan interrupted before its header is invisible, then replaced without leftovers', async () => {
    const other = 'half-planned';
    const pk = keyOf(ref.server, ref.name, other);
    // What a crash after the first transaction leaves: chunk rows, no header.
    await rawTable('chunks').submitTransaction(
      Array.from({ length: 5 }, (_, i) => ['create', { partitionKey: pk, rowKey: keyOf('public', 'old', String(i).padStart(10, '0')), state: 'queued' }] as ['create', { partitionKey: string; rowKey: string; state: string }]),
    );
    expect(await listChunks(ctx, ref, other)).toEqual([]);
    const stored = await putChunkPlan(ctx, ref, other, [{ schema: 'public', table: 'new', chunkNo: 0, range: null }]);
    expect(stored.map((c) => c.table)).toEqual(['new']);
    expect((await listChunks(ctx, ref, other)).map((c) => c.table)).toEqual(['new']);
    expect(await rawRows('chunks', pk)).toHaveLength(2); // one chunk + the header
  });

  it('a plan in copy units interrupted before its header is replaced without leftovers in any unit\'s partition', async () => {
    const other = 'half-planned-units';
    const unitPk = (unit: number) => keyOf(ref.server, ref.name, other, padNumber(unit));
    // A crash left two units' rows of an earlier plan and no header.
    for (const unit of [0, 3]) {
      await rawTable('chunks').submitTransaction(
        Array.from({ length: 4 }, (_, i) => ['create', { partitionKey: unitPk(unit), rowKey: keyOf('public', `old${unit}`, String(i).padStart(10, '0')), state: 'queued' }] as ['create', { partitionKey: string; rowKey: string; state: string }]),
      );
    }
    expect(await listChunks(ctx, ref, other)).toEqual([]);
    const stored = await putChunkPlan(ctx, ref, other, [
      { schema: 'public', table: 'a', chunkNo: 0, range: null, unit: 0 },
      { schema: 'public', table: 'b', chunkNo: 0, range: null, unit: 1 },
    ]);
    expect(stored.map((c) => [c.table, c.unit])).toEqual([['a', 0], ['b', 1]]);
    expect((await listChunks(ctx, ref, other)).map((c) => c.table).sort()).toEqual(['a', 'b']);
    expect((await rawRows('chunks', unitPk(0))).map((e) => e.table)).toEqual(['a']);
    expect((await rawRows('chunks', unitPk(1))).map((e) => e.table)).toEqual(['b']);
    expect(await rawRows('chunks', unitPk(3))).toEqual([]);
    expect((await rawRows('chunks', keyOf(ref.server, ref.name, other))).map((e) => e.rowKey)).toEqual(['~plan']);
  });

  it('rejects a plan that names a chunk twice', async () => {
    const dup = { schema: 'public', table: 't', chunkNo: 0, range: null };
    await expect(putChunkPlan(ctx, ref, 'dupdb', [dup, dup])).rejects.toThrow(/names a chunk twice/);
  });
});

describe('deleteMigration', () => {
  it('removes the migration and everything under it, and nothing of a migration whose name extends it', async () => {
    const server = 'srv-p';
    for (const name of ['m1', 'm10']) {
      const ref = { server, name };
      await createMigration(ctx, migration(server, name, ['db one']));
      await upsertDatabase(ctx, ref, newDatabaseRecord('db one'));
      await saveValidation(ctx, ref, { server: { state: 'Succeeded', items: [] }, databases: [{ databaseName: 'db one', state: 'Succeeded', items: [] }] });
      await putChunkPlan(ctx, ref, 'db one', [{ schema: 'public', table: 't', chunkNo: 0, range: null }, { schema: 'public', table: 'u', chunkNo: 0, range: null, unit: 4 }]);
    }
    expect(await deleteMigration(ctx, server, 'm1')).toBe(true);
    const m1 = { server, name: 'm1' };
    expect(await getMigration(ctx, server, 'm1')).toBeUndefined();
    expect(await listDatabases(ctx, m1)).toEqual([]);
    expect(await loadValidation(ctx, m1)).toEqual({ databases: [] });
    expect(await rawRows('chunks', keyOf(server, 'm1', 'db one'))).toEqual([]);
    expect(await rawRows('chunks', keyOf(server, 'm1', 'db one', padNumber(4)))).toEqual([]);

    const m10 = { server, name: 'm10' };
    expect(await getMigration(ctx, server, 'm10')).toBeDefined();
    expect(await listDatabases(ctx, m10)).toHaveLength(1);
    expect((await loadValidation(ctx, m10)).databases).toHaveLength(1);
    expect(await listChunks(ctx, m10, 'db one')).toHaveLength(2);

    expect(await deleteMigration(ctx, server, 'm1')).toBe(false);
  });
});
