/**
 * What the transaction writer and its callers share: the change as planned (with its replay
 * mode), the counters, and the context of one apply call. Kept apart from the writer so the
 * group writer and the apply loop import types, not each other.
 */
import type { ClientBase } from 'pg';
import type { DeleteChange, InsertChange, RelationRef, UpdateChange } from '../change';
import type { TargetTables } from './target-tables';

export type RowChange = InsertChange | UpdateChange | DeleteChange;

export interface PlannedOp {
  change: RowChange;
  mode: 'idempotent' | 'exact';
  xid: string;
  commitLsn: string;
}

export interface ApplyCounters {
  inserts: number;
  updates: number;
  deletes: number;
  truncates: number;
  statements: number;
  /** Rows read from the source by key (unchanged TOAST of absent rows, wal2json's ambiguous nulls). */
  sourceReads: number;
  /** Idempotent updates whose row existed nowhere (deleted on the source since): skipped. */
  vanishedRows: number;
}

export function newCounters(): ApplyCounters {
  return { inserts: 0, updates: 0, deletes: 0, truncates: 0, statements: 0, sourceReads: 0, vanishedRows: 0 };
}

/**
 * A change that did not fit the row it meets (before-image mode, guarded.ts): not applied, reported.
 * Insert: a row with its key exists. Update or delete: no row equals the change's old image.
 */
export interface ApplyConflict {
  kind: RowChange['kind'];
  table: RelationRef;
  /** "col=value, …" of the row's key (its first columns when the table has none). */
  key: string;
  reason: string;
  xid: string;
  commitLsn: string;
}

export interface WriterContext {
  target: ClientBase;
  /** For by-key reads of current values. */
  source: ClientBase;
  tables: TargetTables;
  /** Rows per multi-row statement. */
  statementRows: number;
  /** One statement per change, in source order (to name a failing change). */
  diagnose: boolean;
  /** Queue per table and write table by table (needs session_replication_role = replica). */
  reorder: boolean;
  counters: ApplyCounters;
  /**
   * Before-image mode (guarded.ts): every change checked against the row it meets, one statement
   * each; a change that does not fit is a conflict, reported and not applied.
   */
  beforeImage?: boolean;
  /** Fault injection (tests): called before every statement. */
  beforeStatement?: () => void | Promise<void>;
}

/** A multi-row statement affected fewer rows than it should: re-run in diagnose mode to name the change. */
export class NeedsDiagnosis extends Error {
  constructor(what: string) {
    super(`row count mismatch in ${what}`);
    this.name = 'NeedsDiagnosis';
  }
}
