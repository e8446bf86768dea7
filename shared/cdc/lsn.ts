/**
 * LSNs ("X/Y", two 32-bit hex halves) as bigint: 64 bits do not fit a JS number, and string
 * comparison of "X/Y" is wrong ("0/9" > "0/10"). Also the source's current WAL positions, read in
 * normalised spelling.
 */
import type { ClientBase } from 'pg';
import { isRetryable } from '../pg/retryable';

const LSN_PATTERN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export const ZERO_LSN = '0/0';

export function parseLsn(text: string): bigint {
  const m = LSN_PATTERN.exec(text);
  if (!m) throw new RangeError(`not an LSN (X/Y): ${JSON.stringify(text)}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(value: bigint): string {
  if (value < 0n || value > 0xffffffffffffffffn) throw new RangeError(`LSN out of range: ${value}`);
  return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Negative, zero or positive, like a sort comparator. */
export function compareLsn(a: string, b: string): number {
  const d = parseLsn(a) - parseLsn(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

export function maxLsn(a: string, b: string): string {
  return compareLsn(a, b) >= 0 ? a : b;
}

/** The canonical spelling (upper-case, no leading zeros), so equal LSNs compare equal as text. */
export function normalizeLsn(text: string): string {
  return formatLsn(parseLsn(text));
}

/**
 * pg_current_wal_insert_lsn(): unlike pg_current_wal_lsn(), it also covers asynchronous commits
 * not yet written out, so every transaction committed before the call ends at or before it.
 */
export async function currentInsertLsn(source: ClientBase): Promise<string> {
  const { rows } = await source.query<{ lsn: string }>(`SELECT pg_catalog.pg_current_wal_insert_lsn()::text AS lsn`);
  return normalizeLsn(rows[0]?.lsn ?? ZERO_LSN);
}

/** pg_current_wal_flush_lsn(): decoding stops here, so a reader never sees past it. */
export async function currentFlushLsn(source: ClientBase): Promise<string> {
  const { rows } = await source.query<{ lsn: string }>(`SELECT pg_catalog.pg_current_wal_flush_lsn()::text AS lsn`);
  return normalizeLsn(rows[0]?.lsn ?? ZERO_LSN);
}

/**
 * Whether a drain to `endLsn` (the cutover's end position) is complete: decoding stops at the
 * flushed WAL, so a batch that caught up, having started once the source had flushed past the
 * end, decoded every commit before it. `flushedBefore` is currentFlushLsn read before the batch.
 */
export function drainedTo(endLsn: string, flushedBefore: string, caughtUp: boolean): boolean {
  return caughtUp && compareLsn(flushedBefore, endLsn) >= 0;
}

/**
 * Makes the source flush its WAL past `end` (a position read with currentInsertLsn) if it has not
 * yet: decoding stops at the flushed WAL, so a drain to `end` waits for it. The WAL writer mostly
 * gets there by itself within milliseconds (asynchronous commits). But when the last record on an
 * idle source ended on a page boundary, the insert position stands right after the next page's
 * header: no record ends there and no flush reaches it until something else writes WAL (a
 * checkpoint, minutes later). A transaction that only takes an xid writes a commit record past
 * it, which the WAL writer flushes at once (an asynchronous commit); decoders see an empty
 * transaction committed after the end, which a drain leaves out. A source that cannot take an
 * xid (read-only, a standby) is left to flush by itself.
 */
export async function flushPast(source: ClientBase, end: string): Promise<void> {
  if (compareLsn(await currentFlushLsn(source), end) >= 0) return;
  await source.query('SELECT pg_catalog.txid_current()').catch((err: unknown) => {
    if (isRetryable(err)) throw err;
  });
}
