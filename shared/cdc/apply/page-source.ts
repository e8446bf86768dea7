/**
 * Where a batch reads from: the SQL peek functions (read-sql.ts) or the streaming protocol
 * (read-stream.ts), behind one small interface the apply loop uses.
 */
import type { Client, ClientBase } from 'pg';
import { closeQuietly } from '../../pg/connect';
import type { ApplyBatchOptions } from './apply-batch';
import type { Change, SourceTransaction } from '../change';
import { compareLsn, normalizeLsn } from '../lsn';
import { SlotReader, whileSlotBusy } from '../read/read-sql';
import { SlotStream } from '../read/read-stream';
import type { TypeCache } from '../types';

/** What the apply loop reads from: the SQL peek or the replication stream. */
export interface PageSource {
  next(): Promise<SourceTransaction[] | undefined>;
  caughtUp(): boolean;
  /** Streams only: report a durable position to the server. */
  confirm?: (lsn: string) => void;
  /** Streams only: messages received and not decoded yet. */
  queued?: () => number;
  /** Streams only: the transaction being received (no commit yet), and taking its changes so far. */
  openTransaction?: () => SourceTransaction | undefined;
  takeOpenChanges?: () => Change[];
  close(finalLsn?: string): Promise<void>;
}

export async function openPeek(source: ClientBase, opts: ApplyBatchOptions, maxRows: number, types: TypeCache): Promise<PageSource> {
  const reader = await SlotReader.open(
    source,
    { slot: opts.slot, plugin: opts.plugin, maxRows, ...(opts.publication ? { publication: opts.publication } : {}), ...(opts.uptoLsn ? { uptoLsn: opts.uptoLsn } : {}) },
    types,
  );
  return { next: () => reader.next(), caughtUp: () => reader.rowsRead < maxRows, close: () => reader.close() };
}

export async function openStream(source: ClientBase, open: () => Promise<Client>, opts: ApplyBatchOptions, startLsn: string, types: TypeCache): Promise<PageSource> {
  const { rows } = await source.query<{ lsn: string }>(`SELECT pg_catalog.pg_current_wal_flush_lsn()::text AS lsn`);
  const flushed = normalizeLsn(rows[0]?.lsn ?? '0/0');
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
          maxChanges: opts.maxRows ?? 200_000,
          maxMs: opts.maxMs ?? 10_000,
        },
        types,
      ),
    );
  } catch (err) {
    await end();
    throw err;
  }
  return {
    next: () => stream.next(),
    caughtUp: () => stream.caughtUp,
    confirm: (lsn) => stream.confirm(lsn),
    queued: () => stream.queued,
    openTransaction: () => stream.openTransaction,
    takeOpenChanges: () => stream.takeOpenChanges(),
    close: async (lsn) => {
      try {
        await stream.close(lsn);
      } finally {
        await end();
      }
    },
  };
}

/** A promise that never rejects unhandled while we are busy elsewhere. */
export function settle<T>(p: Promise<T>): Promise<{ value: T; error?: undefined } | { value?: undefined; error: unknown }> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}
