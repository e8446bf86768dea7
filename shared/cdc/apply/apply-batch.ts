/**
 * "Apply one batch": one short, restartable unit of work for the CDC orchestration.
 *
 *   read progress on the target (replication origin or bookkeeping row: the last applied commit)
 *   peek up to maxRows rows of whole transactions from the slot (read-sql.ts), page by page
 *   skip transactions already applied (commit LSN ≤ progress)
 *   group whole transactions into target transactions of ~txnChanges changes; each one
 *     BEGIN → write the changes (apply-run.ts) → record its last commit LSN → COMMIT
 *     (synchronous_commit = off: cheap commits; the durability point is below)
 *   flush: make the target's progress durable and read it back
 *   advance the slot to that durable LSN — never before the target committed it
 *
 * A crash anywhere commits nothing half-way: a target transaction is all or nothing together with
 * its recorded LSN, and the slot only moves past what the target durably holds, so the next run
 * re-reads from the slot and skips by the recorded LSN. Source and target work overlap: the next
 * page is fetched from the source while the current group is written to the target.
 *
 * Replay semantics per (table, transaction) come from visibility.ts (skip / idempotent / exact).
 * When a group fails with a non-retryable error or an exact statement touches fewer rows than it
 * should, the group is rolled back and re-run one change per statement (then rolled back again)
 * so the error names the exact change, table and key.
 */
import type { Client, ClientBase } from 'pg';
import { sqlstateOf } from '../../pg/retryable';
import { applyGroup, applyHuge } from './group';
import { newCounters, type WriterContext } from './writer';
import { openPeek, openStream, settle } from './page-source';
import type { SourceTransaction } from '../change';
import { CdcApplyError, classifyApplyError } from '../errors';
import { compareLsn } from '../lsn';
import { Progress, chooseProgressMode, type ProgressMode } from '../progress';
import { advanceSlot, slotPosition } from '../read/read-sql';
import { prepareSourceSession, prepareTargetFormats } from '../session';
import type { Plugin } from '../slot';
import { TargetTables } from './target-tables';
import { TypeCache } from '../types';
import { ReplayPlanner, type CopySnapshotMap } from './visibility';

export interface ApplyHooks {
  /** Before every write statement on the target (tests inject faults here). */
  beforeStatement?: () => void | Promise<void>;
  /** Before each target COMMIT. */
  beforeCommit?: () => void | Promise<void>;
  /** After the target durably holds everything up to `lsn`, before the slot moves. */
  beforeAdvance?: (lsn: string) => void | Promise<void>;
}

export interface ApplyBatchOptions {
  slot: string;
  plugin: Plugin;
  /** pgoutput publication; defaults to the slot name. */
  publication?: string;
  /** What the copy recorded per table (visibility.ts); absent: everything is exact. */
  copy?: CopySnapshotMap;
  /** Overrides the consistency point (default: highest endLsn of `copy`). */
  consistencyLsn?: string;
  /** Peek bound (upto_nchanges): rows per call. Default 200,000. */
  maxRows?: number;
  /** Source changes per target transaction. Default 20,000. */
  txnChanges?: number;
  /** Rows per multi-row statement. Default 5,000. */
  statementRows?: number;
  /** Only transactions committing before this LSN (cutover). */
  uptoLsn?: string;
  /** Progress record: 'auto' (default) picks origins when the login may use them. */
  progress?: ProgressMode | 'auto';
  /** Name of the origin / bookkeeping row; defaults to the slot name. */
  progressName?: string;
  /** Reuse type names across calls (one cache per source database). */
  types?: TypeCache;
  /** Keep the slot where it is (tests that replay the same changes twice). */
  noAdvance?: boolean;
  /**
   * Opens a walsender connection to the same database (connect(endpoint, { replication: true })):
   * when given, the batch reads through the streaming protocol (read-stream.ts) instead of the
   * SQL peek functions, bounded by maxRows (as changes) and maxMs. The batch closes the
   * connection: a walsender serves one START_REPLICATION per connection.
   */
  openReplication?: () => Promise<Client>;
  /**
   * Streams only: a source transaction that reaches this many changes before its commit is
   * written in parts of this size inside one target transaction instead of being held in memory
   * whole (default 100,000). The SQL path holds a transaction whole (see read-sql.ts).
   */
  hugeTxnChanges?: number;
  /** Time box of a streamed batch (default 10 s). */
  maxMs?: number;
  hooks?: ApplyHooks;
}

export interface BatchResult {
  /** Source transactions applied (committed on the target) in this call. */
  transactions: number;
  /** Source transactions read but already applied earlier (a restart re-reading them). */
  alreadyApplied: number;
  inserts: number;
  updates: number;
  deletes: number;
  truncates: number;
  /** Changes skipped because the copy already contained them (visible in its snapshot). */
  skippedChanges: number;
  /** Changes replayed with idempotent, key-based semantics (before the consistency point). */
  idempotentChanges: number;
  /** Changes decoded from the slot in this call (incoming). */
  changesRead: number;
  /** Changes written to the target in this call (applied). */
  changesApplied: number;
  /** Target transactions committed. */
  targetTransactions: number;
  /** Source transactions written in parts (stream, hugeTxnChanges). */
  hugeTransactions: number;
  statements: number;
  sourceReads: number;
  vanishedRows: number;
  /** Commit LSN and time of the last source transaction applied in this call. */
  lastCommitLsn?: string;
  lastCommitTime?: string;
  /** Durable progress on the target after the call (where the slot now is). */
  appliedLsn?: string;
  /** The peek returned fewer rows than asked: nothing more was pending when it ran. */
  caughtUp: boolean;
  /** Replay is exact from here on (the last applied commit is past the consistency point). */
  pastConsistency: boolean;
  progressMode: ProgressMode;
  /** Whether target writes ran with session_replication_role = replica. */
  replicaRole: boolean;
  durationMs: number;
  /** Time spent waiting for the source (decoding, transfer, parsing) vs writing the target. */
  readWaitMs: number;
  writeMs: number;
}

/** Settings of the apply session; returns whether replica mode (no triggers, no FK checks) is on. */
export async function prepareApplySession(target: ClientBase): Promise<boolean> {
  await prepareTargetFormats(target);
  // Qualified names everywhere: format_type() qualifies every non-catalog type, and user search
  // paths cannot redirect a statement.
  await target.query(`SET search_path = pg_catalog; SET synchronous_commit = off`);
  try {
    await target.query(`SET session_replication_role = replica`);
    return true;
  } catch (err) {
    if (sqlstateOf(err) !== '42501') throw err;
    return false;
  }
}

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
  const name = opts.progressName ?? opts.slot;
  const mode = await chooseProgressMode(target, name, opts.progress ?? 'auto');
  const progress = await Progress.open(target, name, mode);
  const counters = newCounters();
  const result: BatchResult = {
    transactions: 0,
    alreadyApplied: 0,
    inserts: 0,
    updates: 0,
    deletes: 0,
    truncates: 0,
    skippedChanges: 0,
    idempotentChanges: 0,
    changesRead: 0,
    changesApplied: 0,
    targetTransactions: 0,
    hugeTransactions: 0,
    statements: 0,
    sourceReads: 0,
    vanishedRows: 0,
    caughtUp: false,
    pastConsistency: false,
    progressMode: mode,
    replicaRole,
    durationMs: 0,
    readWaitMs: 0,
    writeMs: 0,
  };
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
    const tables = new TargetTables();
    const ctx: WriterContext = {
      target,
      source,
      tables,
      statementRows: opts.statementRows ?? 5000,
      diagnose: false,
      reorder: replicaRole,
      counters,
      ...(opts.hooks?.beforeStatement ? { beforeStatement: opts.hooks.beforeStatement } : {}),
    };
    const maxRows = opts.maxRows ?? 200_000;
    const txnChanges = opts.txnChanges ?? 20_000;
    const hugeTxnChanges = opts.hugeTxnChanges ?? 100_000;
    const types = opts.types ?? new TypeCache();
    const r0 = Date.now();
    const reader = opts.openReplication
      ? await openStream(source, opts.openReplication, opts, applied ?? pos.confirmedFlushLsn, types)
      : await openPeek(source, opts, maxRows, types);
    result.readWaitMs += Date.now() - r0;
    let closed = false;
    let inflight: Promise<void> | undefined;
    try {
      let group: SourceTransaction[] = [];
      let groupChanges = 0;
      let lastConfirm = Date.now();
      // Groups are written one after the other, but the next one is decoded while the current one
      // is written (the target works while this process decodes); at most one waits its turn.
      const write = async (txns: SourceTransaction[]) => {
        const w0 = Date.now();
        await applyGroup(ctx, progress, planner, txns, result, opts.hooks);
        result.writeMs += Date.now() - w0;
        // A long stream reports durable progress now and then, so the slot (and lag) move on.
        if (reader.confirm && Date.now() - lastConfirm > 2000) {
          lastConfirm = Date.now();
          const durable = await progress.flush();
          if (durable !== undefined) {
            await opts.hooks?.beforeAdvance?.(durable);
            reader.confirm(durable);
          }
        }
      };
      const flushGroup = async () => {
        if (group.length === 0) return;
        const txns = group;
        group = [];
        groupChanges = 0;
        const prev = inflight;
        const run = prev ? prev.then(() => write(txns)) : write(txns);
        run.catch(() => undefined);
        inflight = run;
        if (prev) await prev;
      };
      const accept = async (txns: SourceTransaction[]) => {
        for (const t of txns) {
          result.changesRead += t.changes.length;
          if (applied !== undefined && compareLsn(t.commitLsn, applied) <= 0) {
            result.alreadyApplied++;
            continue;
          }
          group.push(t);
          groupChanges += t.changes.length;
          if (groupChanges >= txnChanges) await flushGroup();
        }
      };
      // The SQL reader fetches its next page while this one is handled; a stream decodes on demand.
      let next = reader.confirm ? undefined : settle(reader.next());
      for (;;) {
        const r1 = Date.now();
        const page = next ? await next : await settle(reader.next());
        result.readWaitMs += Date.now() - r1;
        if (page.error !== undefined) throw page.error;
        const txns = page.value;
        if (txns === undefined) break;
        if (next) next = settle(reader.next());
        await accept(txns);
        // A huge transaction is not held whole: it is written in parts inside one target transaction.
        const open = reader.openTransaction?.();
        if (open && open.changes.length >= hugeTxnChanges) {
          await flushGroup();
          if (inflight) await inflight;
          inflight = undefined;
          await accept(await applyHuge(ctx, progress, planner, reader, open, result, opts.hooks));
        }
        // A stream delivers as the server decodes: when little is buffered, write what we have
        // rather than wait for more (the next messages arrive meanwhile).
        if (reader.queued !== undefined && groupChanges > 0 && reader.queued() < 2000) await flushGroup();
      }
      await flushGroup();
      if (inflight) await inflight;
      result.caughtUp = reader.caughtUp();
      if (reader.confirm) {
        // End the stream with the durable position as its last word (persisted below through SQL).
        const durable = await progress.flush();
        if (durable !== undefined) await opts.hooks?.beforeAdvance?.(durable);
        await reader.close(durable);
      } else {
        await reader.close();
      }
      closed = true;
    } finally {
      // Never leave a group writing on the target behind an error.
      if (inflight) await inflight.catch(() => undefined);
      if (!closed) await reader.close().catch(() => undefined);
    }
    const durable = await progress.flush();
    if (durable !== undefined) {
      result.appliedLsn = durable;
      applied = durable;
      if (!opts.openReplication) await opts.hooks?.beforeAdvance?.(durable);
      if (!opts.noAdvance) await advanceSlot(source, opts.slot, durable);
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
