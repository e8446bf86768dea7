/**
 * What one apply batch takes and what it reports: the types every stage of the applier shares
 * (the loop, the group writer, the page sources), kept apart from them so none imports another
 * for its types.
 */
import type { Client } from 'pg';
import type { ProgressMode } from '../progress';
import type { Plugin } from '../slot';
import type { TypeCache } from '../types';
import type { CopySnapshotMap } from './visibility';
import type { ApplyConflict } from './writer-context';

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
  /** Peek bound (upto_nchanges): rows per call; a stream's change budget. Default CDC_DEFAULTS.maxRows. */
  maxRows?: number;
  /** Source changes per target transaction. Default CDC_DEFAULTS.txnChanges. */
  txnChanges?: number;
  /** Rows per multi-row statement. Default CDC_DEFAULTS.statementRows. */
  statementRows?: number;
  /** Only transactions committing before this LSN (cutover). */
  uptoLsn?: string;
  /** Progress record: 'auto' (default) picks origins when the login may use them. */
  progress?: ProgressMode | 'auto';
  /** Name of the origin / bookkeeping row; defaults to the slot name. */
  progressName?: string;
  /** Reuse type names across calls (one cache per source database). */
  types?: TypeCache;
  /**
   * Opens a walsender connection to the same database (connect(endpoint, { replication: true })):
   * when given, the batch reads through the streaming protocol (read-stream.ts) instead of the
   * SQL peek functions, bounded by maxRows (as changes) and maxMs. The batch closes the
   * connection: a walsender serves one START_REPLICATION per connection.
   */
  openReplication?: () => Promise<Client>;
  /**
   * Streams only: a source transaction that reaches this many changes before its commit is
   * written in parts inside one target transaction instead of being held in memory whole
   * (default CDC_DEFAULTS.hugeTxnChanges). The SQL path holds a transaction whole (see read-sql.ts).
   */
  hugeTxnChanges?: number;
  /**
   * Streams only: bytes of changes the batch holds at most (buffered, grouped, being written),
   * so a few huge rows cannot exhaust memory (default CDC_DEFAULTS.streamMemoryBytes). Whole
   * transactions stay exactly-once: a large one is written in parts inside one target transaction.
   */
  memoryBytes?: number;
  /** Time box of a streamed batch (default CDC_DEFAULTS.streamMaxMs). */
  maxMs?: number;
  /**
   * Before-image mode (apply/guarded.ts), for the reverse stream of a fallback window: the old image
   * of every update and delete must match the row it meets, an insert must find its key free; a
   * change that does not fit is a conflict (BatchResult.conflicts), never applied over the row.
   */
  beforeImage?: boolean;
  hooks?: ApplyHooks;
}

export interface BatchResult {
  /** Another applier of this slot is working right now (a twice-delivered activity): nothing was read or applied. */
  busy?: boolean;
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
  /** Before-image mode: changes not applied because the row they met did not fit (committed transactions only). */
  conflicts: ApplyConflict[];
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

/** A result with nothing counted yet. */
export function emptyBatchResult(progressMode: ProgressMode, replicaRole: boolean): BatchResult {
  return {
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
    conflicts: [],
    caughtUp: false,
    pastConsistency: false,
    progressMode,
    replicaRole,
    durationMs: 0,
    readWaitMs: 0,
    writeMs: 0,
  };
}
