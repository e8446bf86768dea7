/**
 * One target transaction of whole source transactions: each change gets its replay mode
 * (visibility.ts), the writer (writer.ts) turns them into statements, and the progress record
 * commits with them. A huge source transaction written in parts is huge.ts.
 */
import type { Change, RelationRef, SourceTransaction } from '../change';
import { CdcApplyError, classifyApplyError } from '../errors';
import { PGFERRY_SCHEMAS } from '../../pg/user-schemas';
import type { Progress } from '../progress';
import { drained } from '../serial';
import type { ApplyHooks, BatchResult } from './options';
import { relKey } from './target-tables';
import type { ReplayPlanner } from './visibility';
import { TxnWriter } from './writer';
import { NeedsDiagnosis, newCounters, type PlannedOp, type WriterContext } from './writer-context';

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
  result.conflicts.push(...writer.conflicts);
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
export async function addChanges(writer: TxnWriter, planner: ReplayPlanner, txn: SourceTransaction, changes: Change[], commitLsn: string | undefined): Promise<{ skipped: number; idempotent: number }> {
  let skipped = 0;
  let idempotent = 0;
  // pgferry's own bookkeeping is never replayed (a reverse slot on a target sees its clean-up).
  const modeFor = (r: RelationRef) => (PGFERRY_SCHEMAS.includes(r.schema) ? 'skip'
    : commitLsn === undefined ? planner.modeBeforeCommit(r.schema, r.table, txn.xid) : planner.modeFor(r.schema, r.table, txn.xid, commitLsn));
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

/** The relations the transactions change, one RelationRef each. */
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
  for (const r of seen) if (!PGFERRY_SCHEMAS.includes(r.schema)) out.set(relKey(r.schema, r.table), r);
  return [...out.values()];
}

/** ROLLBACK once nothing chained for the target is still to run (it would run outside the transaction). */
export async function rollback(ctx: WriterContext): Promise<void> {
  await drained(ctx.target);
  await ctx.target.query('ROLLBACK').catch(() => undefined);
}
