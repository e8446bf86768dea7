/**
 * Flat Table Storage entities from pgferry's records, within the service's limits
 * (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model):
 * 255 properties (252 besides PartitionKey, RowKey, Timestamp), strings of 64 KiB in UTF-16
 * (32 Ki characters), 1 MiB per entity.
 *
 * Conventions every repository follows:
 * - integer counters are Edm.Int64 (row, byte and change counts pass 2^31 on real databases) and
 *   plain JS numbers in records (exact up to 2^53); LSNs are strings in PostgreSQL's `X/Y` form;
 * - timestamps are Edm.DateTime, ISO-8601 UTC strings with milliseconds in records;
 * - nested or list data is JSON. JSON longer than one string property is split across
 *   `name_0 … name_{n-1}` plus `name_parts`; JSON longer than LIMITS.maxJsonChars is REJECTED
 *   with EntityTooLargeError (it is data the program relies on);
 * - purely informational text (error messages, status messages) is TRUNCATED by `clipText`
 *   with an explicit marker instead, so a huge error never stops a state change from landing;
 * - entities are always written whole (insert or Replace), so split parts never go stale.
 */

import type { Edm } from '@azure/data-tables';

import { CorruptEntityError, EntityTooLargeError } from './errors';

export const LIMITS = {
  /** Custom properties per entity (255 minus PartitionKey, RowKey, Timestamp). */
  maxProperties: 252,
  /** UTF-16 code units per string property: 64,000 bytes, under the 64 KiB limit. */
  maxStringChars: 32_000,
  /** Bytes per entity, as the service counts them (see estimateEntityBytes). */
  maxEntityBytes: 1_048_576,
  /** Characters of one JSON value: 15 string properties, 900,000 bytes. */
  maxJsonChars: 450_000,
  /** Characters kept of informational text before clipText truncates it. */
  maxTextChars: 16_000,
} as const;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A property value as the SDK serialises it. */
export type EntityValue = string | number | boolean | Edm<'Int64'> | Edm<'DateTime'>;

/** The custom properties of an entity, before the keys are added. */
export type EntityProps = Record<string, EntityValue>;

/** Any entity with its keys, as written or as read. */
export type KeyedProps = Readonly<Record<string, unknown>> & { partitionKey: string; rowKey: string };

/** Property names that must never be persisted outside shared/secrets. */
const SECRET_NAME = /password|secret|pwd|credential/i;

// ---- writing ---------------------------------------------------------------------------------

/** An integer counter as Edm.Int64. */
export function int64(n: number, what: string): Edm<'Int64'> {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} must be a safe integer, got ${n}`);
  return { value: String(n), type: 'Int64' };
}

/** An ISO-8601 timestamp as Edm.DateTime (normalised to UTC with milliseconds). */
export function dateTime(iso: string, what: string): Edm<'DateTime'> {
  return { value: normaliseIso(iso, what), type: 'DateTime' };
}

/** `iso` as `YYYY-MM-DDTHH:mm:ss.sssZ`; throws on anything Date cannot parse. */
export function normaliseIso(iso: string, what: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`${what} is not an ISO-8601 timestamp: ${JSON.stringify(iso)}`);
  return new Date(ms).toISOString();
}

/** Writes `value` as JSON under `name` (split into parts when long); undefined writes nothing. */
export function putJson(props: EntityProps, name: string, value: JsonValue | undefined, what: string): void {
  if (value === undefined) return;
  const json = JSON.stringify(value);
  if (json.length <= LIMITS.maxStringChars) {
    props[name] = json;
    return;
  }
  if (json.length > LIMITS.maxJsonChars) {
    throw new EntityTooLargeError(`${what} (${name})`, json.length, LIMITS.maxJsonChars, 'characters of JSON');
  }
  const parts = splitString(json, LIMITS.maxStringChars);
  parts.forEach((part, i) => {
    props[`${name}_${i}`] = part;
  });
  props[`${name}_parts`] = parts.length;
}

/** `text` if short enough, else its head and a marker saying how much was cut. */
export function clipText(text: string, maxChars: number = LIMITS.maxTextChars): string {
  if (text.length <= maxChars) return text;
  const reserve = 64; // room for the marker
  let keep = Math.max(0, maxChars - reserve);
  if (keep > 0 && isHighSurrogate(text.charCodeAt(keep - 1))) keep--;
  return `${text.slice(0, keep)}… [truncated by pgferry: ${text.length - keep} more characters]`;
}

/**
 * Rejects an entity the service would refuse (too many properties, string too long, too many
 * bytes) and any property whose name suggests a secret: credentials live only in shared/secrets.
 */
export function checkEntity(entity: KeyedProps, what: string): void {
  const names = Object.keys(entity).filter((k) => k !== 'partitionKey' && k !== 'rowKey');
  if (names.length > LIMITS.maxProperties) {
    throw new EntityTooLargeError(what, names.length, LIMITS.maxProperties, 'properties');
  }
  for (const name of names) {
    if (SECRET_NAME.test(name)) throw new Error(`${what}: refusing to store property "${name}": secrets belong in shared/secrets`);
    const v = entity[name];
    if (typeof v === 'string' && v.length > LIMITS.maxStringChars) {
      throw new EntityTooLargeError(`${what} (${name})`, v.length, LIMITS.maxStringChars, 'characters');
    }
  }
  const bytes = estimateEntityBytes(entity);
  if (bytes > LIMITS.maxEntityBytes) throw new EntityTooLargeError(what, bytes, LIMITS.maxEntityBytes, 'bytes');
}

/**
 * The service's size formula: 4 + 2·len(PartitionKey + RowKey) + Σ(8 + 2·len(name) + value),
 * value = 4 + 2·len for strings, 8 for Int64/Double/DateTime, 1 for booleans.
 */
export function estimateEntityBytes(entity: KeyedProps): number {
  let bytes = 4 + 2 * (entity.partitionKey.length + entity.rowKey.length);
  for (const [name, v] of Object.entries(entity)) {
    if (name === 'partitionKey' || name === 'rowKey') continue;
    bytes += 8 + 2 * name.length + (typeof v === 'string' ? 4 + 2 * v.length : typeof v === 'boolean' ? 1 : 8);
  }
  return bytes;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Pieces of at most `max` code units, never cutting a surrogate pair in two. */
export function splitString(s: string, max: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    let end = Math.min(i + max, s.length);
    if (end < s.length && isHighSurrogate(s.charCodeAt(end - 1))) end--;
    out.push(s.slice(i, end));
    i = end;
  }
  return out;
}

// ---- reading ---------------------------------------------------------------------------------

/** An Edm-typed value as written (`{ value, type }`), so a row can be read back before it is sent. */
function isEdm(v: unknown, type: 'Int64' | 'DateTime'): v is { value: string; type: string } {
  return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === type && typeof (v as { value?: unknown }).value === 'string';
}

/**
 * Typed access to an entity as the SDK returns it (Int64 as bigint, DateTime as Date) or as a
 * repository built it (Edm objects), with errors naming the row and the property.
 */
export class EntityReader {
  constructor(
    private readonly entity: Readonly<Record<string, unknown>>,
    private readonly what: string,
  ) {}

  private fail(name: string, problem: string): never {
    throw new CorruptEntityError(this.what, `property ${name} ${problem}`);
  }

  has(name: string): boolean {
    return this.entity[name] !== undefined && this.entity[name] !== null;
  }

  string(name: string): string {
    const v = this.optString(name);
    return v ?? this.fail(name, 'is missing');
  }

  optString(name: string): string | undefined {
    const v = this.entity[name];
    if (v === undefined || v === null) return undefined;
    return typeof v === 'string' ? v : this.fail(name, `is ${typeof v}, not a string`);
  }

  boolean(name: string): boolean {
    const v = this.entity[name];
    return typeof v === 'boolean' ? v : this.fail(name, 'is not a boolean');
  }

  /** A plain number (Edm.Int32 or Edm.Double). */
  number(name: string): number {
    const v = this.entity[name];
    return typeof v === 'number' ? v : this.fail(name, 'is not a number');
  }

  /** An Edm.Int64 counter as a number; also accepts Int32 so older rows stay readable. */
  int64(name: string): number {
    const v = this.optInt64(name);
    return v ?? this.fail(name, 'is missing');
  }

  optInt64(name: string): number | undefined {
    const v = this.entity[name];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : isEdm(v, 'Int64') ? Number(v.value) : NaN;
    if (!Number.isSafeInteger(n)) this.fail(name, `is not an integer within 2^53: ${String(v)}`);
    return n;
  }

  /** An Edm.DateTime as an ISO string with milliseconds. */
  dateTime(name: string): string {
    const v = this.optDateTime(name);
    return v ?? this.fail(name, 'is missing');
  }

  optDateTime(name: string): string | undefined {
    const v = this.entity[name];
    if (v === undefined || v === null) return undefined;
    const ms =
      v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : isEdm(v, 'DateTime') ? Date.parse(v.value) : NaN;
    if (Number.isNaN(ms)) this.fail(name, `is not a timestamp: ${String(v)}`);
    return new Date(ms).toISOString();
  }

  /** A string that must be one of `allowed` (an ARM enum). */
  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const v = this.string(name);
    return (allowed as readonly string[]).includes(v) ? (v as T) : this.fail(name, `has unknown value ${JSON.stringify(v)}`);
  }

  optOneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    return this.has(name) ? this.oneOf(name, allowed) : undefined;
  }

  /** JSON written by putJson (whole or split), or undefined when absent. */
  json(name: string): JsonValue | undefined {
    let text: string | undefined;
    if (this.has(`${name}_parts`)) {
      const count = this.number(`${name}_parts`);
      const parts: string[] = [];
      for (let i = 0; i < count; i++) parts.push(this.string(`${name}_${i}`));
      text = parts.join('');
    } else {
      text = this.optString(name);
    }
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      return this.fail(name, 'is not valid JSON');
    }
  }

  /** JSON that must be an array of strings (e.g. database names). */
  stringArray(name: string): string[] {
    const v = this.json(name);
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) return this.fail(name, 'is not a list of strings');
    return v;
  }

  /** JSON that must be an object of string values (e.g. ARM tags). */
  optStringMap(name: string): Record<string, string> | undefined {
    const v = this.json(name);
    if (v === undefined) return undefined;
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
      return this.fail(name, 'is not a map of strings');
    }
    return v as Record<string, string>;
  }
}
