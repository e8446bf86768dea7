/**
 * Reading pgoutput's binary messages: a cursor over one message (network byte order, C strings,
 * length-prefixed text), and PostgreSQL timestamps (µs since 2000-01-01) as ISO-8601 text.
 */

/** Microseconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch. */
const PG_EPOCH_US = 946_684_800_000_000n;

export class MessageReader {
  private pos = 0;
  private buf: Buffer = Buffer.alloc(0);
  /** Points the reader at the next message (one reader serves every message). */
  reset(buf: Buffer): this {
    this.buf = buf;
    this.pos = 0;
    return this;
  }
  byte(): number {
    return this.buf.readUInt8(this.pos++);
  }
  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  uint32(): number {
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  uint64(): bigint {
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new Error('pgoutput: unterminated string');
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  text(len: number): string {
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
  /**
   * text(), reusing the column's previous string when the bytes are the same (blank-padded
   * fillers, foreign keys, flags…): decoded changes are held until written, and every string
   * that is not created is one the garbage collector does not copy.
   */
  cachedText(len: number, c: RepeatCache): string {
    const start = this.pos;
    const end = start + len;
    this.pos = end;
    const prev = c.bytes;
    if (prev !== undefined && prev.length === len && this.buf.compare(prev, 0, len, start, end) === 0) {
      c.hits++;
      return c.str;
    }
    const s = this.buf.toString('utf8', start, end);
    // Keep trying while the column repeats often enough to pay for the copies.
    if (len <= 256 && (c.misses < 64 || c.hits > c.misses)) {
      c.misses++;
      c.bytes = Buffer.from(this.buf.subarray(start, end));
      c.str = s;
    }
    return s;
  }
}

/** The last value of one column (see MessageReader.cachedText). */
export interface RepeatCache {
  bytes: Buffer | undefined;
  str: string;
  hits: number;
  misses: number;
}

/** The last second formatted by pgTimestampToIso, and its text. */
let lastSecond = NaN;
let lastPrefix = '';

/** Microseconds since 2000-01-01 UTC → ISO-8601 with microseconds, e.g. 2026-11-27T11:29:03.881537+00:00. */
export function pgTimestampToIso(us: bigint): string {
  // Exact as a double for ±285 years around 2000.
  const unixUs = Number(us + PG_EPOCH_US);
  const second = Math.floor(unixUs / 1_000_000);
  const micro = unixUs - second * 1_000_000;
  // Commits come many per second: format the date part once per second.
  if (second !== lastSecond) {
    lastSecond = second;
    lastPrefix = new Date(second * 1000).toISOString().slice(0, 19);
  }
  return `${lastPrefix}.${String(micro).padStart(6, '0')}+00:00`;
}
