/**
 * "Cut over one database": called once the user triggered cutover (writes to the source should
 * have stopped; anything committed after the end position is not migrated).
 *
 *   1. end position := the source's current WAL insert position (pg_current_wal_insert_lsn():
 *      unlike pg_current_wal_lsn(), it also covers asynchronous commits not yet written out)
 *   2. drain: apply bounded batches (upto_lsn = end) until every transaction committed before it
 *      is applied — works at any latency, the backlog is simply applied first; the last progress
 *      flush is a synchronous commit, so everything applied is durable
 *   3. sequences: every source sequence value set on the target (sequences.ts)
 *   4. verify: row counts per table on both sides
 *   5. on success: drop the progress record on the target, then the slot and publication
 * Re-running after a crash is safe: each step is idempotent, and a slot already dropped means a
 * previous run finished steps 1–4 successfully.
 */
import type { ClientBase } from 'pg';
import { applyBatch } from './apply/apply-batch';
import type { ApplyBatchOptions, BatchResult } from './apply/options';
import type { RelationRef } from './change';
import { compareLsn, normalizeLsn } from './lsn';
import { addBatch, emptyTotals, type CdcTotals } from './metrics';
import { dropProgress } from './progress';
import { readSequences, setSequences, type SequenceSyncResult } from './sequences';
import { dropSlotAndPublication, readSlot } from './slot';
import { TypeCache } from './types';
import { countRows, listUserTables } from './verify';

export interface CutoverOptions extends Omit<ApplyBatchOptions, 'uptoLsn' | 'noAdvance'> {
  /** Tables to compare; default: every user table of the source database. */
  tables?: RelationRef[];
  /** Drop slot, publication and progress record when verification passes (default true). */
  dropSlot?: boolean;
  /** Give up draining after this long (default 1 hour). */
  drainTimeoutMs?: number;
}

export interface TableCount {
  table: string;
  source: number;
  target: number;
}

export interface CutoverReport {
  /** Source WAL position everything before which is on the target. */
  endLsn: string;
  /** False when the slot was already gone (an earlier run completed). */
  drained: boolean;
  batches: number;
  totals: CdcTotals;
  drainMs: number;
  sequences: SequenceSyncResult;
  counts: TableCount[];
  mismatches: TableCount[];
  slotDropped: boolean;
  ok: boolean;
  durationMs: number;
}

export async function cutover(source: ClientBase, target: ClientBase, opts: CutoverOptions): Promise<CutoverReport> {
  const started = Date.now();
  const slotExists = (await readSlot(source, opts.slot)) !== undefined;
  const { rows } = await source.query<{ lsn: string }>(`SELECT pg_catalog.pg_current_wal_insert_lsn()::text AS lsn`);
  const endLsn = normalizeLsn(rows[0]?.lsn ?? '0/0');

  let totals = emptyTotals();
  let batches = 0;
  if (slotExists) {
    const deadline = Date.now() + (opts.drainTimeoutMs ?? 3_600_000);
    const types = opts.types ?? new TypeCache();
    for (;;) {
      // Decoding stops at the flushed WAL: once it is past the end, a caught-up batch is final.
      const flushed = await source.query<{ lsn: string }>(`SELECT pg_catalog.pg_current_wal_flush_lsn()::text AS lsn`);
      const flushedPastEnd = compareLsn(normalizeLsn(flushed.rows[0]?.lsn ?? '0/0'), endLsn) >= 0;
      const batch: BatchResult = await applyBatch(source, target, { ...opts, types, uptoLsn: endLsn });
      totals = addBatch(totals, batch);
      batches++;
      if (batch.caughtUp && flushedPastEnd) break;
      if (Date.now() > deadline) throw new Error(`cutover: draining to ${endLsn} did not finish within ${opts.drainTimeoutMs ?? 3_600_000} ms`);
      if (batch.caughtUp) await new Promise((r) => setTimeout(r, 50));
    }
  }
  const drainMs = Date.now() - started;

  const sequences = await setSequences(target, await readSequences(source));
  const tables = opts.tables ?? (await listUserTables(source));
  const [src, dst] = [await countRows(source, tables), await countRows(target, tables)];
  const counts: TableCount[] = tables.map((t) => {
    const k = `${t.schema}.${t.table}`;
    return { table: k, source: src.get(k) ?? 0, target: dst.get(k) ?? 0 };
  });
  const mismatches = counts.filter((c) => c.source !== c.target);
  const ok = mismatches.length === 0 && sequences.missing.length === 0;

  let slotDropped = false;
  if (ok && opts.dropSlot !== false) {
    await dropProgress(target, opts.progressName ?? opts.slot);
    if (slotExists) slotDropped = (await dropSlotAndPublication(source, opts.slot)).droppedSlot;
  }
  return { endLsn, drained: slotExists, batches, totals, drainMs, sequences, counts, mismatches, slotDropped, ok, durationMs: Date.now() - started };
}
