/**
 * Copy-chunk plan and progress of one database: one row per chunk (a table, or a slice of a
 * large one), in the partition of its copy unit, keyOf(server, migration, database, unit), so a
 * unit's rows are read by one partition query and moved together in entity-group transactions,
 * and no partition grows with the table count (Azure serves about 2,000 entities a second per
 * partition; Azurite scans a partition for every point read). A header row in the database's
 * partition keyOf(server, migration, database), written after every chunk row, marks the plan
 * complete: a plan without its header (a crash mid-write) is invisible and gets replaced. Plans
 * stored before units existed keep their rows in the database's partition (no unit).
 *
 * A chunk goes queued → loading → done | errored; errored → loading and loading → loading are
 * retries. The authoritative "done" mark commits on the target with the COPY (DESIGN.md, exactly
 * once); this row is the progress users see and the work list of the copy fan-out.
 */

import { odata, type TransactionAction } from '@azure/data-tables';

import { checkEntity, clipText, dateTime, EntityReader, int64, putJson, type EntityProps, type JsonValue } from './entity-codec';
import { CorruptEntityError, InvalidTransitionError } from './errors';
import { keyOf, keyRange, padNumber } from './keys';
import { insertRow, listRows, readModifyWrite, readRow, replaceRowIfMatch, submitInBatches, type RawEntity, type Row, type UpdateOptions, type Versioned } from './table-ops';
import type { MigrationRef } from './migrations';
import type { StoreContext } from './tables';

export const CHUNK_STATES = ['queued', 'loading', 'done', 'errored'] as const;
export type ChunkState = (typeof CHUNK_STATES)[number];

/** Identifies a chunk within its database. */
export interface ChunkId {
  /** Schema of the table. */
  schema: string;
  /** Table name. */
  table: string;
  /** Position of the chunk within its table, from 0. */
  chunkNo: number;
  /**
   * The copy unit (plan.ts copyUnits) the chunk belongs to: its row lives in the unit's
   * partition. Undefined only for plans stored before units (the database's partition).
   */
  unit?: number;
}

/** A chunk as the planner produces it. */
export interface ChunkPlanItem extends ChunkId {
  /** Rows the chunk covers, opaque here (the planner's ctid or key range); null = whole table. */
  range: JsonValue;
  /** Planner's row estimate. */
  estimatedRows?: number;
  /** Planner's size estimate in bytes. */
  estimatedBytes?: number;
}

export interface ChunkRecord extends ChunkPlanItem {
  /** Progress state. */
  state: ChunkState;
  /** How many times the chunk went to loading. */
  attempts: number;
  /** When the latest attempt started. */
  startedAt?: string;
  /** When the chunk reached done or errored. */
  endedAt?: string;
  /** Rows copied (done). */
  rows?: number;
  /** Bytes copied (done). */
  bytes?: number;
  /** Source WAL position when the chunk's snapshot ended (done), `X/Y`. */
  endLsn?: string;
  /** Why the latest attempt failed (errored); informational, truncated. */
  error?: string;
}

/** A state change; `at` defaults to now. */
export type ChunkUpdate =
  | { state: 'loading'; at?: string }
  | { state: 'done'; rows: number; bytes: number; endLsn: string; at?: string }
  | { state: 'errored'; error: string; at?: string };

/** Entity format version, persisted as `format`, so a later format can read these rows. */
const FORMAT = 1;

/** Header row key; chunk keys always contain a separator, so never collide with it. */
const PLAN_ROW = '~plan';

const TRANSITIONS: Record<ChunkState, readonly ChunkState[]> = {
  queued: ['loading', 'errored'],
  loading: ['loading', 'done', 'errored'],
  errored: ['loading'],
  done: [],
};

/** The partition of a unit's chunk rows; without a unit, the database's (header, plans without units). */
export function partitionOf(ref: MigrationRef, db: string, unit?: number): string {
  return unit === undefined ? keyOf(ref.server, ref.name, db) : keyOf(ref.server, ref.name, db, padNumber(unit));
}

/** Every row of a database's plan: the header's partition and each unit's. */
function planFilter(ref: MigrationRef, db: string): string {
  const units = keyRange(ref.server, ref.name, db);
  return odata`(PartitionKey eq ${partitionOf(ref, db)} or (PartitionKey ge ${units.from} and PartitionKey lt ${units.to}))`;
}

export function rowKeyOf(id: ChunkId): string {
  return keyOf(id.schema, id.table, padNumber(id.chunkNo));
}

export function describe(ref: MigrationRef, db: string, id?: ChunkId): string {
  const chunk = id ? `chunk ${id.chunkNo} of ${JSON.stringify(id.schema)}.${JSON.stringify(id.table)} in ` : 'chunk plan of ';
  return `${chunk}database ${JSON.stringify(db)} of migration ${ref.server}/${ref.name}`;
}

export function toRow(ref: MigrationRef, db: string, c: ChunkRecord): Row {
  const what = describe(ref, db, c);
  const p: EntityProps = { format: FORMAT, schema: c.schema, table: c.table, chunkNo: c.chunkNo, state: c.state, attempts: c.attempts };
  if (c.unit !== undefined) p.unit = c.unit;
  putJson(p, 'range', c.range, what);
  const counts = { estimatedRows: c.estimatedRows, estimatedBytes: c.estimatedBytes, rows: c.rows, bytes: c.bytes };
  for (const [k, v] of Object.entries(counts)) if (v !== undefined) p[k] = int64(v, `${what} ${k}`);
  if (c.startedAt !== undefined) p.startedAt = dateTime(c.startedAt, `${what} startedAt`);
  if (c.endedAt !== undefined) p.endedAt = dateTime(c.endedAt, `${what} endedAt`);
  if (c.endLsn !== undefined) p.endLsn = c.endLsn;
  if (c.error !== undefined) p.error = clipText(c.error);
  const row: Row = { partitionKey: partitionOf(ref, db, c.unit), rowKey: rowKeyOf(c), ...p };
  checkEntity(row, what);
  return row;
}

export function fromRow(e: RawEntity): ChunkRecord {
  const what = `chunk row ${String(e.partitionKey)}/${String(e.rowKey)}`;
  const r = new EntityReader(e, what);
  const range = r.json('range');
  if (range === undefined) throw new CorruptEntityError(what, 'property range is missing');
  const rec: ChunkRecord = {
    schema: r.string('schema'),
    table: r.string('table'),
    chunkNo: r.number('chunkNo'),
    range,
    state: r.oneOf('state', CHUNK_STATES),
    attempts: r.number('attempts'),
  };
  const optional = {
    unit: r.optInt64('unit'),
    estimatedRows: r.optInt64('estimatedRows'),
    estimatedBytes: r.optInt64('estimatedBytes'),
    startedAt: r.optDateTime('startedAt'),
    endedAt: r.optDateTime('endedAt'),
    rows: r.optInt64('rows'),
    bytes: r.optInt64('bytes'),
    endLsn: r.optString('endLsn'),
    error: r.optString('error'),
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(rec, { [k]: v });
  return rec;
}

/**
 * Stores the plan with every chunk queued and returns the stored chunks. If a complete plan is
 * already stored (a retried activity), it is returned unchanged and `chunks` is ignored.
 * Sequential retries are safe; planning one database twice at the same time is not (the
 * orchestrator runs one planner per database): the slower planner gets AlreadyExistsError.
 */
export async function putChunkPlan(ctx: StoreContext, ref: MigrationRef, db: string, chunks: ChunkPlanItem[]): Promise<ChunkRecord[]> {
  const table = ctx.tables.chunks;
  const pk = partitionOf(ref, db);
  if (await readRow(table, pk, PLAN_ROW)) return listChunks(ctx, ref, db);

  const rows = chunks.map((c) => toRow(ref, db, { ...c, state: 'queued', attempts: 0 }));
  const keys = new Set(rows.map((r) => r.rowKey));
  if (keys.size !== rows.length) throw new Error(`${describe(ref, db)} names a chunk twice`);
  // What a plan written before a crash left (its rows in any unit's partition) goes.
  const placed = new Set(rows.map((r) => `${r.partitionKey}/${r.rowKey}`));
  const leftovers = (await listRows(table, planFilter(ref, db))).filter((e) => !placed.has(`${String(e.partitionKey)}/${String(e.rowKey)}`));
  const actions: TransactionAction[] = [
    ...rows.map((row): TransactionAction => ['upsert', row, 'Replace']),
    ...leftovers.map((e): TransactionAction => ['delete', { partitionKey: String(e.partitionKey), rowKey: String(e.rowKey) }]),
  ];
  await submitInBatches(table, actions);
  const header: Row = {
    partitionKey: pk,
    rowKey: PLAN_ROW,
    format: FORMAT,
    /** Chunks in the plan. */
    chunkCount: rows.length,
    /** When the plan was completed. */
    createdAt: dateTime(new Date().toISOString(), 'plan createdAt'),
  };
  await insertRow(table, header, describe(ref, db));
  return rows.map(fromRow);
}

/** The chunks of a complete plan, by schema, table and number; [] while there is none. */
export async function listChunks(ctx: StoreContext, ref: MigrationRef, db: string): Promise<ChunkRecord[]> {
  const rows = await listRows(ctx.tables.chunks, planFilter(ref, db));
  if (!rows.some((e) => e.rowKey === PLAN_ROW)) return [];
  return rows.filter((e) => e.rowKey !== PLAN_ROW).map(fromRow);
}

/**
 * The chunk rows written at or after `since` (the service's Timestamp of each write), for a
 * reader that keeps the rest from an earlier read. Empty while no complete plan exists.
 */
export async function listChunksChangedSince(ctx: StoreContext, ref: MigrationRef, db: string, since: Date): Promise<ChunkRecord[]> {
  const rows = await listRows(ctx.tables.chunks, `${planFilter(ref, db)} and ${odata`Timestamp ge ${since}`}`);
  return rows.filter((e) => e.rowKey !== PLAN_ROW).map(fromRow);
}

export async function getChunk(ctx: StoreContext, ref: MigrationRef, db: string, id: ChunkId): Promise<Versioned<ChunkRecord> | undefined> {
  const e = await readRow(ctx.tables.chunks, partitionOf(ref, db, id.unit), rowKeyOf(id));
  return e && { record: fromRow(e), etag: String(e.etag) };
}

/**
 * Moves a chunk to a new state (ETag-checked, retried on conflicts). Repeating `done` is a
 * no-op; any other move the state machine does not allow throws InvalidTransitionError.
 */
export async function markChunk(
  ctx: StoreContext,
  ref: MigrationRef,
  db: string,
  id: ChunkId,
  update: ChunkUpdate,
  options?: UpdateOptions,
): Promise<Versioned<ChunkRecord>> {
  const what = describe(ref, db, id);
  const at = update.at ?? new Date().toISOString();
  return readModifyWrite({
    read: () => getChunk(ctx, ref, db, id),
    write: async (next, etag) => {
      const row = toRow(ref, db, next);
      return { record: fromRow(row), etag: await replaceRowIfMatch(ctx.tables.chunks, row, etag, what) };
    },
    mutate: (c) => nextChunk(c, update, at, what),
    what,
    options,
  });
}

/** The record after `update`; undefined for a repeated done (no change). */
export function nextChunk(c: ChunkRecord, update: ChunkUpdate, at: string, what: string): ChunkRecord | undefined {
  if (c.state === 'done' && update.state === 'done') return undefined;
  if (!TRANSITIONS[c.state].includes(update.state)) throw new InvalidTransitionError(what, c.state, update.state);
  const { rows: _rows, bytes: _bytes, endLsn: _endLsn, error: _error, endedAt: _endedAt, ...base } = c;
  switch (update.state) {
    case 'loading':
      return { ...base, state: 'loading', attempts: c.attempts + 1, startedAt: at };
    case 'done':
      return { ...base, state: 'done', rows: update.rows, bytes: update.bytes, endLsn: update.endLsn, endedAt: at };
    case 'errored':
      return { ...base, state: 'errored', error: update.error, endedAt: at };
  }
}

/**
 * Records how far a loading chunk's copy got (live progress). Only a chunk still loading is
 * written: a late report after done or errored changes nothing. Counts never go back within an
 * attempt (reports may arrive out of order).
 */
export async function recordChunkProgress(
  ctx: StoreContext,
  ref: MigrationRef,
  db: string,
  id: ChunkId,
  copied: { rows: number; bytes: number; attempt: number },
): Promise<void> {
  const what = describe(ref, db, id);
  await readModifyWrite({
    read: () => getChunk(ctx, ref, db, id),
    write: async (next, etag) => {
      const row = toRow(ref, db, next);
      return { record: fromRow(row), etag: await replaceRowIfMatch(ctx.tables.chunks, row, etag, what) };
    },
    mutate: (c) => {
      if (c.state !== 'loading' || c.attempts !== copied.attempt) return undefined;
      if ((c.rows ?? 0) >= copied.rows && (c.bytes ?? 0) >= copied.bytes) return undefined;
      return { ...c, rows: Math.max(c.rows ?? 0, copied.rows), bytes: Math.max(c.bytes ?? 0, copied.bytes) };
    },
    what,
  });
}
