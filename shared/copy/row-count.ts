/**
 * Counts the rows of a COPY … TO STDOUT stream as it passes, for live progress: the target's
 * row count is only known when its COPY ends. Text format ends every row with one newline byte
 * (newlines inside values are escaped as \n); binary format starts every tuple with a 16-bit
 * field count, then each field's 32-bit length (-1 = NULL) and bytes, and ends with -1.
 * The counter only reads lengths and skips over data, so it costs little per row.
 */

const NEWLINE = 0x0a;
/** Signature (11) + flags (4) + header extension length (4). */
const BINARY_HEADER = 19;

export class CopyRowCounter {
  /** Rows seen so far (a binary row counts once its field count arrived). */
  rows = 0;
  private stage: 'header' | 'tuple' | 'field' | 'end';
  private fieldsLeft = 0;
  /** Data bytes still to pass over. */
  private skip = 0;
  /** Bytes of a length word split across two pushes. */
  private partial: Buffer = Buffer.alloc(0);

  constructor(private readonly binary: boolean) {
    this.stage = binary ? 'header' : 'end';
  }

  push(data: Buffer): void {
    if (!this.binary) {
      for (let i = data.indexOf(NEWLINE); i !== -1; i = data.indexOf(NEWLINE, i + 1)) this.rows++;
      return;
    }
    let i = 0;
    while (i < data.length && this.stage !== 'end') {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const need = this.stage === 'header' ? BINARY_HEADER : this.stage === 'tuple' ? 2 : 4;
      let word: Buffer;
      if (this.partial.length === 0 && data.length - i >= need) {
        word = data.subarray(i, i + need);
        i += need;
      } else {
        const take = Math.min(need - this.partial.length, data.length - i);
        this.partial = Buffer.concat([this.partial, data.subarray(i, i + take)]);
        i += take;
        if (this.partial.length < need) return;
        word = this.partial;
        this.partial = Buffer.alloc(0);
      }
      this.step(word);
    }
  }

  private step(word: Buffer): void {
    switch (this.stage) {
      case 'header':
        this.skip = word.readInt32BE(15);
        this.stage = 'tuple';
        return;
      case 'tuple': {
        const fields = word.readInt16BE(0);
        if (fields === -1) {
          this.stage = 'end';
          return;
        }
        this.rows++;
        this.fieldsLeft = fields;
        this.stage = fields > 0 ? 'field' : 'tuple';
        return;
      }
      case 'field': {
        const len = word.readInt32BE(0);
        if (len > 0) this.skip = len;
        if (--this.fieldsLeft === 0) this.stage = 'tuple';
        return;
      }
      case 'end':
        return;
    }
  }
}
