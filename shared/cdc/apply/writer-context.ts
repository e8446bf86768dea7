/**
 * What the transaction writer and its callers share: the change as planned (with its replay
 * mode), the counters, and the context of one apply call. Kept apart from the writer so the
 * group writer and the apply loop import types, not each other.
 */
import type { ClientBase } from 'pg';
import type { DeleteChange, InsertChange, UpdateChange } from '../change';
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
