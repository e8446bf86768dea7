import { describe, expect, it } from 'vitest';
import { CopyRowCounter } from '../../shared/copy/row-count';

/** A binary COPY stream as PostgreSQL writes it: header (with an extension), tuples, trailer. */
function binaryCopy(rows: Array<Array<Buffer | null>>, extension = Buffer.alloc(0)): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(4)];
  const ext = Buffer.alloc(4);
  ext.writeInt32BE(extension.length);
  parts.push(ext, extension);
  for (const row of rows) {
    const n = Buffer.alloc(2);
    n.writeInt16BE(row.length);
    parts.push(n);
    for (const field of row) {
      const len = Buffer.alloc(4);
      len.writeInt32BE(field === null ? -1 : field.length);
      parts.push(len);
      if (field) parts.push(field);
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

function countIn(pieces: Buffer[], binary: boolean): number {
  const c = new CopyRowCounter(binary);
  for (const p of pieces) c.push(p);
  return c.rows;
}

/** Every way of cutting `data` in two, and in single bytes. */
function cuts(data: Buffer): Buffer[][] {
  const out: Buffer[][] = [[data], [...data].map((b) => Buffer.from([b]))];
  for (let i = 1; i < data.length; i++) out.push([data.subarray(0, i), data.subarray(i)]);
  return out;
}

describe('CopyRowCounter', () => {
  it('counts binary tuples however the stream is cut, NULLs, empty values, zero-column rows and a header extension included', () => {
    const rows = [
      [Buffer.from('abc'), null, Buffer.alloc(0)],
      [Buffer.from([0x0a, 0xff, 0xff, 0x00]), Buffer.from('x'.repeat(300))],
      [],
      [null],
    ];
    const data = binaryCopy(rows, Buffer.from('ext!'));
    for (const pieces of cuts(data)) expect(countIn(pieces, true)).toBe(4);
  });

  it('stops at the trailer', () => {
    const c = new CopyRowCounter(true);
    c.push(Buffer.concat([binaryCopy([[Buffer.from('a')]]), Buffer.from([0, 1, 0, 0, 0, 0])]));
    expect(c.rows).toBe(1);
  });

  it('counts text rows by their newline, escaped newlines in values not included', () => {
    const data = Buffer.from('1\tline\\nbreak\n2\t\\N\n3\tlast\n');
    for (const pieces of cuts(data)) expect(countIn(pieces, false)).toBe(3);
  });
});
