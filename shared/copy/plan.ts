/**
 * The chunk planner: tables largest first; a table over the size threshold is cut into key
 * ranges of its integer key, or into heap page (ctid) ranges when it has no integer key.
 *
 * Every chunk is copied under its own snapshot (no snapshot is held for the whole copy), which
 * is only sound when each row lands in exactly one chunk whatever happens between the chunks'
 * snapshots:
 * - Cut by the replication key itself: a row's key decides its chunk; an update that changes the
 *   key yields two different keys, which CDC's key-based replay resolves.
 * - Cut by anything else (ctid pages, or an integer column that is not the replication key): an
 *   update can move a row from a chunk already read into one not yet read, and the same key
 *   would be copied twice. Such chunks copy only row versions whose inserting transaction was
 *   already visible in the plan's base snapshot (an xmin filter; its in-progress list names the
 *   running subtransactions too, snapshot.ts); versions created later are left to CDC, which
 *   replays everything after the slot's start. Two versions of one row can
 *   never both be visible in one snapshot, so no key is copied twice. The filter compares raw
 *   32-bit xmin values, exact only while the cluster's xid counter never wrapped: otherwise
 *   such tables are not split.
 * - Tables without any key are never split: the CDC applier needs a single snapshot for them.
 *
 * Small whole tables travel together (copyUnits): one activity copies a group of them under one
 * source snapshot, each still recorded as its own one-chunk table (copy-group.ts).
 */
import type { ClientBase } from 'pg';
import { quoteIdent, quoteQualified } from '../pg/ident';
import type { ChunkPlanItem, JsonValue } from '../store';
import { xminFilterUsable } from './snapshot';
import { parseCopyChunk, tableKeyOf, type ChunkRange, type CopyChunk, type CopyPlan, type Inventory, type SourceTable, type TablePlan } from './types';

export interface PlanSettings {
  /** Prefix of every chunk id; the same plan id must be used when a stored plan is resumed. */
  planId: string;
  /** Split tables whose estimated size exceeds this many bytes (default 1 GiB). */
  splitBytes?: number;
  /** Split tables whose estimated row count exceeds this (default 10 million). */
  splitRows?: number;
  /** Most chunks for one table (default 64). */
  maxChunksPerTable?: number;
  /** Allow ctid page ranges for keyed tables without an integer key (default true). */
  splitByCtid?: boolean;
}

export const DEFAULT_SPLIT_BYTES = 1024 ** 3;
export const DEFAULT_SPLIT_ROWS = 10_000_000;
export const DEFAULT_MAX_CHUNKS = 64;

/** What the planner needs to know about a table it wants to split (read by planTables). */
export interface SplitFacts {
  /** min/max of the chunk key (decimal strings), null on an empty table. */
  min: string | null;
  max: string | null;
  /** Exact main-fork pages now. */
  pages: number;
}

/** Chunks are never cut smaller than this to balance lanes. */
export const MIN_BALANCED_SPLIT_BYTES = 64 * 1024 ** 2;

/**
 * The split threshold for a database: at most `maxBytes`, and no more than an equal share of the
 * database for each of two passes of its copy lanes, so one large table does not leave the other
 * lanes idle while it copies alone (but never below 64 MiB: a chunk has a fixed cost).
 */
export function balancedSplitBytes(inventory: Pick<Inventory, 'tables'>, maxBytes: number, lanes: number): number {
  const total = inventory.tables.reduce((sum, t) => sum + t.estimatedBytes, 0);
  return Math.min(maxBytes, Math.max(MIN_BALANCED_SPLIT_BYTES, Math.ceil(total / (2 * lanes))));
}

/** Reads the facts for the split candidates, then plans. */
export async function planTables(client: ClientBase, inventory: Inventory, settings: PlanSettings): Promise<CopyPlan> {
  const facts = new Map<number, SplitFacts>();
  for (const t of inventory.tables) {
    if (wantedParts(t, settings) > 1 && t.hasKey) facts.set(t.oid, await splitFacts(client, t));
  }
  return buildPlan(inventory, facts, settings);
}

export async function splitFacts(client: ClientBase, t: SourceTable): Promise<SplitFacts> {
  const key = t.chunkKey ? quoteIdent(t.chunkKey.column) : 'NULL::int8';
  const { rows } = await client.query<{ min: string | null; max: string | null; pages: string }>(
    `SELECT (SELECT min(${key})::text FROM ONLY ${quoteQualified(t.schema, t.table)}) AS min,
            (SELECT max(${key})::text FROM ONLY ${quoteQualified(t.schema, t.table)}) AS max,
            pg_catalog.pg_relation_size($1::oid) / current_setting('block_size')::int8 AS pages`,
    [t.oid],
  );
  const r = rows[0];
  return { min: r?.min ?? null, max: r?.max ?? null, pages: Number(r?.pages ?? 0) };
}

function wantedParts(t: SourceTable, s: PlanSettings): number {
  const bytes = Math.ceil(t.estimatedBytes / (s.splitBytes ?? DEFAULT_SPLIT_BYTES));
  const rows = t.estimatedRows === null ? 1 : Math.ceil(t.estimatedRows / (s.splitRows ?? DEFAULT_SPLIT_ROWS));
  return Math.min(Math.max(bytes, rows, 1), s.maxChunksPerTable ?? DEFAULT_MAX_CHUNKS);
}

/** The plan (pure): `facts` holds the split facts of the tables worth splitting, by oid. */
export function buildPlan(inventory: Inventory, facts: ReadonlyMap<number, SplitFacts>, settings: PlanSettings): CopyPlan {
  const filterUsable = xminFilterUsable(inventory.base);
  const tables = [...inventory.tables]
    .sort((a, b) => b.estimatedBytes - a.estimatedBytes || a.schema.localeCompare(b.schema) || a.table.localeCompare(b.table))
    .map((t) => planTable(t, facts.get(t.oid), settings, filterUsable, inventory.base.snapshot));
  return { planId: settings.planId, sourceMajor: inventory.major, base: inventory.base, tables };
}

interface Cut {
  ranges: ChunkRange[];
  filtered: boolean;
  split: TablePlan['split'];
  note?: string;
}

function planTable(t: SourceTable, f: SplitFacts | undefined, s: PlanSettings, filterUsable: boolean, base: string): TablePlan {
  const cut = cutTable(t, f, wantedParts(t, s), s.splitByCtid ?? true, filterUsable);
  const columns = t.columns.filter((c) => !c.generated).map((c) => c.name);
  const binarySafe = t.columns.every((c) => c.generated || c.binarySafe);
  const n = cut.ranges.length;
  const chunks = cut.ranges.map(
    (range, chunkNo): CopyChunk => ({
      schema: t.schema,
      table: t.table,
      id: `${s.planId}:${tableKeyOf(t)}:${chunkNo}`,
      chunkNo,
      chunkCount: n,
      oid: t.oid,
      columns,
      binarySafe,
      range,
      ...(cut.filtered ? { baseSnapshot: base } : {}),
      ...(range.kind === 'ctid' ? { relfilenode: t.relfilenode } : {}),
      estimatedRows: Math.round((t.estimatedRows ?? 0) / n),
      estimatedBytes: Math.round(t.estimatedBytes / n),
    }),
  );
  return {
    schema: t.schema,
    table: t.table,
    columns,
    estimatedBytes: t.estimatedBytes,
    estimatedRows: t.estimatedRows,
    split: cut.split,
    ...(cut.note ? { note: cut.note } : {}),
    chunks,
  };
}

const WHOLE: Cut = { ranges: [{ kind: 'all' }], filtered: false, split: 'none' };

function cutTable(t: SourceTable, f: SplitFacts | undefined, parts: number, byCtid: boolean, filterUsable: boolean): Cut {
  if (parts <= 1) return WHOLE;
  if (!t.hasKey) return { ...WHOLE, note: 'no primary key, replica identity index or unique NOT NULL key: copied under one snapshot' };
  if (!f) return { ...WHOLE, note: 'split facts missing' };
  const key = t.chunkKey;
  if (key && (key.isReplicationKey || filterUsable)) {
    if (f.min === null || f.max === null) {
      return key.notNull ? { ...WHOLE, note: 'empty when planned' } : { ...WHOLE, note: 'no non-NULL key when planned' };
    }
    const ranges: ChunkRange[] = keyRanges(key.column, BigInt(f.min), BigInt(f.max), parts);
    if (!key.notNull) ranges.push({ kind: 'keyNull', column: key.column });
    return { ranges, filtered: !key.isReplicationKey, split: 'key', note: `${ranges.length} chunks by ${key.column}` };
  }
  if (!filterUsable) return { ...WHOLE, note: 'the source is a standby or its xid counter has wrapped: only tables with an integer replication key are split' };
  if (!byCtid) return { ...WHOLE, note: 'no integer key and ctid splitting is off' };
  const pages = Math.max(1, f.pages);
  const n = Math.min(parts, pages);
  if (n <= 1) return WHOLE;
  const ranges: ChunkRange[] = [];
  for (let i = 0; i < n; i++) {
    const fromPage = Math.floor((pages * i) / n);
    ranges.push({ kind: 'ctid', fromPage, toPage: i === n - 1 ? null : Math.floor((pages * (i + 1)) / n) });
  }
  return { ranges, filtered: true, split: 'ctid', note: `${n} chunks by heap pages` };
}

/** `parts` contiguous ranges over [min, max]; the first and last are open-ended. */
export function keyRanges(column: string, min: bigint, max: bigint, parts: number): ChunkRange[] {
  const span = max - min + 1n;
  const n = BigInt(Math.max(1, parts)) > span ? span : BigInt(Math.max(1, parts));
  const cuts: bigint[] = [];
  for (let i = 1n; i < n; i++) cuts.push(min + (span * i) / n);
  const ranges: ChunkRange[] = [];
  for (let i = 0; i <= cuts.length; i++) {
    const from = i === 0 ? null : String(cuts[i - 1]);
    const to = i === cuts.length ? null : String(cuts[i]);
    ranges.push({ kind: 'key', column, from, to });
  }
  return ranges;
}

/** Chunks of a plan in copy order (largest tables first, a table's chunks together). */
export function planChunks(plan: CopyPlan): CopyChunk[] {
  return plan.tables.flatMap((t) => t.chunks);
}

/** The plan as the store's chunk rows (shared/store/chunks.ts putChunkPlan); range = the whole chunk. */
export function chunkPlanItems(plan: CopyPlan): ChunkPlanItem[] {
  return planChunks(plan).map((c) => ({
    schema: c.schema,
    table: c.table,
    chunkNo: c.chunkNo,
    range: c as unknown as JsonValue,
    estimatedRows: c.estimatedRows,
    estimatedBytes: c.estimatedBytes,
  }));
}

/**
 * Stored chunk rows in copy order: tables by their chunks' summed size estimates, largest first
 * (ties by table key), a table's chunks in order. Every process sorts the rows it reads back the
 * same way, so a unit index (copyUnits) means the same chunks everywhere.
 */
export function storedPlanOrder<T extends ChunkPlanItem>(rows: readonly T[]): T[] {
  const tableBytes = new Map<string, number>();
  for (const r of rows) tableBytes.set(tableKeyOf(r), (tableBytes.get(tableKeyOf(r)) ?? 0) + (r.estimatedBytes ?? 0));
  return [...rows].sort((a, b) => {
    const [ta, tb] = [tableKeyOf(a), tableKeyOf(b)];
    const bytes = (tableBytes.get(tb) ?? 0) - (tableBytes.get(ta) ?? 0);
    if (bytes !== 0) return bytes;
    if (ta !== tb) return ta < tb ? -1 : 1;
    return a.chunkNo - b.chunkNo;
  });
}

/** A stored chunk row back to a chunk, validated. */
export function chunkOfPlanItem(item: Pick<ChunkPlanItem, 'range'>): CopyChunk {
  return parseCopyChunk(item.range);
}

/** Bounds of a group of small tables copied by one activity. */
export interface GroupLimits {
  /** Estimated bytes of a group (default 64 MiB); a table over a quarter of it travels alone. */
  bytes?: number;
  /** Tables in a group (default 200). */
  tables?: number;
  /** Small tables are spread over at least this many groups (default 4: the copy lanes) when there are enough. */
  spread?: number;
}

export const DEFAULT_GROUP_BYTES = 64 * 1024 ** 2;
export const DEFAULT_GROUP_TABLES = 200;
export const DEFAULT_GROUP_SPREAD = 4;

/** A chunk that may travel in a group: a whole table, copied in one chunk, small enough. */
export function groupable(c: CopyChunk, limits: GroupLimits = {}): boolean {
  return c.chunkCount === 1 && c.range.kind === 'all' && c.baseSnapshot === undefined && c.estimatedBytes <= (limits.bytes ?? DEFAULT_GROUP_BYTES) / 4;
}

/**
 * The copy units of a plan, as lists of chunk indexes in `chunks` (copy order): every chunk that
 * is not groupable is a unit of its own; runs of consecutive groupable chunks are packed into
 * groups bounded by estimated bytes and table count. Pure and deterministic: every process
 * derives the same units from the same stored plan, so a unit index means the same everywhere.
 */
export function copyUnits(chunks: readonly CopyChunk[], limits: GroupLimits = {}): number[][] {
  const maxBytes = limits.bytes ?? DEFAULT_GROUP_BYTES;
  const small = chunks.filter((c) => groupable(c, limits)).length;
  const maxTables = Math.max(1, Math.min(limits.tables ?? DEFAULT_GROUP_TABLES, Math.ceil(small / (limits.spread ?? DEFAULT_GROUP_SPREAD))));
  const units: number[][] = [];
  let group: number[] = [];
  let bytes = 0;
  const close = () => {
    if (group.length > 0) units.push(group);
    group = [];
    bytes = 0;
  };
  chunks.forEach((c, i) => {
    if (!groupable(c, limits)) {
      close();
      units.push([i]);
      return;
    }
    if (group.length >= maxTables || (group.length > 0 && bytes + c.estimatedBytes > maxBytes)) close();
    group.push(i);
    bytes += c.estimatedBytes;
  });
  close();
  return units;
}
