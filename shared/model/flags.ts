/**
 * ARM flags and enums as users actually write them. The ARM API spells flags as the strings
 * "True"/"False", the 2022 API and most hand-written files use booleans, and the az CLI passes
 * enum values lower-case (`--migration-mode online`); all of them are accepted, and pgferry
 * emits the exact ARM spelling.
 */
import { z } from 'zod';
import { rejectValue } from './errors';
import { closest, quoteList } from './suggest';

export const ARM_FLAGS = ['True', 'False'] as const;
export type ArmFlag = (typeof ARM_FLAGS)[number];

/** Accepts true/false and "True"/"False" in any case; yields a boolean. */
export const armFlag = z.unknown().transform((value, ctx): boolean => {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const folded = value.toLowerCase();
    if (folded === 'true') return true;
    if (folded === 'false') return false;
  }
  return rejectValue(ctx, `must be "True" or "False", not ${describeValue(value)}`, 'Use "True" or "False" (booleans true/false also work).');
});

export function toArmFlag(value: boolean): ArmFlag {
  return value ? 'True' : 'False';
}

/** An ARM enum matched case-insensitively on input and yielded in its exact ARM spelling. */
export function armEnum<const T extends readonly [string, ...string[]]>(values: T) {
  const byFolded = new Map<string, T[number]>(values.map((v) => [v.toLowerCase(), v]));
  return z.unknown().transform((value, ctx): T[number] => {
    const match = typeof value === 'string' ? byFolded.get(value.toLowerCase()) : undefined;
    if (match !== undefined) return match;
    const near = typeof value === 'string' ? closest(value, values, 1) : [];
    const fix =
      near.length > 0
        ? `Did you mean ${quoteList(near)}? Letter case does not matter.`
        : 'Use one of the values listed; letter case does not matter.';
    return rejectValue(ctx, `must be one of ${values.join(', ')}, not ${describeValue(value)}`, fix);
  });
}

/**
 * A short description of a rejected non-secret value: quoted (and cut) if a string, its type
 * otherwise. Never used for credentials.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
