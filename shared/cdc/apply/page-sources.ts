/**
 * Where a batch reads from, as the apply loop sees it: pages of committed transactions from the
 * SQL peek functions (read-sql.ts) or from the replication stream (read-stream.ts). Each is a
 * complete interface of its own; the loop tells them apart by `kind`, and only a stream has the
 * members that report progress to the server and hand over a huge transaction in parts.
 */
import type { Client, ClientBase } from 'pg';
import { closeQuietly } from '../../pg/connect';
import type { Change, SourceTransaction } from '../change';
import { CDC_DEFAULTS } from '../defaults';
import { compareLsn, currentFlushLsn } from '../lsn';
import { SlotReader } from '../read/read-sql';
import { SlotStream } from '../read/read-stream';
import { waitForSlotRelease, whileSlotBusy } from '../slot-position';
import type { TypeCache } from '../types';
import type { ApplyBatchOptions } from './options';
import type { StreamMemory } from './stream-memory';

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
  /** Bytes of the open transaction's changes not taken yet. */
  openBytes(): number;
  /** Ends the stream after reporting `finalLsn` as the durable position, and closes its connection. */
  close(finalLsn?: string): Promise<void>;
}

export type PageSource = SqlPageSource | StreamPageSource;

/** Opens the SQL page source: the peek cursor of read-sql.ts, bounded by maxRows (upto_nchanges). */
export async function openSqlSource(source: ClientBase, opts: ApplyBatchOptions, maxRows: number, types: TypeCache): Promise<SqlPageSource> {
  const reader = await SlotReader.open(
    source,
    { slot: opts.slot, plugin: opts.plugin, maxRows, ...(opts.publication ? { publication: opts.publication } : {}), ...(opts.uptoLsn ? { uptoLsn: opts.uptoLsn } : {}) },
    types,
  );
  return { kind: 'sql', next: () => reader.next(), caughtUp: () => reader.rowsRead < maxRows, close: () => reader.close() };
}

/**
 * Opens the streaming page source: a walsender connection of its own running START_REPLICATION
 * (read-stream.ts), caught up once it has read what the source had flushed when it started (or
 * uptoLsn at cutover, when that is earlier). Closing it closes the connection: a walsender serves
 * one START_REPLICATION per connection.
 */
export async function openStreamSource(source: ClientBase, open: () => Promise<Client>, opts: ApplyBatchOptions, startLsn: string, types: TypeCache, memory: StreamMemory): Promise<StreamPageSource> {
  const flushed = await currentFlushLsn(source);
  const caughtUpAt = opts.uptoLsn !== undefined && compareLsn(opts.uptoLsn, flushed) < 0 ? opts.uptoLsn : flushed;
  const repl = await open();
  const end = () => closeQuietly(repl);
  let stream: SlotStream;
  try {
    stream = await whileSlotBusy(() =>
      SlotStream.start(
        repl,
        source,
        {
          slot: opts.slot,
          plugin: opts.plugin,
          ...(opts.publication ? { publication: opts.publication } : {}),
          startLsn,
          caughtUpAt,
          ...(opts.uptoLsn ? { uptoLsn: opts.uptoLsn } : {}),
          maxChanges: opts.maxRows ?? CDC_DEFAULTS.maxRows,
          maxMs: opts.maxMs ?? CDC_DEFAULTS.streamMaxMs,
          highWaterBytes: memory.highWaterBytes,
          lowWaterBytes: memory.lowWaterBytes,
        },
        types,
      ),
    );
  } catch (err) {
    await end();
    throw err;
  }
  return {
    kind: 'stream',
    next: () => stream.next(),
    caughtUp: () => stream.caughtUp,
    confirm: (lsn) => stream.confirm(lsn),
    queued: () => stream.queued,
    openTransaction: () => stream.openTransaction,
    takeOpenChanges: () => stream.takeOpenChanges(),
    openBytes: () => stream.openTransactionBytes,
    close: async (lsn) => {
      try {
        await stream.close(lsn);
      } finally {
        await end();
      }
      // The slot free again when the batch ends: its lag is read by peeking, not from the exiting
      // walsender's last flush_lag, and the next batch's stream starts at once.
      await waitForSlotRelease(source, opts.slot).catch(() => undefined);
    },
  };
}
