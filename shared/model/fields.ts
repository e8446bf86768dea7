/**
 * Field schemas shared by the PUT and PATCH bodies. Rejections never quote a credential.
 */
import { z } from 'zod';
import { reject, rejectValue } from './errors';
import { parseHostPort, parseSourceResourceId, type ServerAddress } from './endpoints';

export const MAX_PASSWORD_LENGTH = 1024;

export const passwordSchema = z.string().min(1).max(MAX_PASSWORD_LENGTH);

/** Role names are 63 bytes in PostgreSQL, but Single Server logins carry `@server` on top. */
export const usernameSchema = z
  .string()
  .min(1)
  .max(128)
  .superRefine((name, ctx) => {
    if (name.includes('\u0000')) reject(ctx, 'contains a NUL character', 'Remove the NUL (\\u0000) from the user name.');
    else if (name.trim() !== name) reject(ctx, 'has spaces around the user name', 'Remove the surrounding spaces.');
  });

export const locationSchema = z.string().min(1).max(100);

export const tagsSchema = z
  .record(z.string().max(512), z.string().max(256))
  .superRefine((tags, ctx) => {
    const count = Object.keys(tags).length;
    if (count > 50) reject(ctx, `has ${count} tags; Azure allows at most 50`, 'Remove some tags.');
  });

/** A parsed address together with the text it came from (the response echoes the text). */
export interface AddressField {
  text: string;
  address: ServerAddress;
}

/** `host` or `host:port` (IPv6 in brackets, or bare without a port). */
export function hostPortField(example: string) {
  return z.string().transform((text, ctx): AddressField => {
    const parsed = parseHostPort(text, example, true);
    if (parsed.ok) return { text, address: parsed.value };
    return rejectValue(ctx, parsed.message, parsed.fix);
  });
}

/** `sourceDbServerResourceId`: `host:port@user` or an Azure server's resource id. */
export const sourceResourceIdField = z.string().transform((text, ctx): AddressField => {
  const parsed = parseSourceResourceId(text);
  if (parsed.ok) return { text, address: parsed.value };
  return rejectValue(ctx, parsed.message, parsed.fix);
});

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
const DATE_TIME_FIX = 'Use an ISO 8601 date-time in UTC, e.g. "2025-06-01T22:00:00Z".';

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * An ISO 8601 date-time, yielded as UTC `toISOString()`. Without an offset it is read as UTC,
 * as the field names (`…InUtc`) say. The calendar is checked by hand because `Date` quietly
 * turns 30 February into 2 March.
 */
export const utcDateTimeSchema = z.string().transform((text, ctx): string => {
  const m = DATE_TIME.exec(text);
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = [1, 2, 3, 4, 5, 6, 10, 11].map((i) =>
    Number(m?.[i] ?? '0'),
  ) as [number, number, number, number, number, number, number, number];
  const valid =
    m !== null &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHour <= 23 &&
    offsetMinute <= 59;
  if (!valid || m === null) {
    return rejectValue(ctx, 'is not an ISO 8601 date-time', DATE_TIME_FIX);
  }
  const fraction = m[7] ?? '';
  const millis = fraction === '' ? 0 : Math.floor(Number(`0${fraction}`) * 1000);
  const sign = m[9] === '-' ? -1 : 1;
  const offsetMinutes = m[9] === undefined ? 0 : sign * (offsetHour * 60 + offsetMinute);
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  return new Date(utc).toISOString();
});
