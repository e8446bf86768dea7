/**
 * One target transaction: whole source transactions (applyGroup), or one huge source
 * transaction written in parts (applyHuge). Each change gets its replay mode (visibility.ts);
 * the writer (apply-run.ts) turns them into statements; the progress record commits with them.
 */
import type { ApplyHooks, BatchResult } from './apply-batch';
import { NeedsDiagnosis, TxnWriter, newCounters, type PlannedOp, type WriterContext } from './writer';
import type { PageSource } from './page-source';
import type { Change, RelationRef, SourceTransaction } from '../change';
import { CdcApplyError, classifyApplyError } from '../errors';
import type { Progress } from '../progress';
import { relKey } from './target-tables';
import { drained } from '../serial';
import type { ReplayPlanner } from './visibility';

/** One target transaction for whole source transactions; diagnoses a failure before throwing it. */
export async function applyGroup(ctx: WriterContext, progress: Progress, planner: ReplayPlanner, txns: SourceTransaction[], result: BatchResult, hooks?: ApplyHooks): Promise<void> {
  await ctx.tables.load(ctx.target, relationsOf(txns));
  const before = { ...ctx.counters };
  try {
    await writeGroup(ctx, progress, planner, txns, result, hooks);
  } catch (err) {
    await rollback(ctx);
    Object.assign(ctx.counters, before);
    const classified = err instanceof NeedsDiagnosis ? undefined : classifyApplyError(err);
    if (classified?.retryable) throw classified;
    // Name the failing change: the same changes, one statement each, in order; rolled back.
    const diag: WriterContext = { ...ctx, diagnose: true, counters: newCounters() };
    delete diag.beforeStatement;
    try {
      await writeGroup(diag, undefined, planner, txns, undefined, undefined);
    } catch (precise) {
      await rollback(ctx);
      throw classifyApplyError(precise);
    }
    await rollback(ctx);
    throw classified ?? new CdcApplyError(`${(err as Error).message}, but replaying the changes one by one succeeded`, 'Other', true);
  }
}

/**
 * BEGIN, the changes, the progress record, COMMIT. `progress` undefined: diagnose mode (no
 * commit: the caller rolls back).
 */
async function writeGroup(ctx: WriterContext, progress: Progress | undefined, planner: ReplayPlanner, txns: SourceTransaction[], result: BatchResult | undefined, hooks: ApplyHooks | undefined): Promise<void> {
  await ctx.target.query('BEGIN');
  const writer = new TxnWriter(ctx);
  let skipped = 0;
  let idempotent = 0;
  for (const txn of txns) {
    const n = await addChanges(writer, planner, txn, txn.changes, txn.commitLsn);
    skipped += n.skipped;
    idempotent += n.idempotent;
  }
  await writer.flush();
  if (!progress || !result) return;
  const last = txns[txns.length - 1];
  if (!last) return;
  await progress.record(last.commitLsn, last.commitTime);
  if (!writer.wrote && progress.mode === 'origin') {
    // A transaction without an xid writes no commit record, and so would not carry the origin's
    // progress: take one, so skipped-only batches are recorded too.
    await ctx.target.query(`SELECT pg_catalog.txid_current()`);
  }
  await hooks?.beforeCommit?.();
  await ctx.target.query('COMMIT');
  result.transactions += txns.length;
  result.skippedChanges += skipped;
  result.idempotentChanges += idempotent;
  result.targetTransactions++;
  result.lastCommitLsn = last.commitLsn;
  result.lastCommitTime = last.commitTime;
}

/**
 * Queues the changes of one transaction on the writer with their replay mode. `commitLsn`
 * undefined: not known yet (a huge transaction written in parts).
 */
async function addChanges(writer: TxnWriter, planner: ReplayPlanner, txn: SourceTransaction, changes: Change[], commitLsn: string | undefined): Promise<{ skipped: number; idempotent: number }> {
  let skipped = 0;
  let idempotent = 0;
  const modeFor = (r: RelationRef) => (commitLsn === undefined ? planner.modeBeforeCommit(r.schema, r.table, txn.xid) : planner.modeFor(r.schema, r.table, txn.xid, commitLsn));
  const info = { xid: txn.xid, commitLsn: commitLsn ?? '' };
  for (const change of changes) {
    if (change.kind === 'truncate') {
      const relations = change.relations.filter((r) => modeFor(r) !== 'skip');
      skipped += change.relations.length - relations.length;
      if (relations.length > 0) await writer.truncate({ ...change, relations }, info);
      continue;
    }
    const mode = modeFor(change.relation);
    if (mode === 'skip') {
      skipped++;
      continue;
    }
    if (mode === 'idempotent') idempotent++;
    const op: PlannedOp = { change, mode, ...info };
    await writer.add(op);
  }
  return { skipped, idempotent };
}

/**
 * Writes a huge transaction (stream only) in parts inside ONE target transaction, committing it
 * with its progress record when its commit arrives. Only a stream may do this: the server skips
 * every transaction that committed before the stream's start LSN (the target's progress), so the
 * transaction cannot be one the target already holds. Its commit LSN is unknown until the end, so
 * tables copied in several chunks get idempotent semantics for it (exact ones stay exact). A
 * failure is reported as is (its earlier parts are gone: no one-change-at-a-time diagnosis).
 * Returns the transactions that followed it in the last page.
 */
export async function applyHuge(ctx: WriterContext, progress: Progress, planner: ReplayPlanner, reader: PageSource, txn: SourceTransaction, result: BatchResult, hooks?: ApplyHooks): Promise<SourceTransaction[]> {
  const take = reader.takeOpenChanges;
  if (!take) throw new Error('applyHuge needs a stream');
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
    await writePart(take(), undefined);
    for (;;) {
      const txns = await reader.next();
      const at = txns ? txns.indexOf(txn) : -1;
      if (at < 0 && reader.openTransaction?.() !== txn) {
        // The stream stopped before its commit (time box, or its commit is past uptoLsn at
        // cutover): nothing of it is kept; a later batch applies it whole.
        await rollback(ctx);
        Object.assign(ctx.counters, before);
        return txns ?? [];
      }
      if (at > 0 || (at < 0 && (txns?.length ?? 0) > 0)) throw new Error('stream: transactions committed inside a huge transaction');
      if (at < 0) {
        if (txn.changes.length >= 10_000) await writePart(take(), undefined);
        continue;
      }
      await writePart(txn.changes, txn.commitLsn);
      txn.changes = [];
      await progress.record(txn.commitLsn, txn.commitTime);
      if (!writer.wrote && progress.mode === 'origin') await ctx.target.query(`SELECT pg_catalog.txid_current()`);
      await hooks?.beforeCommit?.();
      await ctx.target.query('COMMIT');
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

export function relationsOf(txns: SourceTransaction[]): RelationRef[] {
  // Decoders mostly share one RelationRef per relation: dedupe by identity, then by name.
  const seen = new Set<RelationRef>();
  for (const t of txns) {
    for (const c of t.changes) {
      if (c.kind === 'truncate') for (const r of c.relations) seen.add(r);
      else seen.add(c.relation);
    }
  }
  const out = new Map<string, RelationRef>();
  for (const r of seen) out.set(relKey(r.schema, r.table), r);
  return [...out.values()];
}

/** ROLLBACK once nothing chained for the target is still to run (it would run outside the transaction). */
async function rollback(ctx: WriterContext): Promise<void> {
  await drained(ctx.target);
  await ctx.target.query('ROLLBACK').catch(() => undefined);
}
