/** A huge source transaction (stream only), written in parts so it is never held in memory whole. */
import type { Change, SourceTransaction } from '../change';
import { CDC_DEFAULTS } from '../defaults';
import { classifyApplyError } from '../errors';
import type { Progress } from '../progress';
import { addChanges, relationsOf, rollback } from './group';
import type { ApplyHooks, BatchResult } from './options';
import type { StreamPageSource } from './page-sources';
import type { ReplayPlanner } from './visibility';
import { TxnWriter } from './writer';
import type { WriterContext } from './writer-context';

/**
 * Writes a huge transaction (stream only) in parts inside ONE target transaction, committing it
 * with its progress record when its commit arrives. Only a stream may do this: the server skips
 * every transaction that committed before the stream's start LSN (the target's progress), so the
 * transaction cannot be one the target already holds. Its commit LSN is unknown until the end, so
 * tables copied in several chunks get idempotent semantics for it (exact ones stay exact). A
 * failure is reported as is (its earlier parts are gone: no one-change-at-a-time diagnosis).
 * Returns the transactions that followed it in the last page.
 */
export async function applyHuge(
  ctx: WriterContext,
  progress: Progress,
  planner: ReplayPlanner,
  reader: StreamPageSource,
  txn: SourceTransaction,
  result: BatchResult,
  hooks: ApplyHooks | undefined,
  partBytes: number,
): Promise<SourceTransaction[]> {
  const w0 = Date.now();
  const before = { ...ctx.counters };
  try {
    await ctx.target.query('BEGIN');
    const writer = new TxnWriter(ctx);
    const writePart = async (changes: Change[], commitLsn: string | undefined) => {
      await ctx.tables.load(ctx.target, relationsOf([{ ...txn, changes }]));
      const n = await addChanges(writer, planner, txn, changes, commitLsn);
      result.skippedChanges += n.skipped;
      result.idempotentChanges += n.idempotent;
      result.changesRead += changes.length;
      await writer.flush();
    };
    await writePart(reader.takeOpenChanges(), undefined);
    for (;;) {
      const txns = await reader.next();
      const at = txns ? txns.indexOf(txn) : -1;
      if (at < 0 && reader.openTransaction() !== txn) {
        // The stream stopped before its commit (time box, or its commit is past uptoLsn at
        // cutover): nothing of it is kept; a later batch applies it whole.
        await rollback(ctx);
        Object.assign(ctx.counters, before);
        return txns ?? [];
      }
      if (at > 0 || (at < 0 && (txns?.length ?? 0) > 0)) throw new Error('stream: transactions committed inside a huge transaction');
      if (at < 0) {
        if (txn.changes.length >= CDC_DEFAULTS.hugePartChanges || reader.openBytes() >= partBytes) await writePart(reader.takeOpenChanges(), undefined);
        continue;
      }
      await writePart(txn.changes, txn.commitLsn);
      txn.changes = [];
      await progress.record(txn.commitLsn, txn.commitTime);
      if (!writer.wrote && progress.mode === 'origin') await ctx.target.query(`SELECT pg_catalog.txid_current()`);
      await hooks?.beforeCommit?.();
      await ctx.target.query('COMMIT');
      result.conflicts.push(...writer.conflicts);
      result.transactions++;
      result.targetTransactions++;
      result.hugeTransactions++;
      result.lastCommitLsn = txn.commitLsn;
      result.lastCommitTime = txn.commitTime;
      result.writeMs += Date.now() - w0;
      return (txns ?? []).slice(at + 1);
    }
  } catch (err) {
    await rollback(ctx);
    Object.assign(ctx.counters, before);
    throw classifyApplyError(err);
  }
}
