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
import { sqlstateOf } from '../../pg/retryable';
import { serially } from '../serial';
import type { SourceTransaction } from '../change';
import { PgoutputDecoder } from '../decode/pgoutput';
import { Wal2jsonDecoder } from '../decode/wal2json';
import { compareLsn, normalizeLsn } from '../lsn';
import type { PeekRow } from '../decode/peek-row';
import type { Plugin } from '../slot';
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
  /** Rows per FETCH. */
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
  private readonly decoder: { push(rows: readonly PeekRow[]): SourceTransaction[]; readonly pendingChanges: number; readonly missingTypeOids: Set<number>; readonly openTransaction: SourceTransaction | undefined };

  private constructor(
    private readonly client: ClientBase,
    private readonly opts: ReadOptions,
    private readonly types: TypeCache,
  ) {
    this.decoder = opts.plugin === 'pgoutput' ? new PgoutputDecoder(types) : new Wal2jsonDecoder(types);
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
          `DECLARE ${CURSOR} NO SCROLL CURSOR FOR
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
    const { rows } = await serially(client, () => client.query<PeekRow>(`FETCH ${this.opts.pageRows ?? 5000} FROM ${CURSOR}`));
    return rows;
  }

  /** The next page's committed transactions (maybe none); undefined once the peek is exhausted. */
  async next(): Promise<SourceTransaction[] | undefined> {
    if (this.done) return undefined;
    const page = this.opts.pageRows ?? 5000;
    const rows = this.firstPage ?? (await this.fetch());
    this.firstPage = undefined;
    this.rowsRead += rows.length;
    if (rows.length < page) this.done = true;
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

/** Reads one whole batch at once (tests, tools): transactions in commit order. */
export async function readBatch(client: ClientBase, opts: ReadOptions, types = new TypeCache()): Promise<SourceTransaction[]> {
  const reader = await SlotReader.open(client, opts, types);
  const out: SourceTransaction[] = [];
  try {
    for (let txns = await reader.next(); txns; txns = await reader.next()) out.push(...txns);
  } finally {
    await reader.close();
  }
  return out;
}

export interface SlotPosition {
  confirmedFlushLsn: string;
  restartLsn: string;
}

/** The slot's positions; throws when the slot does not exist. */
export async function slotPosition(client: ClientBase, slot: string): Promise<SlotPosition> {
  const { rows } = await client.query<{ c: string | null; r: string | null }>(
    `SELECT confirmed_flush_lsn::text AS c, restart_lsn::text AS r FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row?.c || !row.r) throw new Error(`replication slot "${slot}" does not exist (or has no position)`);
  return { confirmedFlushLsn: normalizeLsn(row.c), restartLsn: normalizeLsn(row.r) };
}

/**
 * Moves the slot forward to `lsn` — call only once the target committed everything before it.
 * Never moves it back; a no-op when already there.
 */
export async function advanceSlot(client: ClientBase, slot: string, lsn: string): Promise<void> {
  const pos = await slotPosition(client, slot);
  if (compareLsn(lsn, pos.confirmedFlushLsn) <= 0) return;
  await whileSlotBusy(() => client.query(`SELECT pg_catalog.pg_replication_slot_advance($1, $2::pg_lsn)`, [slot, lsn]));
}

/**
 * Runs fn, retrying while the slot is in use by another session (55006: a concurrent peek holds
 * it for as long as it decodes). Gives up after `timeoutMs` with the last error (retryable).
 */
export async function whileSlotBusy<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; ; wait = Math.min(wait * 2, 250)) {
    try {
      return await fn();
    } catch (err) {
      if (sqlstateOf(err) !== '55006' || !/replication slot .* is active/.test((err as Error).message) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
