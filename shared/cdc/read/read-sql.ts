/**
 * Reads a bounded batch of whole transactions from the slot through the SQL interface:
 * pg_logical_slot_peek_changes (wal2json) / pg_logical_slot_peek_binary_changes (pgoutput) with
 * upto_nchanges, through a cursor so the client holds one page of rows at a time.
 *
 * Peek never moves the slot: the applier calls advanceSlot() only after the target committed, and
 * a crash in between re-reads what the target already has (the applier skips it by its recorded
 * commit LSN). upto_nchanges is checked at commits only, so a batch never splits a transaction;
 * the server materialises the peeked rows in a tuplestore (spilling to disk past work_mem), and
 * the client keeps at most one transaction plus one page in memory — a single huge transaction is
 * held whole (bounded by its size; see the report's limits).
 */
import type { ClientBase } from 'pg';
import { quoteIdent } from '../../pg/ident';
import type { SourceTransaction } from '../change';
import { CDC_DEFAULTS } from '../defaults';
import { PgoutputDecoder } from '../decode/pgoutput';
import { Wal2jsonDecoder } from '../decode/wal2json';
import type { PeekRow } from '../decode/peek-row';
import { serially } from '../serial';
import type { Plugin } from '../slot';
import { whileSlotBusy } from '../slot-position';
import { TypeCache } from '../types';

export interface ReadOptions {
  slot: string;
  plugin: Plugin;
  /** pgoutput's publication; defaults to the slot name (slot.ts creates it so). */
  publication?: string;
  /** upto_nchanges: stop at the first commit after this many decoded rows (messages). */
  maxRows: number;
  /** Only transactions committing before this LSN (cutover's end position). */
  uptoLsn?: string;
  /** Rows per FETCH (default CDC_DEFAULTS.fetchRows). */
  pageRows?: number;
}

const CURSOR = 'pgferry_peek';

/** Output-plugin options, as the variadic text[] of the peek functions. */
export function pluginOptions(plugin: Plugin, publication: string): string[] {
  if (plugin === 'pgoutput') return ['proto_version', '1', 'publication_names', publication];
  return [
    'format-version', '2',
    'include-xids', '1',
    'include-timestamp', '1',
    'include-types', '0',
    'include-type-oids', '1',
    'include-transaction', '1',
  ];
}

export class SlotReader {
  private done = false;
  /** Rows (plugin messages) fetched so far. */
  rowsRead = 0;
  private readonly pageRows: number;
  private readonly decoder: { push(rows: readonly PeekRow[]): SourceTransaction[]; readonly pendingChanges: number; readonly missingTypeOids: Set<number>; readonly openTransaction: SourceTransaction | undefined };

  private constructor(
    private readonly client: ClientBase,
    private readonly opts: ReadOptions,
    private readonly types: TypeCache,
  ) {
    this.decoder = opts.plugin === 'pgoutput' ? new PgoutputDecoder(types) : new Wal2jsonDecoder(types);
    this.pageRows = opts.pageRows ?? CDC_DEFAULTS.fetchRows;
  }

  /**
   * Opens a read-only transaction with the peek cursor (the session must be prepared) and
   * fetches the first page, which is when the server decodes. A slot is used by one session at a
   * time: while another one peeks it (a lag reading), wait for it.
   */
  static async open(client: ClientBase, opts: ReadOptions, types = new TypeCache()): Promise<SlotReader> {
    const fn = opts.plugin === 'pgoutput' ? 'pg_logical_slot_peek_binary_changes' : 'pg_logical_slot_peek_changes';
    const reader = new SlotReader(client, opts, types);
    await whileSlotBusy(async () => {
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY');
      try {
        await client.query(
          `DECLARE ${quoteIdent(CURSOR)} NO SCROLL CURSOR FOR
             SELECT lsn::text AS lsn, xid::text AS xid, data FROM pg_catalog.${fn}($1, $2::pg_lsn, $3::int4, VARIADIC $4::text[])`,
          [opts.slot, opts.uptoLsn ?? null, opts.maxRows, pluginOptions(opts.plugin, opts.publication ?? opts.slot)],
        );
        reader.firstPage = await reader.fetch();
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
    return reader;
  }

  private firstPage: PeekRow[] | undefined;

  private async fetch(): Promise<PeekRow[]> {
    const client = this.client;
    const { rows } = await serially(client, () => client.query<PeekRow>(`FETCH ${this.pageRows} FROM ${quoteIdent(CURSOR)}`));
    return rows;
  }

  /** The next page's committed transactions (maybe none); undefined once the peek is exhausted. */
  async next(): Promise<SourceTransaction[] | undefined> {
    if (this.done) return undefined;
    const rows = this.firstPage ?? (await this.fetch());
    this.firstPage = undefined;
    this.rowsRead += rows.length;
    if (rows.length < this.pageRows) this.done = true;
    const txns = this.decoder.push(rows);
    const missing = this.decoder.missingTypeOids;
    if (missing.size > 0) {
      // Types never seen before (once per type and process): name them, then patch this page.
      await serially(this.client, () => this.types.resolve(this.client, missing));
      missing.clear();
      const open = this.decoder.openTransaction;
      this.types.apply(open ? [...txns, open] : txns);
    }
    if (this.done && rows.length === 0 && txns.length === 0) return undefined;
    return txns;
  }

  /** Ends the read transaction; safe to call twice. */
  async close(): Promise<void> {
    await this.client.query('COMMIT').catch(() => undefined);
  }
}
