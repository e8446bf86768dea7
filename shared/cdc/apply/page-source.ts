/**
 * Where a batch reads from, as the apply loop sees it: pages of committed transactions from the
 * SQL peek functions (sql-source.ts) or from the replication stream (stream-source.ts). Each is a
 * complete interface of its own; the loop tells them apart by `kind`, and only a stream has the
 * members that report progress to the server and hand over a huge transaction in parts.
 */
import type { Change, SourceTransaction } from '../change';

/** Pages of whole transactions from pg_logical_slot_peek_(binary_)changes (read-sql.ts). */
export interface SqlPageSource {
  readonly kind: 'sql';
  /** The next page's committed transactions (maybe none); undefined once the peek is exhausted. */
  next(): Promise<SourceTransaction[] | undefined>;
  /** The peek returned fewer rows than asked: nothing more was pending when it ran. */
  caughtUp(): boolean;
  /** Ends the read transaction; safe to call twice. */
  close(): Promise<void>;
}

/** Transactions as the walsender decodes them (read-stream.ts), on a connection of its own. */
export interface StreamPageSource {
  readonly kind: 'stream';
  /** The committed transactions decoded since the last call; undefined once the stream is done. */
  next(): Promise<SourceTransaction[] | undefined>;
  /** The stream stopped because it had read everything the server had flushed. */
  caughtUp(): boolean;
  /** Reports the target's durable position to the server (the slot may move up to it). */
  confirm(lsn: string): void;
  /** Changes decoded and committed, not handed out yet. */
  queued(): number;
  /** The transaction being received (its commit not seen yet). */
  openTransaction(): SourceTransaction | undefined;
  /** Takes the open transaction's changes decoded so far (it stays open). */
  takeOpenChanges(): Change[];
  /** Ends the stream after reporting `finalLsn` as the durable position, and closes its connection. */
  close(finalLsn?: string): Promise<void>;
}

export type PageSource = SqlPageSource | StreamPageSource;

/** A promise that never rejects unhandled while we are busy elsewhere. */
export function settle<T>(p: Promise<T>): Promise<{ value: T; error?: undefined } | { value?: undefined; error: unknown }> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}
