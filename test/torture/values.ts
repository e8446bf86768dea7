/**
 * Column kinds of a torture schema and random SQL literals for them: the edge values a migration
 * tends to get wrong (NaN and ±Infinity in floats and numerics, -0, empty and NULL-holding arrays,
 * json that keeps duplicate keys and whitespace, bytea with zero bytes, empty and unbounded ranges,
 * BC and infinite timestamps, quotes, backslashes and non-ASCII text).
 */
import type { Prng } from './prng';

export type ColumnKind =
  | 'int4' | 'int8' | 'bool' | 'text' | 'float4' | 'float8' | 'numeric' | 'int4[]' | 'text[]'
  | 'json' | 'jsonb' | 'bytea' | 'int4range' | 'numrange' | 'tstzrange' | 'enum' | 'domain'
  | 'timestamptz' | 'uuid' | 'interval' | 'toast';

/** Kinds a REPLICA IDENTITY FULL table may hold: each needs an equality operator to find the old row (json has none). */
export const FULL_SAFE: readonly ColumnKind[] = ['int4', 'int8', 'bool', 'text', 'float4', 'float8', 'numeric', 'int4[]', 'text[]', 'jsonb', 'bytea', 'int4range', 'numrange', 'tstzrange', 'enum', 'domain', 'timestamptz', 'uuid', 'interval'];

export const PAYLOAD_KINDS: readonly ColumnKind[] = [...FULL_SAFE, 'json'];

/** The names a seed's own enum and domain get in its schema. */
export interface TypeNames {
  /** Qualified, quoted. */
  enumType: string;
  domainType: string;
}

export const ENUM_LABELS = ['sad', 'ok', 'happy', 'très bien', "it's"];

/** A SQL string literal (standard_conforming_strings on: only the quote is doubled). */
export function lit(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

const TEXTS = ['', ' ', 'plain', "it's", 'back\\slash', 'tab\there', 'new\nline', 'ünïcödé ✓', '日本語', '"double"', 'NULL', '\\N', 'a,b', '{braces}', '🙂 emoji'];

function text(r: Prng): string {
  return r.chance(0.5) ? r.pick(TEXTS) : `${r.pick(TEXTS)}${r.word(r.int(1, 12))}`;
}

function float(r: Prng, kind: 'float4' | 'float8'): string {
  const edge = kind === 'float4'
    ? ['NaN', 'Infinity', '-Infinity', '-0', '0', '1.17549435e-38', '3.4028235e+38', '0.1', '-1.5', '1e-45']
    : ['NaN', 'Infinity', '-Infinity', '-0', '0', '2.2250738585072014e-308', '1.7976931348623157e+308', '0.30000000000000004', '5e-324', '-123.456'];
  const v = r.chance(0.5) ? r.pick(edge) : String((r.next() - 0.5) * 10 ** r.int(-10, 12));
  return `${lit(v)}::${kind}`;
}

function numeric(r: Prng): string {
  const edge = ['NaN', 'Infinity', '-Infinity', '0', '-0.0001', '0.10', '123456789012345678901234567890.123456789', '-1e-20', '1.000000000000000000001'];
  const v = r.chance(0.5) ? r.pick(edge) : `${r.int(-99999, 99999)}.${r.int(0, 9999)}`;
  return `${lit(v)}::numeric`;
}

function bytes(r: Prng, n: number): string {
  return Array.from({ length: n }, () => r.int(0, 255).toString(16).padStart(2, '0')).join('');
}

function timestamptz(r: Prng): string {
  const edge = ['infinity', '-infinity', '2000-01-01 00:00:00+00', '1999-12-31 23:59:59.999999+05:30', '0044-03-15 12:00:00+00 BC', '1970-01-01 00:00:00+00', '2262-04-11 23:47:16.854775+00'];
  if (r.chance(0.4)) return `${lit(r.pick(edge))}::timestamptz`;
  const ms = r.int(-2_000_000_000, 4_000_000_000) * 1000 + r.int(0, 999_999) / 1000;
  return `${lit(new Date(Math.floor(ms)).toISOString())}::timestamptz`;
}

/** A random literal of `kind` (NULL sometimes, except where `notNull`). */
export function literal(r: Prng, kind: ColumnKind, types: TypeNames, notNull = false): string {
  if (!notNull && kind !== 'toast' && r.chance(0.12)) return 'NULL';
  switch (kind) {
    case 'int4': return String(r.chance(0.2) ? r.pick([0, -1, 2147483647, -2147483648]) : r.int(-100000, 100000));
    case 'int8': return `${lit(r.chance(0.2) ? r.pick(['9223372036854775807', '-9223372036854775808', '0']) : String(r.int(-1e9, 1e9) * 1000 + r.int(0, 999)))}::int8`;
    case 'bool': return r.chance(0.5) ? 'true' : 'false';
    case 'text': return lit(text(r));
    case 'float4':
    case 'float8': return float(r, kind);
    case 'numeric': return numeric(r);
    case 'int4[]': return `${lit(r.pick(['{}', '{1,NULL,3}', '{{1,2},{3,4}}', `{${r.int(-9, 9)},${r.int(0, 99)}}`, '{NULL}', '[0:1]={7,8}']))}::int4[]`;
    case 'text[]': return `ARRAY[${Array.from({ length: r.int(0, 3) }, () => (r.chance(0.2) ? 'NULL' : lit(text(r)))).join(', ')}]::text[]`;
    case 'json': return `${lit(r.pick(['{"a": 1, "a": 2}', '{ "x" : [1, 2.50, null] }', '"\\u0000 nul escape"', 'null', '[]', `{"k": "${r.word(5)}"}`, '1e400', '"\\ud83d\\ude42"']))}::json`;
    case 'jsonb': return `${lit(r.pick(['{"b": [1, 2.50, null, true]}', '"str"', 'null', '{}', '[{"deep": {"er": [1e-7]}}]', `{"k": "${r.word(6)}", "n": ${r.int(-5, 5)}}`, '"ünï \\" q"']))}::jsonb`;
    case 'bytea': return `'\\x${r.chance(0.1) ? '' : bytes(r, r.int(1, 24))}'::bytea`;
    case 'int4range': return `${lit(r.pick(['empty', '[1,5)', '(,10]', '[3,)', `[${r.int(-50, 0)},${r.int(1, 50)}]`]))}::int4range`;
    case 'numrange': return `${lit(r.pick(['empty', '[1.5,2.25)', '(,0]', `[${r.int(0, 9)}.1,${r.int(10, 20)}.9)`]))}::numrange`;
    case 'tstzrange': return `${lit(r.pick(['empty', '[2020-01-01 00:00:00+00,infinity)', '(-infinity,2000-06-01 12:30:00+02]', '[2021-03-01 00:00:00+00,2021-03-02 00:00:00+00)']))}::tstzrange`;
    case 'enum': return `${lit(r.pick(ENUM_LABELS))}::${types.enumType}`;
    case 'domain': return `${r.int(0, 1000)}::${types.domainType}`;
    case 'timestamptz': return timestamptz(r);
    case 'uuid': return `${lit(r.uuid())}::uuid`;
    case 'interval': return `${lit(r.pick(['0', '1 day -1 second', '-178000000 years', '1 mon 2 days 03:04:05.678901', `${r.int(1, 500)} hours`]))}::interval`;
    case 'toast': return toastValue(r);
  }
}

/**
 * A text well past the TOAST threshold that does not compress (md5 hex has no repeats for pglz), so
 * it is stored out of line: an UPDATE that leaves it alone sends it as "unchanged TOAST" in the WAL.
 */
export function toastValue(r: Prng): string {
  return `(SELECT string_agg(md5(g::text || ${lit(r.word(8))}), '') FROM generate_series(1, ${r.int(90, 400)}) g)`;
}

/** The SQL type a column of `kind` is declared with. */
export function sqlType(kind: ColumnKind, types: TypeNames): string {
  switch (kind) {
    case 'enum': return types.enumType;
    case 'domain': return types.domainType;
    case 'toast': return 'text';
    default: return kind;
  }
}
