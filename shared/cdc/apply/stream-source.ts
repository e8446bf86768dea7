/**
 * The streaming page source: a walsender connection of its own running START_REPLICATION
 * (read-stream.ts), caught up once it has read what the source had flushed when it started (or
 * uptoLsn at cutover, when that is earlier). Closing it closes the connection: a walsender serves
 * one START_REPLICATION per connection.
 */
import type { Client, ClientBase } from 'pg';
import { closeQuietly } from '../../pg/connect';
import { CDC_DEFAULTS } from '../defaults';
import { compareLsn, currentFlushLsn } from '../lsn';
import { SlotStream } from '../read/read-stream';
import { whileSlotBusy } from '../slot-position';
import type { TypeCache } from '../types';
import type { ApplyBatchOptions } from './options';
import type { StreamPageSource } from './page-source';

export async function openStreamSource(source: ClientBase, open: () => Promise<Client>, opts: ApplyBatchOptions, startLsn: string, types: TypeCache): Promise<StreamPageSource> {
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
    close: async (lsn) => {
      try {
        await stream.close(lsn);
      } finally {
        await end();
      }
    },
  };
}
