/** One row of pg_logical_slot_peek_(binary_)changes, as both decoders take it. */
export interface PeekRow {
  /** The row's lsn column: for a commit it is the transaction's end_lsn. */
  lsn: string;
  /** The row's xid column (32-bit, decimal); null for messages outside a transaction. */
  xid: string | null;
  /** wal2json: a JSON text; pgoutput: one binary protocol message. */
  data: string | Buffer;
}

/** Built-in type OIDs the decoders special-case. */
export const OID = {
  bytea: 17,
  float4: 700,
  float8: 701,
  numeric: 1700,
} as const;

/** OIDs below this are built into every server (FirstNormalObjectId). */
export const FIRST_NORMAL_OID = 16384;

/** Decoders report types by OID; resolved names come from the source (types.ts) or a fixture. */
export interface TypeNames {
  get(oid: number): string | undefined;
}
