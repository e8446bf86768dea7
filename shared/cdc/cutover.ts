/**
 * "Cut over one database": called once the user triggered cutover (writes to the source should
 * have stopped; anything committed after the end position is not migrated). A driver over engine
 * functions the service calls one activity at a time:
 *
 *   1. end position := currentInsertLsn(source) (lsn.ts)
 *   2. drain: applyBatch with uptoLsn = end until a caught-up batch runs after the source's flushed
 *      WAL passed the end — works at any latency, the backlog is simply applied first; the last
 *      progress flush is a synchronous commit, so everything applied is durable; an idle source
 *      whose flush cannot reach the end by itself is made to (flushPast in lsn.ts)
 *   3. sequences: copySequences (copy/sequences.ts)
 *   4. verify: row counts per table on both sides (verify/row-counts.ts)
 *   5. on success: dropProgress on the target, then dropSlotAndPublication on the source
 * Re-running after a crash is safe: each step is idempotent, and a slot already dropped means a
 * previous run finished steps 1–4 successfully.
 */
import type { ClientBase } from 'pg';
import { copySequences, type SequenceSync } from '../copy/sequences';
import { compareRowCounts, listUserTables, type TableCount } from '../verify/row-counts';
import { applyBatch } from './apply/apply-batch';
import type { ApplyBatchOptions } from './apply/options';
import type { RelationRef } from './change';
import { CDC_DEFAULTS } from './defaults';
import { compareLsn, currentFlushLsn, currentInsertLsn, flushPast } from './lsn';
import { addBatch, emptyTotals, type CdcTotals } from './metrics';
import { dropProgress } from './progress';
import { dropSlotAndPublication, readSlot } from './slot';
import { TypeCache } from './types';

export type { TableCount };

export interface CutoverOptions extends Omit<ApplyBatchOptions, 'uptoLsn' | 'noAdvance'> {
  /** Tables to compare; default: every user table of the source database. */
  tables?: RelationRef[];
  /** Drop slot, publication and progress record when verification passes (default true). */
  dropSlot?: boolean;
  /** Give up draining after this long (default CDC_DEFAULTS.drainTimeoutMs). */
  drainTimeoutMs?: number;
}

export interface CutoverReport {
  /** Source WAL position everything before which is on the target. */
  endLsn: string;
  /** False when the slot was already gone (an earlier run completed). */
  drained: boolean;
  batches: number;
  totals: CdcTotals;
  drainMs: number;
  sequences: SequenceSync;
  counts: TableCount[];
  mismatches: TableCount[];
  slotDropped: boolean;
  ok: boolean;
  durationMs: number;
}

export async function cutover(source: ClientBase, target: ClientBase, opts: CutoverOptions): Promise<CutoverReport> {
  const started = Date.now();
  const slotExists = (await readSlot(source, opts.slot)) !== undefined;
  const endLsn = await currentInsertLsn(source);
  const drain = slotExists ? await drainTo(source, target, opts, endLsn) : { batches: 0, totals: emptyTotals() };
  const drainMs = Date.now() - started;

  const sequences = await copySequences(source, target);
  const counts = await compareRowCounts(source, target, opts.tables ?? (await listUserTables(source)));
  const mismatches = counts.filter((c) => c.source !== c.target);
  const ok = mismatches.length === 0 && sequences.missing.length === 0;

  let slotDropped = false;
  if (ok && opts.dropSlot !== false) {
    await dropProgress(target, opts.progressName ?? opts.slot);
    if (slotExists) slotDropped = (await dropSlotAndPublication(source, opts.slot)).droppedSlot;
  }
  return { endLsn, drained: slotExists, ...drain, drainMs, sequences, counts, mismatches, slotDropped, ok, durationMs: Date.now() - started };
}

/** Applies bounded batches until every transaction committed before `endLsn` is on the target. */
async function drainTo(source: ClientBase, target: ClientBase, opts: CutoverOptions, endLsn: string): Promise<{ batches: number; totals: CdcTotals }> {
  const timeoutMs = opts.drainTimeoutMs ?? CDC_DEFAULTS.drainTimeoutMs;
  const deadline = Date.now() + timeoutMs;
  const types = opts.types ?? new TypeCache();
  let totals = emptyTotals();
  for (let batches = 1; ; batches++) {
    // Decoding stops at the flushed WAL: once it is past the end, a caught-up batch is final.
    const flushedPastEnd = compareLsn(await currentFlushLsn(source), endLsn) >= 0;
    const batch = await applyBatch(source, target, { ...opts, types, uptoLsn: endLsn });
    totals = addBatch(totals, batch);
    if (batch.caughtUp && flushedPastEnd) return { batches, totals };
    if (Date.now() > deadline) throw new Error(`cutover: draining to ${endLsn} did not finish within ${timeoutMs} ms`);
    if (batch.caughtUp) {
      await flushPast(source, endLsn);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
