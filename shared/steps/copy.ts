/**
 * The copy steps: plan the chunks (stored in Table Storage, addressed by index), copy one chunk
 * exactly once (copy/copy-chunk.ts: its rows and done-mark commit together on the target), and
 * finish with sequences, large objects and the consistency point.
 */
import { withClient, withPair } from '../pg/connect';
import { isRetryable } from '../pg/retryable';
import { takeInventory } from '../copy/tables';
import { balancedSplitBytes, chunkOfPlanItem, chunkPlanItems, copyUnits, groupable, planTables, storedPlanOrder } from '../copy/plan';
import { copyChunkAt } from '../copy/copy-chunk';
import { copyGroupAt } from '../copy/copy-group';
import { CopyError } from '../copy/errors';
import { copySequences } from '../copy/sequences';
import { copyLargeObjects } from '../copy/large-objects';
import { listMarks } from '../copy/bookkeeping';
import { copyProgress, summarizeCopyProgress } from '../copy/progress';
import { tableKeyOf, type ChunkResult } from '../copy/types';
import { normalizeLsn } from '../cdc/lsn';
import { maxLsn } from '../copy/snapshot';
import { getChunk, listChunks, markChunk, putChunkPlan, type ChunkId, type ChunkPlanItem } from '../store/chunks';
import { chunkKey, markChunks, readChunks } from '../store/chunk-batches';
import { getDatabase } from '../store/databases';
import type { ChunkOutcome, CopyPlanSummary, DatabaseKey, Result } from './contracts';
import { controlFor } from './control';
import { liveChunkProgress } from './copy-live';
import { copyPlanFor, currentChunkRows, unitsOf, type PlannedChunk, type RunKey } from './caches';
import { databaseEndpoints } from './endpoints';
import { fail, ok, permanent, reportMissingSequences, setDb } from './record';
import type { Runtime } from './runtime';

/** The full-load counters are recomputed from the chunk rows at most this often per database. */
const PROGRESS_EVERY_MS = 3_000;
/** While a chunk streams, its lane refreshes them this often at most (GET advances every second or two). */
const LIVE_REFRESH_MS = 900;
/** After a group of small tables, they are refreshed at most this often (progress advances every 2 s). */
const GROUP_REFRESH_MS = 1_500;

/** The operation while pre-data runs; planCopy runs beside it and must not replace it. */
export const CREATING_SCHEMA = 'Creating the schema';

const copyingOperation = (tables: number) => `Copying ${tables} table(s)`;

export async function planCopy(rt: Runtime, k: DatabaseKey): Promise<Result<CopyPlanSummary>> {
  const e = await databaseEndpoints(rt, k);
  // After the plan is stored (or found stored): the units derive from it, the same in every process.
  const summarize = async (): Promise<Result<CopyPlanSummary>> => {
    const plan = await copyPlanFor(rt, { ...k, run: e.record.migrationId });
    return ok({ chunks: plan.length, tables: new Set(plan.map((p) => tableKeyOf(p.record))).size, units: unitsOf(plan).length, lanes: rt.settings.copyLanes });
  };
  if ((await listChunks(rt.store, k, k.db)).length > 0) return summarize();
  try {
    const plan = await withClient(e.source, rt.settings.connectTimeoutMs, async (c) => {
      const inventory = await takeInventory(c);
      const splitBytes = balancedSplitBytes(inventory, rt.settings.copySplitMb * 1024 * 1024, rt.settings.copyLanes);
      return planTables(c, inventory, { planId: e.record.migrationId.slice(0, 8), splitBytes });
    });
    await putChunkPlan(rt.store, k, k.db, withUnits(chunkPlanItems(plan)));
    // Pre-data may still run: the first copy unit then says the copy began (copyChunk).
    await setDb(rt, k, (r) => ({ ...r, fullLoadQueuedTables: plan.tables.length, migrationOperation: r.migrationOperation === CREATING_SCHEMA ? r.migrationOperation : copyingOperation(plan.tables.length) }));
  } catch (err) {
    return permanent(err, { phase: 'plan copy', database: k.db });
  }
  return summarize();
}

/** The plan's items, each with the copy unit it falls in: every process derives the same units (caches.ts unitsOf). */
function withUnits(items: ChunkPlanItem[]): ChunkPlanItem[] {
  const ordered = storedPlanOrder(items);
  const unitOf = new Map<ChunkPlanItem, number>();
  copyUnits(ordered.map((item) => chunkOfPlanItem(item))).forEach((members, unit) => {
    for (const n of members) unitOf.set(ordered[n] as ChunkPlanItem, unit);
  });
  return items.map((item) => ({ ...item, unit: unitOf.get(item) as number }));
}

/**
 * Recomputes the full-load counters from the chunk rows: 'throttled' at most every few seconds
 * (the row says when it last did), 'now' at once (a table loaded, the copy failed), 'final' once
 * the copy is over (always written: the count every later reader sees).
 */
async function refreshCopyProgress(rt: Runtime, k: RunKey, when: 'throttled' | 'now' | 'final', everyMs = PROGRESS_EVERY_MS): Promise<void> {
  if (when === 'throttled') {
    const at = (await getDatabase(rt.store, k, k.db))?.record.progressAt;
    if (at !== undefined && Date.now() - Date.parse(at) < everyMs) return;
  }
  const { rows, readAt } = await currentChunkRows(rt, k);
  const p = copyProgress(rows);
  await setDb(rt, k, (r) => {
    // Lanes in other processes refresh too: counters from a read older than the stored ones would
    // move rows and bytes back in GET (a process's clock decides; the final count always writes).
    if (when !== 'final' && r.progressAt !== undefined && Date.parse(r.progressAt) > readAt) return undefined;
    return {
      ...r,
      progressAt: new Date(readAt).toISOString(),
      fullLoadQueuedTables: p.fullLoadQueuedTables,
      fullLoadLoadingTables: p.fullLoadLoadingTables,
      fullLoadCompletedTables: p.fullLoadCompletedTables,
      fullLoadErroredTables: p.fullLoadErroredTables,
      rowsCopied: p.rowsCopied,
      bytesCopied: p.bytesCopied,
      copyProgress: summarizeCopyProgress(p),
    };
  });
}

/**
 * Copies one unit of the plan (plan.ts copyUnits): a chunk of a table, or a group of small whole
 * tables in one source snapshot and one target transaction.
 */
export async function copyChunk(rt: Runtime, i: DatabaseKey & { unit: number }): Promise<Result<ChunkOutcome>> {
  const e = await databaseEndpoints(rt, i);
  if (controlFor(e.record, i.db) === 'cancel') return ok({ canceled: true });
  const db = (await getDatabase(rt.store, i, i.db))?.record;
  if (db?.copyStopped !== undefined) return ok({ stopped: true });
  if (db?.migrationOperation === CREATING_SCHEMA) {
    await setDb(rt, i, (r) => (r.migrationOperation === CREATING_SCHEMA ? { ...r, migrationOperation: copyingOperation(r.fullLoadQueuedTables) } : undefined));
  }
  const plan = await copyPlanFor(rt, { ...i, run: e.record.migrationId });
  const units = unitsOf(plan);
  const members = units[i.unit]?.map((n) => plan[n]).filter((p): p is PlannedChunk => p !== undefined);
  const first = members?.[0];
  if (!members || !first) return fail(`copy unit ${i.unit} is not in the plan of ${i.db} (${units.length} units)`);
  if (groupable(first.chunk)) return copyTableGroup(rt, i, e, members);
  return copyOneChunk(rt, i, e, plan, first);
}

type Endpoints = Awaited<ReturnType<typeof databaseEndpoints>>;

/** Fails the database's copy: the chunks errored, every lane told to stop, counters refreshed. */
async function copyFailed(rt: Runtime, k: RunKey, ids: ChunkId[], err: unknown, what: (message: string) => string, table: string): Promise<Result<ChunkOutcome>> {
  const message = err instanceof Error ? err.message : String(err);
  await markChunks(rt.store, k, k.db, ids.map((id) => ({ id, update: { state: 'errored', error: message } }))).catch(() => undefined);
  const failure = fail(what(message), { phase: 'copy', database: k.db, table });
  await stopCopy(rt, k, message);
  await refreshCopyProgress(rt, k, 'now');
  return failure;
}

const idOf = (p: PlannedChunk): ChunkId => ({ schema: p.record.schema, table: p.record.table, chunkNo: p.record.chunkNo, unit: p.record.unit });

async function copyTableGroup(rt: Runtime, k: DatabaseKey, e: Endpoints, members: PlannedChunk[]): Promise<Result<ChunkOutcome>> {
  // A retried activity copies only the tables whose rows are not recorded yet (copyGroup reads the marks too).
  // The group's rows are read once, by their unit; each mark hands its ETags to the next.
  const stored = await readChunks(rt.store, k, k.db, members.map(idOf));
  const pending = members.filter((p) => stored.get(chunkKey(idOf(p)))?.record.state !== 'done');
  try {
    if (pending.length > 0) {
      const loading = await markChunks(rt.store, k, k.db, pending.map((p) => ({ id: idOf(p), update: { state: 'loading' } })), { current: stored });
      const results = await copyGroupAt(e.source, e.target, pending.map((p) => p.chunk));
      await markChunks(rt.store, k, k.db, pending.map((p, n) => {
        const r = results[n] as ChunkResult;
        return { id: idOf(p), update: { state: 'done', rows: r.rows, bytes: r.bytes, endLsn: r.endLsn } };
      }), { current: loading });
    }
  } catch (err) {
    if (isRetryable(err)) throw err;
    const table = err instanceof CopyError ? err.context.table : `${pending.length} tables`;
    return copyFailed(rt, { ...k, run: e.record.migrationId }, pending.map(idOf), err, (m) => `copy of ${table} failed: ${m}`, table);
  }
  // Counted from every chunk row: not after each group (at 10,000 tables that read is the cost), but
  // as often as progress needs; finishCopy counts them all once more.
  await refreshCopyProgress(rt, { ...k, run: e.record.migrationId }, 'throttled', GROUP_REFRESH_MS);
  return ok({ groupLoaded: true });
}

async function copyOneChunk(rt: Runtime, i: DatabaseKey, e: Endpoints, plan: PlannedChunk[], planned: PlannedChunk): Promise<Result<ChunkOutcome>> {
  const id = idOf(planned);
  const table = `${id.schema}.${id.table}`;
  const key = tableKeyOf(id);
  try {
    // A retried activity (the host died after the chunk was recorded done) goes straight to the
    // table-completion check below: the rows and the done-mark committed together already.
    const current = await getChunk(rt.store, i, i.db, id);
    if (current?.record.state !== 'done') {
      const loading = await markChunk(rt.store, i, i.db, id, { state: 'loading' });
      const live = liveChunkProgress(rt, i, id, loading.record.attempts, () => refreshCopyProgress(rt, { ...i, run: e.record.migrationId }, 'throttled', LIVE_REFRESH_MS));
      const result = await copyChunkAt(e.source, e.target, planned.chunk, { onProgress: live.onProgress }).finally(live.stop);
      await markChunk(rt.store, i, i.db, id, { state: 'done', rows: result.rows, bytes: result.bytes, endLsn: result.endLsn });
    }
  } catch (err) {
    if (isRetryable(err)) throw err;
    return copyFailed(rt, { ...i, run: e.record.migrationId }, [id], err, (m) => `copy of ${table} (chunk ${id.chunkNo}) failed: ${m}`, table);
  }
  // The table is loaded when all its chunks are done; exactly one chunk reports it: the one that
  // ended last (ties by number), so a retried activity reports the same table again, not another.
  const siblings = plan.filter((p) => p.record.schema === id.schema && p.record.table === id.table);
  const records = (await Promise.all(siblings.map((s) => getChunk(rt.store, i, i.db, idOf(s))))).map((s) => s?.record);
  let tableLoaded: string | undefined;
  if (records.every((r) => r?.state === 'done')) {
    const last = [...records].sort((a, b) => ((a?.endedAt ?? '') < (b?.endedAt ?? '') ? 1 : (a?.endedAt ?? '') > (b?.endedAt ?? '') ? -1 : (b?.chunkNo ?? 0) - (a?.chunkNo ?? 0)))[0];
    if (last?.chunkNo === id.chunkNo) tableLoaded = key;
  }
  await refreshCopyProgress(rt, { ...i, run: e.record.migrationId }, tableLoaded !== undefined ? 'now' : 'throttled');
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
      const highest = maxLsn((await listMarks(t)).map((m) => m.endLsn));
      return { consistencyLsn: highest === null ? null : normalizeLsn(highest), missing: sequences.missing };
    });
    await reportMissingSequences(rt, k, missing);
    await refreshCopyProgress(rt, { ...k, run: e.record.migrationId }, 'final');
    await setDb(rt, k, (r) => ({ ...r, ...(consistencyLsn ? { consistencyLsn } : {}), migrationOperation: e.record.migrationMode === 'Online' ? 'Catching up with changes' : 'Copy complete' }));
    return ok({ consistencyLsn });
  } catch (err) {
    return permanent(err, { phase: 'finish copy', database: k.db });
  }
}
