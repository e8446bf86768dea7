/**
 * The cutover's drain as the product runs it, without the host: once cutover is asked, the end
 * position is the source's WAL insert position (shared/steps/cutover.ts), and the CDC loop
 * (orchestrators/cdc.ts) calls the applyBatch activity with it — the engine's applyBatch with
 * uptoLsn = end — until a batch has drainedTo it, making an idle source flush past the end (flushPast) and resting a moment after a caught-up batch as the
 * loop's idle timer does. What follows the drain (verification, sequences, large objects, the
 * slot and bookkeeping dropped) is the completion step's, tested through the host.
 */
import type { ClientBase } from 'pg';
import { addBatch, applyBatch, currentFlushLsn, currentInsertLsn, drainedTo, emptyTotals, flushPast, type ApplyBatchOptions, type CdcTotals } from '../../shared/cdc';

export interface Drain {
  endLsn: string;
  batches: number;
  totals: CdcTotals;
}

export async function drainForCutover(source: ClientBase, target: ClientBase, opts: ApplyBatchOptions, maxBatches = 1_000): Promise<Drain> {
  const endLsn = await currentInsertLsn(source);
  let totals = emptyTotals();
  for (let batches = 1; batches <= maxBatches; batches++) {
    const flushed = await currentFlushLsn(source);
    const batch = await applyBatch(source, target, { ...opts, uptoLsn: endLsn });
    totals = addBatch(totals, batch);
    if (drainedTo(endLsn, flushed, batch.caughtUp)) return { endLsn, batches, totals };
    if (batch.caughtUp) {
      // As the CDC step does: an idle source whose flush cannot reach the end by itself is made to.
      await flushPast(source, endLsn);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`no drain to ${endLsn} after ${maxBatches} batches`);
}
