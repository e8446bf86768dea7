/**
 * What a stream holds decoded and not handed out yet, counted in changes and in bytes (as the
 * messages arrived): the committed transactions waiting, and the open transaction. The stream
 * pauses its socket above either high-water mark and resumes below both low-water marks.
 */
import type { SourceTransaction } from '../change';
import { CDC_DEFAULTS } from '../defaults';

export class StreamBuffer {
  /** Transactions decoded and committed, not handed out yet. */
  ready: SourceTransaction[] = [];
  private readyChanges = 0;
  private readyBytes = 0;
  /** Bytes of the open transaction's messages not handed over yet. */
  openBytes = 0;

  constructor(
    private readonly openChanges: () => number,
    private readonly limits: { highWaterBytes: number; lowWaterBytes: number },
  ) {}

  /** A message of `bytes` arrived (counted with the open transaction until its commit). */
  received(bytes: number): void {
    this.openBytes += bytes;
  }

  /** The open transaction committed: it waits with the bytes of its messages. */
  committed(txn: SourceTransaction): void {
    txn.bytes = this.openBytes;
    this.ready.push(txn);
    this.readyChanges += txn.changes.length;
    this.readyBytes += this.openBytes;
    this.openBytes = 0;
  }

  /** Hands out the waiting transactions. */
  take(): SourceTransaction[] {
    const txns = this.ready;
    this.ready = [];
    this.readyChanges = 0;
    this.readyBytes = 0;
    return txns;
  }

  get queuedChanges(): number {
    return this.readyChanges;
  }

  aboveHighWater(): boolean {
    return this.readyChanges + this.openChanges() > CDC_DEFAULTS.streamHighWater || this.readyBytes + this.openBytes > this.limits.highWaterBytes;
  }

  belowLowWater(): boolean {
    return this.readyChanges + this.openChanges() < CDC_DEFAULTS.streamLowWater && this.readyBytes + this.openBytes < this.limits.lowWaterBytes;
  }
}
