/**
 * PartitionKey / RowKey encoding. Table keys may not contain `/ \ # ?` or control characters and
 * are limited in size, while PostgreSQL names (databases, schemas, tables) may contain anything.
 * Every key pgferry writes is made by `keyOf`: each part is percent-encoded with
 * encodeURIComponent, `%` is then written as `:` (so the result never contains `%`, which some
 * proxies mangle), and parts are joined by `|`, which the encoding never produces. The result is
 * reversible, case-preserving (`Db` and `db` stay distinct rows) and readable for plain names.
 */

/** Separator between the parts of a composite key; never produced by `encodePart`. */
export const KEY_SEPARATOR = '|';

/** The character right after `|` in code-unit order: the exclusive end of a prefix range. */
const AFTER_SEPARATOR = String.fromCharCode(KEY_SEPARATOR.charCodeAt(0) + 1);

/** Conservative key length: 1 KiB counted as UTF-16 (the output is ASCII, so 512 characters). */
export const MAX_KEY_CHARS = 512;

function encodePart(part: string): string {
  if (part.length === 0) throw new Error('store key parts must not be empty');
  let encoded: string;
  try {
    encoded = encodeURIComponent(part);
  } catch (cause) {
    // Lone UTF-16 surrogates: PostgreSQL names are valid UTF-8 and never contain them.
    throw new Error(`store key part is not well-formed Unicode: ${JSON.stringify(part)}`, { cause });
  }
  return encoded.replace(/%/g, ':');
}

function decodePart(encoded: string): string {
  return decodeURIComponent(encoded.replace(/:/g, '%'));
}

/** The table key for the given parts (at least one, none empty). */
export function keyOf(...parts: string[]): string {
  if (parts.length === 0) throw new Error('keyOf needs at least one part');
  const key = parts.map(encodePart).join(KEY_SEPARATOR);
  if (key.length > MAX_KEY_CHARS) {
    throw new Error(`store key is ${key.length} characters once encoded, the limit is ${MAX_KEY_CHARS}: ${key.slice(0, 80)}…`);
  }
  return key;
}

/** The parts `keyOf` was given. */
export function partsOf(key: string): string[] {
  return key.split(KEY_SEPARATOR).map(decodePart);
}

/**
 * Bounds of every key that starts with `keyOf(...parts)` followed by more parts, for a range
 * query (`PartitionKey ge from and PartitionKey lt to`).
 */
export function keyRange(...parts: string[]): { from: string; to: string } {
  const prefix = keyOf(...parts);
  return { from: prefix + KEY_SEPARATOR, to: prefix + AFTER_SEPARATOR };
}

/** A non-negative integer as a fixed-width decimal, so row keys sort numerically. */
export function padNumber(n: number, width = 10): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`cannot pad ${n}: not a non-negative integer`);
  const s = String(n);
  if (s.length > width) throw new Error(`cannot pad ${n} to ${width} digits`);
  return s.padStart(width, '0');
}
