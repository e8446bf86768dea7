/**
 * The copy plan as plain data: what the inventory finds, what the planner decides, and what one
 * chunk copy needs. Everything here is JSON-able so the orchestrator can store the plan (Table
 * Storage) and a resumed copy continues exactly the same chunks. Chunks coming back from storage
 * are checked by `copyChunkSchema` (zod at the edge) before they drive any SQL.
 */
import { z } from 'zod';
import { quoteQualified } from '../pg/ident';

export interface TableRef {
  schema: string;
  table: string;
}

/** A source column, in attnum order (dropped columns left out). */
export interface ColumnInfo {
  name: string;
  /** format_type() spelling, e.g. "numeric(12,2)", "public.mood[]". */
  type: string;
  /** Stored generated column: left out of COPY, the target computes it. */
  generated: boolean;
  /** Identity column kind; COPY writes identity values as they are (no OVERRIDING needed). */
  identity: 'always' | 'by default' | null;
  notNull: boolean;
  /** The type travels in binary COPY between servers of the same major (see tables.ts). */
  binarySafe: boolean;
}

/** An integer column that can cut a table into key ranges. */
export interface ChunkKey {
  column: string;
  type: 'smallint' | 'integer' | 'bigint';
  notNull: boolean;
  /** The column is the whole replication key (primary key or replica identity index). */
  isReplicationKey: boolean;
}

/** A table to copy: an ordinary table or a leaf partition (partitioned parents hold no rows). */
export interface SourceTable extends TableRef {
  /** Source pg_class oid. */
  oid: number;
  /** Main-fork file node: a change means the table was rewritten (VACUUM FULL, CLUSTER …). */
  relfilenode: number;
  kind: 'table' | 'partition';
  /** Immediate parent of a partition, qualified and quoted. */
  partitionOf: string | null;
  unlogged: boolean;
  columns: ColumnInfo[];
  /** Replica identity as the source decodes it. */
  replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  /** Columns of the primary key, else of the replica identity index, else of a unique NOT NULL index. */
  replicationKey: string[] | null;
  /** Whether CDC can address rows by key (primary key, replica identity index or unique NOT NULL index). */
  hasKey: boolean;
  /** Best integer column to split by, or null. */
  chunkKey: ChunkKey | null;
  /** Heap + TOAST bytes, from relpages (pg_relation_size only where relpages is 0). */
  estimatedBytes: number;
  /** Main-fork pages (the ctid space). */
  pages: number;
  /** reltuples, or null when the table was never analysed. */
  estimatedRows: number | null;
}

/**
 * A source snapshot taken when the inventory was read. Chunks that cut a table by something
 * other than its replication key copy only rows that were already visible in it, so two chunks
 * taken at different times can never both hold a version of the same row (see plan.ts).
 */
export interface BaseSnapshot {
  /**
   * pg_current_snapshot()::text (txid_current_snapshot before PostgreSQL 13), its in-progress
   * list completed with the subtransactions of the transactions in it (snapshot.ts).
   */
  snapshot: string;
  /** Source WAL position (insert position) read right after the snapshot. */
  lsn: string;
  /** The 64-bit next-xid of the snapshot (its xmax), decimal. */
  xmax: string;
  /** The source is a standby: its lock table does not show the primary's subtransactions. */
  standby?: boolean;
}

export interface Inventory {
  serverVersionNum: number;
  major: number;
  /** server_encoding of the source database. */
  encoding: string;
  base: BaseSnapshot;
  /** Largest first. */
  tables: SourceTable[];
  largeObjects: { count: number };
}

/** Which rows of a table a chunk holds. Bounds are decimal strings (bigint range). */
export type ChunkRange =
  | { kind: 'all' }
  /** `from <= key < to`; null = unbounded on that side (rows outside the planned min/max are not lost). */
  | { kind: 'key'; column: string; from: string | null; to: string | null }
  /** The rows whose (nullable unique) key is NULL. */
  | { kind: 'keyNull'; column: string }
  /** Heap pages `[fromPage, toPage)`; null = to the end (the table may have grown). */
  | { kind: 'ctid'; fromPage: number; toPage: number | null };

/** Everything one chunk copy needs; self-contained so an activity can run it from storage. */
export interface CopyChunk extends TableRef {
  /** Stable id: `${planId}:${tableKeyOf(table)}:${chunkNo}`; the done-mark's key on the target. */
  id: string;
  chunkNo: number;
  /** Chunks of this table; 1 means TRUNCATE + COPY FREEZE in one target transaction. */
  chunkCount: number;
  /** Source pg_class oid (for the rewrite guard of ctid chunks). */
  oid: number;
  /** Columns copied, in order (generated columns left out). */
  columns: string[];
  /** Every copied column travels in binary COPY when the majors are equal. */
  binarySafe: boolean;
  range: ChunkRange;
  /**
   * When set, only row versions whose inserting transaction is visible in this snapshot are
   * copied (xmin filter); the chunk then reports it as its snapshot.
   */
  baseSnapshot?: string;
  /** ctid chunks: the source file node seen at planning; a rewrite since then fails the chunk. */
  relfilenode?: number;
  estimatedRows: number;
  estimatedBytes: number;
}

export interface TablePlan extends TableRef {
  columns: string[];
  estimatedBytes: number;
  estimatedRows: number | null;
  split: 'none' | 'key' | 'ctid';
  /** Why a large table was not split, or how it was. */
  note?: string;
  chunks: CopyChunk[];
}

export interface CopyPlan {
  planId: string;
  sourceMajor: number;
  base: BaseSnapshot;
  /** Largest first; chunks of a table are consecutive. */
  tables: TablePlan[];
}

/** What one chunk copy reports; the CDC engine reads snapshot + endLsn (max endLsn = consistency point). */
export interface ChunkResult {
  chunkId: string;
  /** Rows the target COPY loaded. */
  rows: number;
  /** COPY data bytes streamed. */
  bytes: number;
  /**
   * Snapshot the chunk's rows are consistent with (pg_snapshot text): the effects of every
   * transaction visible in it are in the chunk; replaying those again is redundant, replaying
   * the others is required. For a chunk with baseSnapshot this is the base snapshot (rows of
   * later transactions were left out on purpose); deletions committed before the chunk's own
   * snapshot may already be reflected, which key-based, idempotent replay tolerates.
   */
  snapshot: string;
  /** Source WAL position read right after the snapshot, `X/Y`. */
  endLsn: string;
  seconds: number;
  /** The chunk was already done (its mark existed on the target); nothing was copied this time. */
  skipped?: boolean;
  /** Format used: binary or text. */
  format?: 'binary' | 'text';
  /** Loaded with TRUNCATE + COPY FREEZE. */
  frozen?: boolean;
}

const ident = z.string().min(1).max(63);
const decimal = z.string().regex(/^-?\d{1,20}$/);
const snapshotText = z.string().regex(/^\d+:\d+:(\d+(,\d+)*)?$/);

export const chunkRangeSchema: z.ZodType<ChunkRange> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('all') }).strict(),
  z.object({ kind: z.literal('key'), column: ident, from: decimal.nullable(), to: decimal.nullable() }).strict(),
  z.object({ kind: z.literal('keyNull'), column: ident }).strict(),
  z.object({ kind: z.literal('ctid'), fromPage: z.number().int().min(0), toPage: z.number().int().min(1).nullable() }).strict(),
]);

export const copyChunkSchema: z.ZodType<CopyChunk> = z
  .object({
    schema: ident,
    table: ident,
    id: z.string().min(1).max(400),
    chunkNo: z.number().int().min(0),
    chunkCount: z.number().int().min(1),
    oid: z.number().int().min(1),
    columns: z.array(ident),
    binarySafe: z.boolean(),
    range: chunkRangeSchema,
    baseSnapshot: snapshotText.optional(),
    relfilenode: z.number().int().min(0).optional(),
    estimatedRows: z.number().min(0),
    estimatedBytes: z.number().min(0),
  })
  .strict();

/** Validates a chunk read back from storage (or any untrusted JSON). */
export function parseCopyChunk(value: unknown): CopyChunk {
  return copyChunkSchema.parse(value);
}

/** `schema.table` for messages (ambiguous when a name holds a dot: never use it as a key). */
export function qualifiedName(t: TableRef): string {
  return `${t.schema}.${t.table}`;
}

/**
 * A table's key in maps, ids and activity inputs: both parts quoted, so "a.b"."c" and "a"."b.c"
 * (which print alike as a.b.c) never share one.
 */
export function tableKeyOf(t: TableRef): string {
  return quoteQualified(t.schema, t.table);
}
