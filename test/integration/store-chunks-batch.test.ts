/**
 * markChunks against a real Azurite: many chunk rows of one database moved in entity-group
 * transactions (a group of small tables: one read and a few batches instead of a read and a write
 * per table), with the same transitions as markChunk, and ETag conflicts with concurrent writers
 * retried so that every update lands exactly once.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { odata } from '@azure/data-tables';
import { createStoreContext, dropTables, ensureTables, InvalidTransitionError, NotFoundError, type StoreContext } from '../../shared/store';
import { keyOf, keyRange, padNumber } from '../../shared/store/keys';
import { getChunk, listChunks, listChunksChangedSince, markChunk, putChunkPlan, recordChunkProgress, type ChunkId } from '../../shared/store/chunks';
import { markChunks, readChunks } from '../../shared/store/chunk-batches';

const azurite = inject('azurite');
const prefix = `B${randomBytes(6).toString('hex')}`;
let ctx: StoreContext;

beforeAll(async () => {
  ctx = createStoreContext(azurite.connectionString, { prefix });
  await ensureTables(ctx);
});

afterAll(async () => {
  await dropTables(ctx);
});

const ids = (n: number): ChunkId[] => Array.from({ length: n }, (_, i) => ({ schema: 'public', table: `t${i}`, chunkNo: 0 }));

async function plan(name: string, n: number) {
  const ref = { server: 'batch', name };
  await putChunkPlan(ctx, ref, 'db', ids(n).map((id) => ({ ...id, range: null, estimatedRows: 10, estimatedBytes: 8192 })));
  return ref;
}

describe('markChunks', () => {
  it('moves 250 chunks queued → loading → done in batches, with what markChunk would record', async () => {
    const ref = await plan('many', 250);
    await markChunks(ctx, ref, 'db', ids(250).map((id) => ({ id, update: { state: 'loading' } })));
    const loading = await listChunks(ctx, ref, 'db');
    expect(loading.map((c) => [c.state, c.attempts])).toEqual(Array(250).fill(['loading', 1]));
    expect(loading.every((c) => c.startedAt !== undefined)).toBe(true);

    await markChunks(ctx, ref, 'db', ids(250).map((id, i) => ({ id, update: { state: 'done', rows: i, bytes: 10 * i, endLsn: '0/16B3748' } })));
    const done = await listChunks(ctx, ref, 'db');
    const byTable = new Map(done.map((c) => [c.table, c]));
    for (let i = 0; i < 250; i++) expect(byTable.get(`t${i}`)).toMatchObject({ state: 'done', rows: i, bytes: 10 * i, endLsn: '0/16B3748', attempts: 1 });

    // A repeated done (a retried activity) changes nothing.
    await markChunks(ctx, ref, 'db', ids(250).map((id) => ({ id, update: { state: 'done', rows: 999, bytes: 999, endLsn: '0/1' } })));
    expect((await getChunk(ctx, ref, 'db', ids(1)[0]!))?.record).toMatchObject({ rows: 0, bytes: 0, endLsn: '0/16B3748' });
  });

  it('refuses a transition markChunk refuses, before writing anything', async () => {
    const ref = await plan('invalid', 3);
    await markChunk(ctx, ref, 'db', ids(3)[1]!, { state: 'loading' });
    await markChunk(ctx, ref, 'db', ids(3)[1]!, { state: 'done', rows: 1, bytes: 1, endLsn: '0/1' });
    await expect(markChunks(ctx, ref, 'db', ids(3).map((id) => ({ id, update: { state: 'loading' } })))).rejects.toBeInstanceOf(InvalidTransitionError);
    expect((await listChunks(ctx, ref, 'db')).map((c) => c.state)).toEqual(['queued', 'done', 'queued']);
  });

  it('retries a batch that lost a race with single-row writers: every update lands once', async () => {
    const ref = await plan('race', 120);
    await markChunks(ctx, ref, 'db', ids(120).map((id) => ({ id, update: { state: 'loading' } })));
    // Live progress writes to rows of the same partition while the batch marks them done.
    const writers = ids(120).filter((_, i) => i % 7 === 0).map((id, n) => recordChunkProgress(ctx, ref, 'db', id, { rows: n + 1, bytes: n + 1, attempt: 1 }));
    await Promise.all([
      markChunks(ctx, ref, 'db', ids(120).map((id) => ({ id, update: { state: 'done', rows: 10, bytes: 100, endLsn: '0/2' } }))),
      ...writers,
    ]);
    const rows = await listChunks(ctx, ref, 'db');
    expect(rows.every((c) => c.state === 'done' && c.rows === 10 && c.bytes === 100 && c.attempts === 1)).toBe(true);
  });

  it('keeps each copy unit in a partition of its own, read by one query; ETags chain from mark to mark; a stale ETag is re-read, never overwritten', async () => {
    const ref = { server: 'batch', name: 'units' };
    // Three units of 150, 150 and 50 rows (more than one batch each).
    const inUnits = ids(350).map((id, i) => ({ ...id, unit: Math.floor(i / 150) }));
    await putChunkPlan(ctx, ref, 'db', inUnits.map((id) => ({ ...id, range: null, estimatedRows: 10, estimatedBytes: 8192 })));
    // No partition grows with the table count: the header alone in the database's, each unit in its own.
    const partitions = new Map<string, number>();
    const all = keyRange('batch', 'units');
    for await (const e of ctx.tables.chunks.listEntities({ queryOptions: { filter: odata`PartitionKey ge ${all.from} and PartitionKey lt ${all.to}` } })) {
      partitions.set(String(e.partitionKey), (partitions.get(String(e.partitionKey)) ?? 0) + 1);
    }
    expect([...partitions]).toEqual([
      [keyOf('batch', 'units', 'db'), 1],
      [keyOf('batch', 'units', 'db', padNumber(0)), 150],
      [keyOf('batch', 'units', 'db', padNumber(1)), 150],
      [keyOf('batch', 'units', 'db', padNumber(2)), 50],
    ]);
    expect(await listChunks(ctx, ref, 'db')).toHaveLength(350);

    const unit1 = inUnits.slice(150, 300);
    const stored = await readChunks(ctx, ref, 'db', unit1);
    expect([...stored.values()].map((v) => v.record.table)).toEqual(unit1.map((id) => id.table));
    expect([...stored.values()].every((v) => v.record.unit === 1 && v.record.state === 'queued')).toBe(true);
    // Ids of several units are read from their own partitions; an id without its unit is not in the database's partition.
    expect((await readChunks(ctx, ref, 'db', [inUnits[0]!, unit1[0]!, inUnits[349]!])).size).toBe(3);
    await expect(readChunks(ctx, ref, 'db', [ids(1)[0]!])).rejects.toBeInstanceOf(NotFoundError);

    const loading = await markChunks(ctx, ref, 'db', unit1.map((id) => ({ id, update: { state: 'loading' } })), { current: stored });
    // Every write's new ETag came back: the next mark needs no read.
    for (const id of unit1) expect(loading.get([...stored.keys()][unit1.indexOf(id)]!)?.etag).toBe((await getChunk(ctx, ref, 'db', id))?.etag);

    // A writer moves one row after the ETags were taken: its batch is refused, re-read and applied once.
    await recordChunkProgress(ctx, ref, 'db', unit1[7]!, { rows: 5, bytes: 5, attempt: 1 });
    await markChunks(ctx, ref, 'db', unit1.map((id) => ({ id, update: { state: 'done', rows: 10, bytes: 100, endLsn: '0/3' } })), { current: loading });
    const rows = await listChunks(ctx, ref, 'db');
    const inUnit = new Set(unit1.map((id) => id.table));
    expect(rows.filter((c) => inUnit.has(c.table)).every((c) => c.state === 'done' && c.rows === 10 && c.attempts === 1)).toBe(true);
    expect(rows.filter((c) => !inUnit.has(c.table)).every((c) => c.state === 'queued')).toBe(true);
  });

  it('lists only the rows written since a time (the service Timestamp), for readers that keep the rest', async () => {
    const ref = await plan('since', 40);
    await new Promise((r) => setTimeout(r, 1_100));
    const before = new Date();
    await markChunks(ctx, ref, 'db', ids(40).filter((_, i) => i % 4 === 0).map((id) => ({ id, update: { state: 'loading' } })));
    const changed = await listChunksChangedSince(ctx, ref, 'db', before);
    expect(changed.map((c) => c.table).sort()).toEqual(ids(40).filter((_, i) => i % 4 === 0).map((id) => id.table).sort());
    expect(changed.every((c) => c.state === 'loading')).toBe(true);
    expect(await listChunksChangedSince(ctx, ref, 'db', new Date(Date.now() + 60_000))).toEqual([]);
  });
});
