/**
 * "Apply one batch": one short, restartable unit of work for the CDC orchestration.
 *
 *   read progress on the target (replication origin or bookkeeping row: the last applied commit)
 *   read whole transactions from the slot: SQL peek or stream (page-sources.ts)
 *   skip transactions already applied (commit LSN ≤ progress)
 *   group whole transactions into target transactions of ~txnChanges changes (pages.ts); each one
 *     BEGIN → write the changes (writer.ts) → record its last commit LSN → COMMIT
 *     (synchronous_commit = off: cheap commits; the durability point is below)
 *   flush: make the target's progress durable and read it back
 *   advance the slot to that durable LSN — never before the target committed it
 *
 * A crash anywhere commits nothing half-way: a target transaction is all or nothing together with
 * its recorded LSN, and the slot only moves past what the target durably holds, so the next run
 * re-reads from the slot and skips by the recorded LSN. Source and target work overlap: the next
 * page is read from the source while the current group is written to the target.
 *
 * Replay semantics per (table, transaction) come from visibility.ts (skip / idempotent / exact).
 * When a group fails with a non-retryable error or an exact statement touches fewer rows than it
 * should, the group is rolled back and re-run one change per statement (then rolled back again)
 * so the error names the exact change, table and key (group.ts).
 */
import type { ClientBase } from 'pg';
import { CDC_DEFAULTS } from '../defaults';
import { CdcApplyError, classifyApplyError } from '../errors';
import { compareLsn } from '../lsn';
import { Progress, chooseProgressMode } from '../progress';
import { prepareApplySession, prepareSourceSession } from '../session';
import { advanceSlot, slotPosition } from '../slot-position';
import { TypeCache } from '../types';
import { emptyBatchResult, type ApplyBatchOptions, type BatchResult } from './options';
import { applyPages } from './pages';
import { releaseApplyLock, takeApplyLock } from './lock';
import { openSqlSource, openStreamSource } from './page-sources';
import { TargetTables } from './target-tables';
import { ReplayPlanner } from './visibility';
import { newCounters, type WriterContext } from './writer-context';
import { streamMemory } from './stream-memory';

/** Applies one batch; see the file comment. Throws CdcApplyError (retryable or not). */
export async function applyBatch(source: ClientBase, target: ClientBase, opts: ApplyBatchOptions): Promise<BatchResult> {
  const started = Date.now();
  try {
    return await run(source, target, opts, started);
  } catch (err) {
    throw classifyApplyError(err);
  }
}

async function run(source: ClientBase, target: ClientBase, opts: ApplyBatchOptions, started: number): Promise<BatchResult> {
  await prepareSourceSession(source);
  const replicaRole = await prepareApplySession(target);
  if (!(await takeApplyLock(target, opts.slot))) return { ...emptyBatchResult('origin', replicaRole), busy: true, caughtUp: false, durationMs: Date.now() - started };
  try {
    return await runLocked(source, target, opts, started, replicaRole);
  } finally {
    await releaseApplyLock(target, opts.slot).catch(() => undefined);
  }
}

async function runLocked(source: ClientBase, target: ClientBase, opts: ApplyBatchOptions, started: number, replicaRole: boolean): Promise<BatchResult> {
  const name = opts.progressName ?? opts.slot;
  const mode = await chooseProgressMode(target, name, opts.progress ?? 'auto');
  const progress = await Progress.open(target, name, mode);
  const counters = newCounters();
  const result = emptyBatchResult(mode, replicaRole);
  try {
    let applied = await progress.read();
    const pos = await slotPosition(source, opts.slot);
    if (applied !== undefined && compareLsn(pos.confirmedFlushLsn, applied) > 0) {
      throw new CdcApplyError(
        `replication slot "${opts.slot}" is at ${pos.confirmedFlushLsn}, past what the target applied (${applied}): changes in between were consumed without being applied. Restart this database's migration.`,
        'Divergence',
        false,
      );
    }
    const planner = new ReplayPlanner(opts.copy, opts.consistencyLsn);
    const ctx: WriterContext = {
      target,
      source,
      tables: new TargetTables(),
      statementRows: opts.statementRows ?? CDC_DEFAULTS.statementRows,
      diagnose: false,
      reorder: replicaRole,
      counters,
      ...(opts.beforeImage ? { beforeImage: true } : {}),
      ...(opts.hooks?.beforeStatement ? { beforeStatement: opts.hooks.beforeStatement } : {}),
    };
    const types = opts.types ?? new TypeCache();
    const r0 = Date.now();
    const memory = streamMemory(opts.memoryBytes);
    const reader = opts.openReplication
      ? await openStreamSource(source, opts.openReplication, opts, applied ?? pos.confirmedFlushLsn, types, memory)
      : await openSqlSource(source, opts, opts.maxRows ?? CDC_DEFAULTS.maxRows, types);
    result.readWaitMs += Date.now() - r0;
    await applyPages(reader, {
      ctx,
      progress,
      planner,
      applied,
      result,
      txnChanges: opts.txnChanges ?? CDC_DEFAULTS.txnChanges,
      hugeTxnChanges: opts.hugeTxnChanges ?? CDC_DEFAULTS.hugeTxnChanges,
      memory,
      hooks: opts.hooks,
    });
    const durable = await progress.flush();
    if (durable !== undefined) {
      result.appliedLsn = durable;
      applied = durable;
      // A stream already told the hook, before reporting the position as its last word.
      if (reader.kind === 'sql') await opts.hooks?.beforeAdvance?.(durable);
      await advanceSlot(source, opts.slot, durable);
    }
    result.pastConsistency = applied !== undefined && planner.isPastConsistency(applied);
  } finally {
    await progress.release();
  }
  Object.assign(result, {
    inserts: counters.inserts,
    updates: counters.updates,
    deletes: counters.deletes,
    truncates: counters.truncates,
    statements: counters.statements,
    sourceReads: counters.sourceReads,
    vanishedRows: counters.vanishedRows,
    changesApplied: counters.inserts + counters.updates + counters.deletes + counters.truncates,
    durationMs: Date.now() - started,
  });
  return result;
}
