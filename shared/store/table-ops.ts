/**
 * The few Table Storage operations the repositories use, with service status codes turned into
 * the typed errors of errors.ts, and the ETag read-modify-write loop that keeps two writers from
 * losing each other's update.
 */

import type { TableClient, TableEntity, TransactionAction } from '@azure/data-tables';

import { estimateEntityBytes, type EntityProps } from './entity-codec';
import { AlreadyExistsError, ConcurrencyConflictError, NotFoundError, statusOf } from './errors';

/** An entity as read back: custom properties plus keys, etag and timestamp. */
export type RawEntity = Record<string, unknown>;

/** An entity as written. */
export type Row = TableEntity<EntityProps>;

/** A record and the ETag of the row it was read from (or written as). */
export interface Versioned<T> {
  record: T;
  etag: string;
}

export interface UpdateOptions {
  /** Reads-and-writes to try before giving up with ConcurrencyConflictError (default 30). */
  maxAttempts?: number;
}

/** Enough for dozens of simultaneous writers; in practice an activity and a PATCH race. */
const DEFAULT_MAX_ATTEMPTS = 30;

/** Transactions carry at most 100 operations and 4 MiB; stay well under the byte limit. */
const MAX_BATCH_OPERATIONS = 100;
const MAX_BATCH_BYTES = 2 * 1024 * 1024;

export async function readRow(table: TableClient, partitionKey: string, rowKey: string): Promise<RawEntity | undefined> {
  try {
    return await table.getEntity<RawEntity>(partitionKey, rowKey);
  } catch (e) {
    if (statusOf(e) === 404) return undefined;
    throw e;
  }
}

/** Inserts a new row; returns its ETag. */
export async function insertRow(table: TableClient, row: Row, what: string): Promise<string> {
  try {
    const res = await table.createEntity(row);
    return etagOf(res.etag, what);
  } catch (e) {
    if (statusOf(e) === 409) throw new AlreadyExistsError(what, { cause: e });
    throw e;
  }
}

/** Replaces the row only if it still has `etag`; returns the new ETag. */
export async function replaceRowIfMatch(table: TableClient, row: Row, etag: string, what: string): Promise<string> {
  try {
    const res = await table.updateEntity(row, 'Replace', { etag });
    return etagOf(res.etag, what);
  } catch (e) {
    if (statusOf(e) === 412) throw new ConcurrencyConflictError(what, { cause: e });
    if (statusOf(e) === 404) throw new NotFoundError(what, { cause: e });
    throw e;
  }
}

/** Inserts or wholly replaces the row, whatever is there; returns the new ETag. */
export async function upsertRow(table: TableClient, row: Row, what: string): Promise<string> {
  const res = await table.upsertEntity(row, 'Replace');
  return etagOf(res.etag, what);
}

/** Deletes the row; false if it was not there. */
export async function deleteRow(table: TableClient, partitionKey: string, rowKey: string): Promise<boolean> {
  try {
    await table.deleteEntity(partitionKey, rowKey);
    return true;
  } catch (e) {
    if (statusOf(e) === 404) return false;
    throw e;
  }
}

/** Every row matching an OData filter (build it with the SDK's `odata` tag), across pages. */
export async function listRows(table: TableClient, filter: string): Promise<RawEntity[]> {
  const rows: RawEntity[] = [];
  for await (const row of table.listEntities<RawEntity>({ queryOptions: { filter } })) rows.push(row);
  return rows;
}

/**
 * Submits operations as entity-group transactions of at most 100 operations (and ~2 MiB) on one
 * partition each, partitions in the order they first appear. Each batch is atomic; batches are
 * not atomic together, so callers make the whole sequence idempotent (chunks.ts writes a header
 * row last).
 */
export async function submitInBatches(table: TableClient, actions: TransactionAction[]): Promise<void> {
  for (const batch of batchesOf(actions)) await table.submitTransaction(batch);
}

/** Actions cut into entity-group transactions: one partition each, within the service's count and size limits. */
function* batchesOf(actions: TransactionAction[]): Generator<TransactionAction[]> {
  const byPartition = new Map<string, TransactionAction[]>();
  for (const action of actions) {
    const pk = String(action[1].partitionKey);
    const list = byPartition.get(pk);
    if (list) list.push(action);
    else byPartition.set(pk, [action]);
  }
  for (const list of byPartition.values()) yield* cut(list);
}

function* cut(actions: TransactionAction[]): Generator<TransactionAction[]> {
  let batch: TransactionAction[] = [];
  let bytes = 0;
  for (const action of actions) {
    const size = estimateEntityBytes(action[1]);
    if (batch.length === MAX_BATCH_OPERATIONS || (batch.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(action);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/**
 * Submits actions in entity-group transactions; a transaction refused because an ETag no longer
 * matched (412) is not an error here: its actions are returned, for the caller to re-read and retry.
 */
export async function submitBatchesKeepingConflicts(table: TableClient, actions: TransactionAction[]): Promise<{ conflicted: TransactionAction[]; etags: Map<string, string> }> {
  const conflicted: TransactionAction[] = [];
  const etags = new Map<string, string>();
  for (const batch of batchesOf(actions)) {
    try {
      const response = await table.submitTransaction(batch);
      // Each write's new ETag, where the service names it: the caller's next write needs no read.
      // Sub-responses come in the order of the batch (their RowKey is URL-encoded, so it is not used).
      if (response.subResponses.length === batch.length) {
        batch.forEach((action, i) => {
          const etag = response.subResponses[i]?.etag?.trim();
          if (etag) etags.set(String(action[1].rowKey), etag);
        });
      }
    } catch (e) {
      if (statusOf(e) !== 412) throw e;
      conflicted.push(...batch);
    }
  }
  return { conflicted, etags };
}

/**
 * Optimistic read-modify-write: read the row and its ETag, apply `mutate` to a copy, write it
 * only if the ETag still matches; on a conflict, re-read and apply `mutate` again. `mutate` may
 * therefore run several times and must depend only on its argument. Returning undefined from it
 * means "no change": nothing is written and the current record is returned.
 */
export async function readModifyWrite<T>(args: {
  read: () => Promise<Versioned<T> | undefined>;
  write: (next: T, etag: string) => Promise<Versioned<T>>;
  mutate: (current: T) => T | undefined;
  what: string;
  options?: UpdateOptions;
}): Promise<Versioned<T>> {
  const maxAttempts = args.options?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    const current = await args.read();
    if (!current) throw new NotFoundError(args.what);
    const next = args.mutate(structuredClone(current.record));
    if (next === undefined) return current;
    try {
      return await args.write(next, current.etag);
    } catch (e) {
      if (!(e instanceof ConcurrencyConflictError) || attempt >= maxAttempts) throw e;
      await sleep(Math.random() * Math.min(200, 10 * attempt));
    }
  }
}

function etagOf(etag: string | undefined, what: string): string {
  if (etag === undefined) throw new Error(`${what}: the service returned no ETag`);
  return etag;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
