/**
 * JSON bodies of any size in Table Storage rows. A string property holds 64 KiB (32 Ki UTF-16
 * code units), an entity 1 MiB and 255 properties; so a body is cut into 30,000-unit chunks, 15 to
 * a row (900 KB), and chunks beyond the first row go to continuation rows `<rowKey>~<gen>~<n>`.
 * `gen` lets a record that is rewritten in place (the instance state) put its new continuation rows
 * beside the old ones and switch to them with the single write of its main row.
 */

export const CHUNK_CHARS = 30_000;
export const CHUNKS_PER_ROW = 15;

export type Scalar = string | number | boolean;

export interface Row {
  partitionKey: string;
  rowKey: string;
  [property: string]: Scalar;
}

/** Cuts `text` into chunks, never between the two halves of a surrogate pair. */
export function splitText(text: string, size = CHUNK_CHARS): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    let end = Math.min(text.length, i + size);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    out.push(text.slice(i, end));
    i = end;
  }
  return out;
}

export function continuationKey(rowKey: string, gen: number, n: number): string {
  return `${rowKey}~${gen}~${String(n).padStart(4, '0')}`;
}

/** The main row (scalars, Parts, Gen, first chunks) followed by its continuation rows. */
export function encodeRecord(partitionKey: string, rowKey: string, scalars: Record<string, Scalar>, body: string, gen = 0): Row[] {
  const chunks = splitText(body);
  const main: Row = { partitionKey, rowKey, ...scalars, Parts: chunks.length, Gen: gen };
  const rows: Row[] = [main];
  chunks.forEach((c, i) => {
    const rowNo = Math.floor(i / CHUNKS_PER_ROW);
    if (rowNo > 0 && rows.length <= rowNo) rows.push({ partitionKey, rowKey: continuationKey(rowKey, gen, rowNo) });
    const row = rows[rowNo] as Row;
    row[`B${i % CHUNKS_PER_ROW}`] = c;
  });
  return rows;
}

/** How many continuation rows a main row says it has. */
export function continuationCount(main: Record<string, unknown>): number {
  const parts = typeof main.Parts === 'number' ? main.Parts : 0;
  return Math.max(0, Math.ceil(parts / CHUNKS_PER_ROW) - 1);
}

export function genOf(main: Record<string, unknown>): number {
  return typeof main.Gen === 'number' ? main.Gen : 0;
}

/**
 * Reassembles the body from the main row and its continuation rows (a list in any order, or a
 * map by row key; other rows are ignored).
 */
export function decodeRecord(main: Record<string, unknown>, rows: Array<Record<string, unknown>> | ReadonlyMap<string, Record<string, unknown>> = []): string {
  const parts = typeof main.Parts === 'number' ? main.Parts : 0;
  const rowKey = String(main.rowKey);
  const gen = genOf(main);
  const byKey = Array.isArray(rows) ? new Map(rows.map((r) => [String(r.rowKey), r])) : rows;
  let out = '';
  for (let i = 0; i < parts; i++) {
    const rowNo = Math.floor(i / CHUNKS_PER_ROW);
    const row = rowNo === 0 ? main : byKey.get(continuationKey(rowKey, gen, rowNo));
    const chunk = row?.[`B${i % CHUNKS_PER_ROW}`];
    if (typeof chunk !== 'string') throw new Error(`record ${rowKey}: chunk ${i} of ${parts} is missing`);
    out += chunk;
  }
  return out;
}

/** Rough service-side size of a row, to keep a transaction under its 4 MiB limit. */
export function rowBytes(row: Row): number {
  let n = 64;
  for (const [k, v] of Object.entries(row)) n += 2 * k.length + (typeof v === 'string' ? 2 * v.length : 8) + 8;
  return n;
}
