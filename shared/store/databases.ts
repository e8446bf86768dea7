/**
 * Per-database rows of a migration: the ARM `dbDetails` entry the API shows, plus the engine's
 * own progress (slot, LSNs, copied volume). One row per database, keyed by its encoded name, so
 * names with `/`, `#`, `?`, spaces, Unicode, or differing only in case are separate rows.
 */

import { odata } from '@azure/data-tables';

import { DB_MIGRATION_STATES, type DbMigrationState } from '../model/states';
import type { CopyProgressSummary } from '../copy/progress';
import type { ReverseRecord } from '../model/fallback';
import { checkEntity, clipText, dateTime, EntityReader, int64, putJson, type EntityProps, type JsonValue } from './entity-codec';
import { keyOf } from './keys';
import { listRows, readModifyWrite, readRow, replaceRowIfMatch, upsertRow, type RawEntity, type Row, type UpdateOptions, type Versioned } from './table-ops';
import type { MigrationRef } from './migrations';
import type { StoreContext } from './tables';

/** Every integer counter of a database row: Edm.Int64 in the table, a number here. */
export const DATABASE_COUNTERS = [
  'fullLoadQueuedTables',
  'fullLoadErroredTables',
  'fullLoadLoadingTables',
  'fullLoadCompletedTables',
  'cdcUpdateCounter',
  'cdcDeleteCounter',
  'cdcInsertCounter',
  'appliedChanges',
  'incomingChanges',
  'latency',
  'rowsCopied',
  'bytesCopied',
] as const;
export type DatabaseCounter = (typeof DATABASE_COUNTERS)[number];

/** LSNs, in PostgreSQL's text form `X/Y` (64 bits do not fit a JS number). */
const LSN_FIELDS = ['startLsn', 'consistencyLsn', 'appliedLsn'] as const;
const LSN_PATTERN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;

export interface DatabaseRecord extends Record<DatabaseCounter, number> {
  /** The database name, exactly as on the source. */
  databaseName: string;
  /** ARM dbDetails.migrationState. */
  migrationState: DbMigrationState;
  /** ARM dbDetails.migrationOperation: what the engine is doing now, in words. */
  migrationOperation?: string;
  /** When work on this database started. */
  startedOn?: string;
  /** When it reached Succeeded, Failed or Canceled. */
  endedOn?: string;
  /** Tables waiting to be copied. */
  fullLoadQueuedTables: number;
  /** Tables whose copy failed. */
  fullLoadErroredTables: number;
  /** Tables being copied. */
  fullLoadLoadingTables: number;
  /** Tables copied. */
  fullLoadCompletedTables: number;
  /** UPDATEs applied by CDC after the full load. */
  cdcUpdateCounter: number;
  /** DELETEs applied by CDC after the full load. */
  cdcDeleteCounter: number;
  /** INSERTs applied by CDC after the full load. */
  cdcInsertCounter: number;
  /** Changes applied to the target after the full load. */
  appliedChanges: number;
  /** Changes received from the source after the full load. */
  incomingChanges: number;
  /** Seconds the target lags behind the source (ARM latency). */
  latency: number;
  /** ARM dbDetails.message; informational, truncated past LIMITS.maxTextChars. */
  message?: string;
  /** Logical replication slot on the source. */
  slotName?: string;
  /** Output plugin of the slot: wal2json or pgoutput. */
  plugin?: string;
  /** LSN the slot was created at: replay starts here. */
  startLsn?: string;
  /** Highest end-of-chunk LSN: past it, replay is exact (DESIGN.md). */
  consistencyLsn?: string;
  /** LSN of the last change committed on the target. */
  appliedLsn?: string;
  /** WAL bytes the source retains for the slot. */
  retainedWalBytes?: number;
  /** Rows copied by the full load. */
  rowsCopied: number;
  /** Bytes copied by the full load. */
  bytesCopied: number;
  /** When the full-load counters were last recomputed from the chunk rows (they are refreshed every few seconds). */
  progressAt?: string;
  /** Live copy progress (percent, estimates, running tables), refreshed with the counters above. */
  copyProgress?: CopyProgressSummary;
  /** Why the copy of this database stopped (a chunk or index build failed): the other copy lanes stop too. */
  copyStopped?: string;
  /** How CDC reads the slot: 'stream' (replication protocol) or 'sql' (once the source refused a replication connection). */
  readMethod?: string;
  /** The way back after cutover (fallbackAfterCutover): the reverse stream from the target to the source (JSON). */
  reverse?: ReverseRecord;
  /** Tables whose comparison ahead of cutover holds (verify/ahead.ts), as of verifiedAheadAt. */
  verifiedAhead?: number;
  verifiedAheadAt?: string;
}

/** Entity format version, persisted as `format`, so a later format can read these rows. */
const FORMAT = 1;

/** A fresh row for a database about to be migrated: counters at zero. */
export function newDatabaseRecord(databaseName: string, migrationState: DbMigrationState = 'InProgress'): DatabaseRecord {
  const counters = Object.fromEntries(DATABASE_COUNTERS.map((c) => [c, 0])) as Record<DatabaseCounter, number>;
  return { databaseName, migrationState, ...counters };
}

function describe(ref: MigrationRef, db: string): string {
  return `database ${JSON.stringify(db)} of migration ${ref.server}/${ref.name}`;
}

function toRow(ref: MigrationRef, d: DatabaseRecord): Row {
  const what = describe(ref, d.databaseName);
  const p: EntityProps = { format: FORMAT, databaseName: d.databaseName, migrationState: d.migrationState };
  for (const c of DATABASE_COUNTERS) p[c] = int64(d[c], `${what} ${c}`);
  if (d.retainedWalBytes !== undefined) p.retainedWalBytes = int64(d.retainedWalBytes, `${what} retainedWalBytes`);
  if (d.verifiedAhead !== undefined) p.verifiedAhead = int64(d.verifiedAhead, `${what} verifiedAhead`);
  if (d.startedOn !== undefined) p.startedOn = dateTime(d.startedOn, `${what} startedOn`);
  if (d.endedOn !== undefined) p.endedOn = dateTime(d.endedOn, `${what} endedOn`);
  if (d.progressAt !== undefined) p.progressAt = dateTime(d.progressAt, `${what} progressAt`);
  if (d.verifiedAheadAt !== undefined) p.verifiedAheadAt = dateTime(d.verifiedAheadAt, `${what} verifiedAheadAt`);
  if (d.readMethod !== undefined) p.readMethod = d.readMethod;
  putJson(p, 'copyProgress', d.copyProgress as unknown as JsonValue | undefined, `${what} copyProgress`);
  putJson(p, 'reverse', d.reverse as unknown as JsonValue | undefined, `${what} reverse`);
  if (d.copyStopped !== undefined) p.copyStopped = clipText(d.copyStopped);
  if (d.migrationOperation !== undefined) p.migrationOperation = clipText(d.migrationOperation);
  if (d.message !== undefined) p.message = clipText(d.message);
  if (d.slotName !== undefined) p.slotName = d.slotName;
  if (d.plugin !== undefined) p.plugin = d.plugin;
  for (const f of LSN_FIELDS) {
    const lsn = d[f];
    if (lsn === undefined) continue;
    if (!LSN_PATTERN.test(lsn)) throw new RangeError(`${what} ${f} is not an LSN (X/Y): ${JSON.stringify(lsn)}`);
    p[f] = lsn.toUpperCase();
  }
  const row: Row = { partitionKey: keyOf(ref.server, ref.name), rowKey: keyOf(d.databaseName), ...p };
  checkEntity(row, what);
  return row;
}

function fromRow(e: RawEntity): DatabaseRecord {
  const r = new EntityReader(e, `database row ${String(e.partitionKey)}/${String(e.rowKey)}`);
  const rec = newDatabaseRecord(r.string('databaseName'), r.oneOf('migrationState', DB_MIGRATION_STATES));
  for (const c of DATABASE_COUNTERS) rec[c] = r.int64(c);
  const optional = {
    migrationOperation: r.optString('migrationOperation'),
    startedOn: r.optDateTime('startedOn'),
    endedOn: r.optDateTime('endedOn'),
    progressAt: r.optDateTime('progressAt'),
    readMethod: r.optString('readMethod'),
    copyStopped: r.optString('copyStopped'),
    message: r.optString('message'),
    slotName: r.optString('slotName'),
    plugin: r.optString('plugin'),
    startLsn: r.optString('startLsn'),
    consistencyLsn: r.optString('consistencyLsn'),
    appliedLsn: r.optString('appliedLsn'),
    retainedWalBytes: r.optInt64('retainedWalBytes'),
    verifiedAhead: r.optInt64('verifiedAhead'),
    verifiedAheadAt: r.optDateTime('verifiedAheadAt'),
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(rec, { [k]: v });
  const progress = r.json('copyProgress');
  // Written only by the copy step; anything unreadable is left out rather than failing the row.
  if (progress !== null && typeof progress === 'object' && !Array.isArray(progress) && typeof progress.percent === 'number') {
    rec.copyProgress = progress as unknown as CopyProgressSummary;
  }
  const reverse = r.json('reverse');
  // Written only by the fallback steps; anything unreadable is left out.
  if (reverse !== null && typeof reverse === 'object' && !Array.isArray(reverse) && typeof reverse.slotName === 'string') {
    rec.reverse = reverse as unknown as ReverseRecord;
  }
  return rec;
}

/** Writes the row whole, whatever is stored (first write, or a reset); returns its ETag. */
export async function upsertDatabase(ctx: StoreContext, ref: MigrationRef, rec: DatabaseRecord): Promise<Versioned<DatabaseRecord>> {
  const row = toRow(ref, rec);
  const etag = await upsertRow(ctx.tables.databases, row, describe(ref, rec.databaseName));
  return { record: fromRow(row), etag };
}

export async function getDatabase(ctx: StoreContext, ref: MigrationRef, databaseName: string): Promise<Versioned<DatabaseRecord> | undefined> {
  const e = await readRow(ctx.tables.databases, keyOf(ref.server, ref.name), keyOf(databaseName));
  return e && { record: fromRow(e), etag: String(e.etag) };
}

/** Replaces the row if it still has `etag`; ConcurrencyConflictError otherwise. */
export async function replaceDatabaseIfMatch(ctx: StoreContext, ref: MigrationRef, rec: DatabaseRecord, etag: string): Promise<Versioned<DatabaseRecord>> {
  const row = toRow(ref, rec);
  const newEtag = await replaceRowIfMatch(ctx.tables.databases, row, etag, describe(ref, rec.databaseName));
  return { record: fromRow(row), etag: newEtag };
}

/** Read-modify-write with ETag retries (see readModifyWrite); NotFoundError if absent. */
export async function updateDatabase(
  ctx: StoreContext,
  ref: MigrationRef,
  databaseName: string,
  mutate: (rec: DatabaseRecord) => DatabaseRecord | undefined,
  options?: UpdateOptions,
): Promise<Versioned<DatabaseRecord>> {
  const what = describe(ref, databaseName);
  return readModifyWrite({
    read: () => getDatabase(ctx, ref, databaseName),
    write: (next, etag) => {
      if (next.databaseName !== databaseName) throw new Error(`${what}: an update cannot rename a database`);
      return replaceDatabaseIfMatch(ctx, ref, next, etag);
    },
    mutate,
    what,
    options,
  });
}

/** Every database row of the migration, by name (code-unit order). */
export async function listDatabases(ctx: StoreContext, ref: MigrationRef): Promise<DatabaseRecord[]> {
  const rows = await listRows(ctx.tables.databases, odata`PartitionKey eq ${keyOf(ref.server, ref.name)}`);
  return rows.map(fromRow).sort((a, b) => (a.databaseName < b.databaseName ? -1 : a.databaseName > b.databaseName ? 1 : 0));
}
