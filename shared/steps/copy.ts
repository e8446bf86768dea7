/**
 * The copy steps: plan the chunks (stored in Table Storage, addressed by index), copy one chunk
 * exactly once (copy/copy-chunk.ts: its rows and done-mark commit together on the target), and
 * finish with sequences, large objects and the consistency point.
 */
import { withClient, withPair } from '../pg/connect';
import { isRetryable } from '../pg/retryable';
import { takeInventory } from '../copy/tables';
import { chunkPlanItems, planTables } from '../copy/plan';
import { copyChunkAt } from '../copy/copy-chunk';
import { copySequences } from '../copy/sequences';
import { copyLargeObjects } from '../copy/large-objects';
import { listMarks } from '../copy/bookkeeping';
import { copyProgress } from '../copy/progress';
import { tableKeyOf } from '../copy/types';
import { compareLsn, normalizeLsn } from '../cdc/lsn';
import { getChunk, listChunks, markChunk, putChunkPlan } from '../store/chunks';
import { getDatabase } from '../store/databases';
import type { ChunkOutcome, CopyPlanSummary, DatabaseKey, Result } from './contracts';
import { controlFor } from './control';
import { copyPlanFor } from './caches';
import { databaseEndpoints } from './endpoints';
import { fail, nowIso, ok, permanent, reportMissingSequences, setDb } from './record';
import type { Runtime } from './runtime';

/** The full-load counters are recomputed from the chunk rows at most this often per database. */
const PROGRESS_EVERY_MS = 3_000;

export async function planCopy(rt: Runtime, k: DatabaseKey): Promise<Result<CopyPlanSummary>> {
  const existing = await listChunks(rt.store, k, k.db);
  const summarize = (rows: Array<{ schema: string; table: string }>) => ({ chunks: rows.length, tables: new Set(rows.map(tableKeyOf)).size });
  if (existing.length > 0) return ok(summarize(existing));
  const e = await databaseEndpoints(rt, k);
  try {
    const plan = await withClient(e.source, rt.settings.connectTimeoutMs, async (c) => planTables(c, await takeInventory(c), { planId: e.record.migrationId.slice(0, 8) }));
    const items = chunkPlanItems(plan);
    await putChunkPlan(rt.store, k, k.db, items);
    await setDb(rt, k, (r) => ({ ...r, fullLoadQueuedTables: plan.tables.length, migrationOperation: `Copying ${plan.tables.length} table(s)` }));
    return ok(summarize(items));
  } catch (err) {
    return permanent(err, { phase: 'plan copy', database: k.db });
  }
}

/** Recomputes the full-load counters from the chunk rows; unless forced, at most every few seconds (the row says when it last did). */
async function refreshCopyProgress(rt: Runtime, k: DatabaseKey, force: boolean): Promise<void> {
  if (!force) {
    const at = (await getDatabase(rt.store, k, k.db))?.record.progressAt;
    if (at !== undefined && Date.now() - Date.parse(at) < PROGRESS_EVERY_MS) return;
  }
  const p = copyProgress(await listChunks(rt.store, k, k.db));
  await setDb(rt, k, (r) => ({
    ...r,
    progressAt: nowIso(),
    fullLoadQueuedTables: p.fullLoadQueuedTables,
    fullLoadLoadingTables: p.fullLoadLoadingTables,
    fullLoadCompletedTables: p.fullLoadCompletedTables,
    fullLoadErroredTables: p.fullLoadErroredTables,
    rowsCopied: p.rowsCopied,
    bytesCopied: p.bytesCopied,
  }));
}

export async function copyChunk(rt: Runtime, i: DatabaseKey & { chunk: number }): Promise<Result<ChunkOutcome>> {
  const e = await databaseEndpoints(rt, i);
  if (controlFor(e.record, i.db) === 'cancel') return ok({ canceled: true });
  if ((await getDatabase(rt.store, i, i.db))?.record.copyStopped !== undefined) return ok({ stopped: true });
  const plan = await copyPlanFor(rt, { ...i, run: e.record.migrationId });
  const planned = plan[i.chunk];
  if (!planned) return fail(`copy chunk ${i.chunk} is not in the plan of ${i.db} (${plan.length} chunks)`);
  const id = { schema: planned.record.schema, table: planned.record.table, chunkNo: planned.record.chunkNo };
  const table = `${id.schema}.${id.table}`;
  const key = tableKeyOf(id);
  try {
    // A retried activity (the host died after the chunk was recorded done) goes straight to the
    // table-completion check below: the rows and the done-mark committed together already.
    const current = await getChunk(rt.store, i, i.db, id);
    if (current?.record.state !== 'done') {
      await markChunk(rt.store, i, i.db, id, { state: 'loading' });
      const result = await copyChunkAt(e.source, e.target, planned.chunk);
      await markChunk(rt.store, i, i.db, id, { state: 'done', rows: result.rows, bytes: result.bytes, endLsn: result.endLsn });
    }
  } catch (err) {
    if (isRetryable(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    await markChunk(rt.store, i, i.db, id, { state: 'errored', error: message }).catch(() => undefined);
    const failure = fail(`copy of ${table} (chunk ${id.chunkNo}) failed: ${message}`, { phase: 'copy', database: i.db, table });
    await stopCopy(rt, i, message);
    await refreshCopyProgress(rt, i, true);
    return failure;
  }
  // The table is loaded when all its chunks are done; exactly one chunk reports it: the one that
  // ended last (ties by number), so a retried activity reports the same table again, not another.
  const siblings = plan.filter((p) => p.record.schema === id.schema && p.record.table === id.table);
  const records = (await Promise.all(siblings.map((s) => getChunk(rt.store, i, i.db, { schema: id.schema, table: id.table, chunkNo: s.record.chunkNo })))).map((s) => s?.record);
  let tableLoaded: string | undefined;
  if (records.every((r) => r?.state === 'done')) {
    const last = [...records].sort((a, b) => ((a?.endedAt ?? '') < (b?.endedAt ?? '') ? 1 : (a?.endedAt ?? '') > (b?.endedAt ?? '') ? -1 : (b?.chunkNo ?? 0) - (a?.chunkNo ?? 0)))[0];
    if (last?.chunkNo === id.chunkNo) tableLoaded = key;
  }
  await refreshCopyProgress(rt, i, tableLoaded !== undefined);
  return ok(tableLoaded ? { tableLoaded } : {});
}

/** Records why this database's copy stopped, so every other lane stops at its next chunk. */
export async function stopCopy(rt: Runtime, k: DatabaseKey, reason: string): Promise<void> {
  await setDb(rt, k, (r) => (r.copyStopped === undefined ? { ...r, copyStopped: reason } : undefined));
}

/** Sequences, large objects, final counters, and the consistency point (highest end-of-chunk LSN). */
export async function finishCopy(rt: Runtime, k: DatabaseKey): Promise<Result<{ consistencyLsn: string | null }>> {
  const e = await databaseEndpoints(rt, k);
  try {
    const { consistencyLsn, missing } = await withPair(e.source, e.target, rt.settings.connectTimeoutMs, async (s, t) => {
      const sequences = await copySequences(s, t);
      await copyLargeObjects(s, t);
      let highest: string | null = null;
      for (const m of await listMarks(t)) highest = highest === null || compareLsn(m.endLsn, highest) > 0 ? normalizeLsn(m.endLsn) : highest;
      return { consistencyLsn: highest, missing: sequences.missing };
    });
    await reportMissingSequences(rt, k, missing);
    await refreshCopyProgress(rt, k, true);
    await setDb(rt, k, (r) => ({ ...r, ...(consistencyLsn ? { consistencyLsn } : {}), migrationOperation: e.record.migrationMode === 'Online' ? 'Catching up with changes' : 'Copy complete' }));
    return ok({ consistencyLsn });
  } catch (err) {
    return permanent(err, { phase: 'finish copy', database: k.db });
  }
}
