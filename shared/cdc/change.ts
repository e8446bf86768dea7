/**
 * The one normalised change record every decoder produces and the applier consumes; the applier
 * knows nothing of plugins (DESIGN.md "Decoders"). Values are kept as PostgreSQL's text
 * representation — never a JS number — so bigint, numeric and float8 keep full precision.
 */

export interface RelationRef {
  schema: string;
  table: string;
}

export interface ColumnValue {
  name: string;
  /** format_type() spelling, e.g. "numeric(12,2)", "timestamp with time zone", "public.mood". */
  type: string;
  /** Text representation as the server would output it; null for SQL NULL. */
  value: string | null;
  /** pg_type OID on the source, when the decoder knows it (both do); resolves `type`. */
  typeOid?: number;
  /**
   * Set on an old-row value (value null) that wal2json printed as JSON null for a float4, float8
   * or numeric column: it was NULL, NaN, Infinity or -Infinity, and wal2json (before 2.6) prints
   * them alike. The applier matches it against exactly those four (apply-sql.ts).
   */
  nullOrSpecial?: true;
}

export interface InsertChange {
  kind: 'insert';
  relation: RelationRef;
  newRow: ColumnValue[];
  /**
   * Columns whose value the decoder could not know and left out of newRow: wal2json prints
   * NaN/±Infinity of float4/float8/numeric as JSON null. The applier reads them from the source.
   */
  unresolved?: string[];
}

export interface UpdateChange {
  kind: 'update';
  relation: RelationRef;
  /** Replica-identity columns of the old row (all columns for REPLICA IDENTITY FULL). */
  oldKey: ColumnValue[];
  /** New row; columns whose TOAST value did not change are absent and named in unchangedToast. */
  newRow: ColumnValue[];
  unchangedToast: string[];
  /** As InsertChange.unresolved: absent from newRow, value to be read from the source. */
  unresolved?: string[];
}

export interface DeleteChange {
  kind: 'delete';
  relation: RelationRef;
  oldKey: ColumnValue[];
}

export interface TruncateChange {
  kind: 'truncate';
  relations: RelationRef[];
  cascade: boolean;
  restartIdentity: boolean;
}

export type Change = InsertChange | UpdateChange | DeleteChange | TruncateChange;

/** One committed source transaction, in commit order. */
export interface SourceTransaction {
  /** Top-level transaction id (32-bit, as decoding reports it), as a decimal string. */
  xid: string;
  /**
   * LSN just past the commit record ("X/Y"; the txn's end_lsn), the position the slot's
   * confirmed_flush_lsn, pg_replication_slot_advance() and the target's replication origin count in.
   */
  commitLsn: string;
  /** Source commit time, ISO-8601 with offset. */
  commitTime: string;
  changes: Change[];
  /**
   * Stream only: bytes of the messages its changes were decoded from (what it holds in memory,
   * roughly). A huge transaction counts only the part not yet handed over.
   */
  bytes?: number;
}
