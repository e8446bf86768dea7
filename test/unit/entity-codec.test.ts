/** The store's pure parts: entity encoding within Table Storage limits, and key escaping. No server. */
import { describe, expect, it } from 'vitest';

import {
  checkEntity,
  clipText,
  dateTime,
  EntityReader,
  estimateEntityBytes,
  int64,
  LIMITS,
  putJson,
  splitString,
  type EntityProps,
  type JsonValue,
} from '../../shared/store/entity-codec';
import { CorruptEntityError, EntityTooLargeError } from '../../shared/store/errors';
import { keyOf, keyRange, MAX_KEY_CHARS, padNumber, partsOf } from '../../shared/store/keys';

const keys = { partitionKey: 'p', rowKey: 'r' };

/** No lone surrogates (encodeURIComponent throws on them). */
function wellFormed(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

function roundTrip(value: JsonValue): { props: EntityProps; back: JsonValue | undefined } {
  const props: EntityProps = {};
  putJson(props, 'details', value, 'test');
  return { props, back: new EntityReader(props, 'test').json('details') };
}

describe('putJson / EntityReader.json', () => {
  it('keeps small JSON in one property', () => {
    const { props, back } = roundTrip({ a: [1, 'two', null, true] });
    expect(Object.keys(props)).toEqual(['details']);
    expect(back).toEqual({ a: [1, 'two', null, true] });
  });

  it('splits JSON longer than one string property into bounded parts and joins them back', () => {
    const value = Array.from({ length: 4000 }, (_, i) => ({ type: 'SchemaValidation', state: 'Warning', message: `table ${i} has no primary key` }));
    const { props, back } = roundTrip(value);
    expect(JSON.stringify(value).length).toBeGreaterThan(LIMITS.maxStringChars);
    const parts = props.details_parts;
    expect(typeof parts).toBe('number');
    expect(props.details).toBeUndefined();
    for (let i = 0; i < Number(parts); i++) expect(String(props[`details_${i}`]).length).toBeLessThanOrEqual(LIMITS.maxStringChars);
    expect(back).toEqual(value);
  });

  it('never cuts a surrogate pair across parts', () => {
    // JSON's opening quote shifts the pairs by one, so a naive cut at maxStringChars would split one.
    const text = '😀'.repeat(LIMITS.maxStringChars);
    const { props, back } = roundTrip(text);
    for (let i = 0; i < Number(props.details_parts); i++) {
      const part = String(props[`details_${i}`]);
      expect(wellFormed(part)).toBe(true);
    }
    expect(back).toBe(text);
  });

  it('rejects JSON beyond maxJsonChars with EntityTooLargeError and writes nothing', () => {
    const props: EntityProps = {};
    expect(() => putJson(props, 'details', 'x'.repeat(LIMITS.maxJsonChars), 'validation of db1')).toThrow(EntityTooLargeError);
    expect(() => putJson(props, 'details', 'x'.repeat(LIMITS.maxJsonChars), 'validation of db1')).toThrow(/validation of db1 \(details\) is too large/);
    expect(props).toEqual({});
  });

  it('writes nothing for undefined', () => {
    const { props, back } = roundTrip(undefined as unknown as JsonValue);
    expect(props).toEqual({});
    expect(back).toBeUndefined();
  });

  it('reports a missing part or bad JSON as CorruptEntityError', () => {
    const { props } = roundTrip('y'.repeat(LIMITS.maxStringChars * 2));
    delete props.details_1;
    expect(() => new EntityReader(props, 'row p/r').json('details')).toThrow(CorruptEntityError);
    expect(() => new EntityReader({ details: '{nope' }, 'row p/r').json('details')).toThrow(/row p\/r is unreadable: property details is not valid JSON/);
  });
});

describe('splitString', () => {
  it.each([
    ['', 3, []],
    ['abcdefg', 3, ['abc', 'def', 'g']],
    ['ab😀c', 3, ['ab', '😀c']],
  ])('%j in pieces of %i', (s, max, expected) => {
    expect(splitString(s, max)).toEqual(expected);
  });
});

describe('clipText (informational text is truncated, never rejected)', () => {
  it('leaves short text alone', () => {
    expect(clipText('connection refused')).toBe('connection refused');
  });

  it('cuts long text to the limit with a marker saying how much was dropped', () => {
    const clipped = clipText('e'.repeat(100_000));
    expect(clipped.length).toBeLessThanOrEqual(LIMITS.maxTextChars);
    expect(clipped).toMatch(/… \[truncated by pgferry: \d+ more characters\]$/);
    const dropped = Number(/(\d+) more characters/.exec(clipped)?.[1]);
    expect(clipped.indexOf('…') + dropped).toBe(100_000);
  });

  it('does not leave half a surrogate pair', () => {
    expect(wellFormed(clipText('😀'.repeat(100), 101))).toBe(true);
  });
});

describe('checkEntity', () => {
  it('accepts an ordinary entity', () => {
    expect(() => checkEntity({ ...keys, state: 'InProgress', n: int64(5, 'n') }, 'row')).not.toThrow();
  });

  it.each<[string, EntityProps, RegExp]>([
    ['too many properties', Object.fromEntries(Array.from({ length: 253 }, (_, i) => [`p${i}`, i])), /253 properties, the limit is 252/],
    ['a string over 32,000 characters', { s: 'x'.repeat(LIMITS.maxStringChars + 1) }, /row \(s\) is too large/],
    ['more than 1 MiB in total', Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`s${i}`, 'x'.repeat(30_000)])), /bytes, the limit is 1048576 bytes/],
  ])('rejects %s with EntityTooLargeError', (_name, props, message) => {
    expect(() => checkEntity({ ...keys, ...props }, 'row')).toThrow(EntityTooLargeError);
    expect(() => checkEntity({ ...keys, ...props }, 'row')).toThrow(message);
  });

  it.each(['sourceServerPassword', 'password', 'adminSecret', 'pwd', 'credentials'])('refuses a property named %s', (name) => {
    expect(() => checkEntity({ ...keys, [name]: 'hunter2' }, 'row')).toThrow(/secrets belong in shared\/secrets/);
  });

  it('estimates size with the service formula', () => {
    // 4 + 2·2 (keys) + [8 + 2·1 + 4 + 2·3] (string "abc") + [8 + 2·1 + 8] (Int64) + [8 + 2·1 + 1] (bool)
    expect(estimateEntityBytes({ ...keys, s: 'abc', n: int64(1, 'n'), b: true })).toBe(8 + 20 + 18 + 11);
  });
});

describe('scalar encodings', () => {
  it('writes counters as Edm.Int64 and reads them back from bigint, number or Edm', () => {
    expect(int64(2 ** 40, 'rows')).toEqual({ value: '1099511627776', type: 'Int64' });
    const r = new EntityReader({ a: 1099511627776n, b: 7, c: { value: '42', type: 'Int64' } }, 'row');
    expect([r.int64('a'), r.int64('b'), r.int64('c')]).toEqual([2 ** 40, 7, 42]);
    expect(() => int64(2 ** 53, 'rows')).toThrow(RangeError);
    expect(() => int64(1.5, 'rows')).toThrow(RangeError);
    expect(() => new EntityReader({ a: 2n ** 60n }, 'row').int64('a')).toThrow(CorruptEntityError);
  });

  it('normalises timestamps to UTC milliseconds and reads Date, string or Edm', () => {
    expect(dateTime('2025-03-04T05:06:07+02:00', 'at')).toEqual({ value: '2025-03-04T03:06:07.000Z', type: 'DateTime' });
    expect(() => dateTime('yesterday', 'at')).toThrow(/at is not an ISO-8601 timestamp/);
    const r = new EntityReader({ a: new Date('2025-01-01T00:00:00Z'), b: '2025-01-01T00:00:00.1234567Z', c: dateTime('2025-01-01', 'c') }, 'row');
    expect([r.dateTime('a'), r.dateTime('b'), r.dateTime('c')]).toEqual(['2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.123Z', '2025-01-01T00:00:00.000Z']);
  });

  it('names the row and property when a value has the wrong type', () => {
    const r = new EntityReader({ state: 'Sleeping', port: '5432' }, 'migration row s/m');
    expect(() => r.oneOf('state', ['InProgress', 'Failed'] as const)).toThrow(/migration row s\/m is unreadable: property state has unknown value "Sleeping"/);
    expect(() => r.number('port')).toThrow(/property port is not a number/);
    expect(() => r.string('missing')).toThrow(/property missing is missing/);
  });
});

describe('keyOf', () => {
  /** What keyOf may emit: ASCII letters, digits, encodeURIComponent's unreserved marks, `:` and `|`. */
  const KEY_ALPHABET = /^[A-Za-z0-9\-_.!~*'():|]+$/;
  const names = ['plain', 'a/b', 'x#y', 'what?', 'back\\slash', 'with space', 'per%cent', 'colon:here', 'pipe|here', 'tab\there', 'naïve données', '数据库', 'emoji😀', 'Sales', 'sales', "o'brien", '~plan'];

  it.each(names)('encodes %j reversibly without forbidden characters', (name) => {
    const key = keyOf('srv', name);
    expect(key).toMatch(KEY_ALPHABET); // so no / \ # ? % or control characters
    expect(partsOf(key)).toEqual(['srv', name]);
  });

  it('keeps every name distinct, including upper/lower-case twins', () => {
    expect(new Set(names.map((n) => keyOf(n))).size).toBe(names.length);
    expect(keyOf('Sales')).not.toBe(keyOf('sales'));
  });

  it('leaves plain lowercase names readable', () => {
    expect(keyOf('target-1', 'migration1')).toBe('target-1|migration1');
  });

  it('rejects empty parts, lone surrogates and over-long keys', () => {
    expect(() => keyOf()).toThrow(/at least one part/);
    expect(() => keyOf('a', '')).toThrow(/must not be empty/);
    expect(() => keyOf('\ud800')).toThrow(/not well-formed Unicode/);
    expect(() => keyOf('é'.repeat(MAX_KEY_CHARS))).toThrow(/the limit is 512/);
  });

  it('keyRange covers exactly the keys that extend the prefix', () => {
    const { from, to } = keyRange('srv', 'm1');
    const inRange = (k: string) => k >= from && k < to;
    expect(inRange(keyOf('srv', 'm1', 'db'))).toBe(true);
    expect(inRange(keyOf('srv', 'm1', '~'))).toBe(true);
    expect(inRange(keyOf('srv', 'm1'))).toBe(false);
    expect(inRange(keyOf('srv', 'm10', 'db'))).toBe(false);
    expect(inRange(keyOf('srv', 'm1 ', 'db'))).toBe(false);
  });

  it('pads chunk numbers so keys sort numerically', () => {
    expect(padNumber(42)).toBe('0000000042');
    expect(padNumber(9) < padNumber(10)).toBe(true);
    expect(() => padNumber(-1)).toThrow();
  });
});
