/**
 * Chunk rows of one group of small tables, read and moved together: the rows of a copy unit in
 * one query (or point reads), and their state changes in ETag-checked entity-group transactions
 * whose new ETags feed the next change. Nothing here reads a whole plan, so a group's
 * bookkeeping costs the same whatever the number of tables in the database.
 */
import { odata, type TransactionAction } from '@azure/data-tables';

import { ConcurrencyConflictError, NotFoundError } from './errors';
import { describe, fromRow, nextChunk, partitionOf, rowKeyOf, toRow, type ChunkId, type ChunkRecord, type ChunkUpdate } from './chunks';
import { listRows, readRow, submitBatchesKeepingConflicts, type RawEntity, type UpdateOptions, type Versioned } from './table-ops';
import type { MigrationRef } from './migrations';
import type { StoreContext } from './tables';

/**
 * The current rows of `ids`, with their ETags, keyed as chunkKey does. The ids of a unit that asks
 * for several rows are read by one query of the unit's partition; the others on their own. Never
 * reads the whole plan: a group's activity costs the same at 200 or 20,000 chunks.
 */
export async function readChunks(ctx: StoreContext, ref: MigrationRef, db: string, ids: readonly ChunkId[]): Promise<Map<string, Versioned<ChunkRecord>>> {
  const found = new Map<string, Versioned<ChunkRecord>>();
  const wanted = new Set(ids.map(rowKeyOf));
  const perUnit = new Map<number, number>();
  for (const id of ids) if (id.unit !== undefined) perUnit.set(id.unit, (perUnit.get(id.unit) ?? 0) + 1);
  for (const [unit, count] of perUnit) {
    if (count < 2) continue;
    for (const e of await listRows(ctx.tables.chunks, odata`PartitionKey eq ${partitionOf(ref, db, unit)}`)) {
      if (wanted.has(String(e.rowKey))) found.set(String(e.rowKey), { record: fromRow(e), etag: String(e.etag) });
    }
  }
  const missing = ids.filter((id) => !found.has(rowKeyOf(id)));
  for (let from = 0; from < missing.length; from += POINT_READS) {
    await Promise.all(missing.slice(from, from + POINT_READS).map(async (id) => {
      const e = await readRow(ctx.tables.chunks, partitionOf(ref, db, id.unit), rowKeyOf(id));
      if (!e) throw new NotFoundError(describe(ref, db, id));
      found.set(rowKeyOf(id), { record: fromRow(e), etag: String(e.etag) });
    }));
  }
  return new Map(ids.map((id) => [chunkKey(id), found.get(rowKeyOf(id)) as Versioned<ChunkRecord>]));
}

/** Point reads in flight at once. */
const POINT_READS = 16;

/** The key readChunks and markChunks answer by. */
export function chunkKey(id: ChunkId): string {
  return rowKeyOf(id);
}

/**
 * markChunk for many chunks of one database at once (a group of small tables): one read of the
 * unit's partition and entity-group transactions of up to 100 ETag-checked replaces, instead of a
 * read and a write per chunk. The same transitions as markChunk; a batch that lost a race with another
 * writer is read and applied again.
 */
export async function markChunks(
  ctx: StoreContext,
  ref: MigrationRef,
  db: string,
  updates: ReadonlyArray<{ id: ChunkId; update: ChunkUpdate }>,
  options?: UpdateOptions & { current?: ReadonlyMap<string, Versioned<ChunkRecord>> },
): Promise<Map<string, Versioned<ChunkRecord>>> {
  const at = new Date().toISOString();
  const byKey = new Map(updates.map((u) => [rowKeyOf(u.id), u]));
  if (byKey.size !== updates.length) throw new Error(`${describe(ref, db)}: a chunk is marked twice in one call`);
  const written = new Map<string, Versioned<ChunkRecord>>();
  let left = [...byKey.keys()];
  // The first attempt may start from rows the caller holds (with their ETags); a conflict re-reads.
  let known = options?.current;
  for (let attempt = 1; left.length > 0; attempt++) {
    const ids = left.map((key) => byKey.get(key)!.id);
    const heldAll = known !== undefined && left.every((key) => known!.has(key));
    const current = heldAll ? (known as ReadonlyMap<string, Versioned<ChunkRecord>>) : await readChunks(ctx, ref, db, ids);
    known = undefined;
    const actions: TransactionAction[] = [];
    for (const key of left) {
      const u = byKey.get(key)!;
      const v = current.get(key);
      if (!v) throw new NotFoundError(describe(ref, db, u.id));
      const next = nextChunk(v.record, u.update, u.update.at ?? at, describe(ref, db, u.id));
      if (next) actions.push(['update', toRow(ref, db, next), 'Replace', { etag: v.etag }]);
      else written.set(key, v);
    }
    const { conflicted, etags } = await submitBatchesKeepingConflicts(ctx.tables.chunks, actions);
    for (const a of actions) {
      const key = String(a[1].rowKey);
      const etag = etags.get(key);
      if (etag !== undefined) written.set(key, { record: fromRow(a[1] as RawEntity), etag });
    }
    left = conflicted.map((a) => String(a[1].rowKey));
    if (left.length > 0 && attempt >= (options?.maxAttempts ?? 30)) throw new ConcurrencyConflictError(`${left.length} chunk(s) of ${describe(ref, db)}`);
  }
  return written;
}
