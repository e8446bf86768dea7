/** The SQL page source: the peek cursor of read-sql.ts, bounded by maxRows (upto_nchanges). */
import type { ClientBase } from 'pg';
import { SlotReader } from '../read/read-sql';
import type { TypeCache } from '../types';
import type { ApplyBatchOptions } from './options';
import type { SqlPageSource } from './page-source';

export async function openSqlSource(source: ClientBase, opts: ApplyBatchOptions, maxRows: number, types: TypeCache): Promise<SqlPageSource> {
  const reader = await SlotReader.open(
    source,
    { slot: opts.slot, plugin: opts.plugin, maxRows, ...(opts.publication ? { publication: opts.publication } : {}), ...(opts.uptoLsn ? { uptoLsn: opts.uptoLsn } : {}) },
    types,
  );
  return { kind: 'sql', next: () => reader.next(), caughtUp: () => reader.rowsRead < maxRows, close: () => reader.close() };
}
