/**
 * Reads the slot through the streaming replication protocol (a `replication=database`
 * connection, START_REPLICATION … LOGICAL): the walsender decodes continuously while pgferry
 * writes to the target, so reading and applying overlap instead of taking turns as with the SQL
 * peek functions (read-sql.ts), and no result is materialised on the server.
 *
 * The stream is time-boxed by its caller (one activity = one bounded stream). Messages are
 * decoded as they arrive and the socket is paused once CDC_DEFAULTS.streamHighWater decoded
 * changes, or `highWaterBytes` of them, wait (back-pressure: a slow target, or a few huge rows,
 * never make pgferry buffer an unbounded backlog; a huge transaction is taken in parts by the
 * applier). Bytes are counted as the messages arrive, before decoding. Progress is reported to the server
 * only as the target's DURABLE position (standby status update, flush = write = apply), so the
 * slot never moves past what the target would keep after a crash; keepalives that ask for a
 * reply get one.
 *
 * Relation messages of pgoutput are sent once per walsender session: the decoder lives exactly
 * as long as the stream, and a new stream re-sends them.
 */
import type { Client, ClientBase } from 'pg';
import type { Change, SourceTransaction } from '../change';
import { PgoutputDecoder } from '../decode/pgoutput';
import { Wal2jsonDecoder } from '../decode/wal2json';
import { CDC_DEFAULTS } from '../defaults';
import { ZERO_LSN, compareLsn, formatLsn, parseLsn } from '../lsn';
import type { Plugin } from '../slot';
import { serially } from '../serial';
import { TypeCache } from '../types';
import { textDecoderFor } from './encoding';
import { StreamBuffer } from './stream-buffer';
import { ReplicationQuery, standbyStatus, startReplicationCommand, type RawConnection } from './replication-protocol';

export interface StreamOptions {
  slot: string;
  plugin: Plugin;
  publication?: string;
  /** Start after this LSN (the target's progress); the server never goes before confirmed_flush. */
  startLsn?: string;
  /** The stream is caught up once the server has sent everything up to this LSN (see next()). */
  caughtUpAt: string;
  /** Stop at the first transaction committing after this LSN, which is left out (cutover). */
  uptoLsn?: string;
  /** Stop at a transaction boundary once this many changes were read. */
  maxChanges: number;
  /** Stop at a transaction boundary after this long. */
  maxMs: number;
  /** Bytes of changes buffered above which the socket is paused, and below which it resumes. */
  highWaterBytes: number;
  lowWaterBytes: number;
}

/** Messages decoded in one go before the event loop gets a turn. */
const SLICE_MESSAGES = CDC_DEFAULTS.streamSliceMessages;

export class SlotStream {
  /** Transactions decoded and committed, not handed out yet. */
  private readonly buffer: StreamBuffer;
  /** Data arrived since the last next(): the open transaction may have grown. */
  private dataSinceNext = false;
  private wake: (() => void) | undefined;
  private paused = false;
  /** Paused for one turn of the event loop (see onData). */
  private yielding = false;
  private sliceMessages = 0;
  private failed: Error | undefined;
  /** Highest WAL position the server said it has sent (XLogData walEnd, keepalive walEnd). */
  private sentLsn = 0n;
  private readonly decoder: PgoutputDecoder | Wal2jsonDecoder;
  private readonly decodeOne: (lsn: bigint, data: Buffer) => SourceTransaction | undefined;
  private readonly started = Date.now();
  private readonly query: ReplicationQuery;
  private stopped = false;
  changesRead = 0;
  /** Whether next() stopped because everything up to caughtUpAt (or uptoLsn) was read. */
  caughtUp = false;
  private done = false;

  private readonly raw: RawConnection;
  private lastPing = 0;

  private constructor(
    private readonly repl: Client,
    private readonly sql: ClientBase,
    private readonly opts: StreamOptions,
    private readonly types: TypeCache,
    decodeText: (bytes: Buffer) => string,
  ) {
    this.raw = repl.connection as unknown as RawConnection;
    if (opts.plugin === 'pgoutput') {
      const dec = new PgoutputDecoder(types);
      this.decoder = dec;
      this.decodeOne = (_lsn, data) => dec.decodeMessage(data);
    } else {
      const dec = new Wal2jsonDecoder(types);
      this.decoder = dec;
      // wal2json's commit record takes its LSN from the message header.
      this.decodeOne = (lsn, data) => dec.push([{ lsn: formatLsn(lsn), xid: null, data: decodeText(data) }])[0];
    }
    this.buffer = new StreamBuffer(() => this.decoder.openTransaction?.changes.length ?? 0, opts);
    const text = startReplicationCommand(opts.slot, opts.plugin, opts.publication ?? opts.slot, opts.startLsn ?? ZERO_LSN);
    this.query = new ReplicationQuery(text, (chunk) => this.onData(chunk));
  }

  /**
   * Starts streaming on `repl` (a connection opened with `replication: true`). `sql` is a normal
   * session on the same database, used to name types.
   */
  static async start(repl: Client, sql: ClientBase, opts: StreamOptions, types = new TypeCache()): Promise<SlotStream> {
    // wal2json's bytes are in the database's encoding (encoding.ts).
    const encoding = opts.plugin === 'wal2json' ? await serially(sql, () => sql.query<{ e: string }>(`SELECT pg_catalog.current_setting('server_encoding') AS e`)) : undefined;
    const stream = new SlotStream(repl, sql, opts, types, textDecoderFor(encoding?.rows[0]?.e ?? 'UTF8'));
    const conn = repl.connection as unknown as NodeJS.EventEmitter;
    const started = new Promise<void>((resolve) => conn.once('replicationStart', () => resolve()));
    void repl.query(stream.query as never);
    await Promise.race([
      started,
      stream.query.ended.then(() => {
        throw Object.assign(new Error('START_REPLICATION ended before streaming'), { retryable: true });
      }),
    ]);
    void stream.query.ended.then(
      // The walsender went away without an error (a shutdown): transient, retry the batch.
      () => stream.fail(Object.assign(new Error('replication stream ended by the server'), { retryable: true })),
      (err: Error) => stream.fail(err),
    );
    return stream;
  }

  private fail(err: Error): void {
    if (!this.stopped) this.failed ??= err;
    this.wake?.();
  }

  /**
   * Decodes each message as it arrives, while node-pg's buffer still holds it (no copy): the
   * decoding runs while the target executes the previous statements.
   */
  private onData(chunk: Buffer): void {
    const tag = chunk[0];
    if (tag === 0x77 /* w: XLogData */) {
      const lsn = chunk.readBigUInt64BE(1);
      const walEnd = chunk.readBigUInt64BE(9);
      if (walEnd > this.sentLsn) this.sentLsn = walEnd;
      if (this.stopped || this.failed) return;
      try {
        this.buffer.received(chunk.length);
        const txn = this.decodeOne(lsn, chunk.subarray(25));
        if (txn) this.buffer.committed(txn);
        else if (this.decoder.openTransaction === undefined) this.buffer.openBytes = 0;
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.dataSinceNext = true;
      if (!this.paused && this.buffer.aboveHighWater()) {
        this.paused = true;
        this.raw.stream.pause();
      }
      // A walsender catching up sends without pause, and node-pg hands every message of a read
      // over in one go: after a slice of messages, let the event loop turn (the target's replies
      // wait behind this socket otherwise, and the target would idle while we decode ahead).
      if (++this.sliceMessages >= SLICE_MESSAGES && !this.yielding) {
        this.yielding = true;
        this.raw.stream.pause();
        setImmediate(() => {
          this.yielding = false;
          this.sliceMessages = 0;
          if (!this.paused) this.raw.stream.resume();
        });
      }
    } else if (tag === 0x6b /* k: keepalive */) {
      const walEnd = chunk.readBigUInt64BE(1);
      if (walEnd > this.sentLsn) this.sentLsn = walEnd;
      if (chunk[17] === 1) this.sendStatus(this.confirmed, false);
    }
    this.wake?.();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.yielding) this.raw.stream.resume();
  }

  /** Last durable position reported to the server. */
  private confirmed = 0n;

  /** Reports the target's durable position (write = flush = apply). */
  confirm(lsn: string): void {
    const v = parseLsn(lsn);
    if (v > this.confirmed) this.confirmed = v;
    this.sendStatus(this.confirmed, false);
  }

  private sendStatus(lsn: bigint, replyRequested: boolean): void {
    if (this.stopped || lsn === 0n) {
      if (!replyRequested) return;
    }
    this.raw.sendCopyFromChunk(standbyStatus(lsn, replyRequested));
  }

  /**
   * The committed transactions decoded since the last call (maybe none, when only part of a
   * transaction arrived: the caller may then write a huge one in parts), waiting briefly for data
   * when there is none; undefined once the stream is done: caught up (everything the server had
   * up to caughtUpAt was read and no transaction is open), or the change / time budget is spent
   * at a transaction boundary, or uptoLsn was reached.
   */
  async next(): Promise<SourceTransaction[] | undefined> {
    if (this.done) return undefined;
    for (;;) {
      if (this.failed) throw this.failed;
      if (this.buffer.ready.length > 0 || this.dataSinceNext) break;
      if (this.decoder.openTransaction === undefined) {
        if (this.sentLsn >= parseLsn(this.opts.caughtUpAt)) {
          this.caughtUp = true;
          this.done = true;
          return undefined;
        }
        if (Date.now() - this.started > this.opts.maxMs) {
          this.done = true;
          return undefined;
        }
      }
      // Waiting for data: never with the socket paused.
      this.resume();
      // Ask the server where it is (at most every 20 ms); its keepalive answer wakes us.
      if (Date.now() - this.lastPing >= 20) {
        this.lastPing = Date.now();
        this.sendStatus(this.confirmed, true);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    this.dataSinceNext = false;
    const txns = this.buffer.take();
    if (this.buffer.belowLowWater()) this.resume();
    if (this.decoder.missingTypeOids.size > 0) {
      await serially(this.sql, () => this.types.resolve(this.sql, this.decoder.missingTypeOids));
      this.decoder.missingTypeOids.clear();
      const open = this.decoder.openTransaction;
      this.types.apply(open ? [...txns, open] : txns);
    }
    const out: SourceTransaction[] = [];
    for (const t of txns) {
      // commitLsn is the END of the commit record: a transaction ending at uptoLsn committed before it.
      if (this.opts.uptoLsn !== undefined && compareLsn(t.commitLsn, this.opts.uptoLsn) > 0) {
        // Transactions arrive in commit order: all those committed up to the end came first, so
        // the stream is caught up with it; a drain must not wait for a keepalive to beat this one
        // (a user still writing, or autovacuum's ANALYZE, which wal2json prints as B/C).
        this.caughtUp = true;
        this.done = true;
        break;
      }
      out.push(t);
      this.changesRead += t.changes.length;
      if (this.changesRead >= this.opts.maxChanges || Date.now() - this.started > this.opts.maxMs) {
        this.done = true;
        break;
      }
    }
    return out;
  }

  /** The transaction being received (its commit not seen yet). */
  get openTransaction(): SourceTransaction | undefined {
    return this.decoder.openTransaction;
  }

  takeOpenChanges(): Change[] {
    this.buffer.openBytes = 0;
    return this.decoder.takeOpenChanges();
  }

  /** Bytes of the open transaction's changes not taken yet. */
  get openTransactionBytes(): number {
    return this.buffer.openBytes;
  }

  /** Changes decoded and committed, not handed out yet. */
  get queued(): number {
    return this.buffer.queuedChanges;
  }

  /** Ends the stream (CopyDone) after reporting the final durable position; safe to call twice. */
  async close(finalLsn?: string): Promise<void> {
    if (this.stopped) return;
    if (finalLsn !== undefined) this.confirm(finalLsn);
    this.stopped = true;
    this.resume();
    if (this.failed) return;
    this.raw.endCopyFrom();
    await Promise.race([this.query.ended.catch(() => undefined), new Promise((r) => setTimeout(r, CDC_DEFAULTS.streamCloseMs))]);
  }
}
