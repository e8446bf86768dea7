/**
 * One shape for every rejected request: `{ code, message, details: [{ field, message, fix }] }`.
 * Schemas raise issues whose message is a predicate ("must be …"); this module puts the field in
 * front, so every message names its field, and every detail carries a fix.
 *
 * Values are never quoted here: a password in the wrong place must not come back in a 400.
 */
import { z } from 'zod';
import { hintFor } from './field-hints';

export type FieldPath = readonly (string | number)[];

/** A rejection before it is rendered. */
export interface ModelIssue {
  /** Canonical path from the body root, e.g. ['properties', 'dbsToMigrate', 2]. */
  path: FieldPath;
  /** A predicate about the field, without the field name: "must not be empty". */
  message: string;
  /** What the user should change, as a sentence. */
  fix: string;
}

export interface ErrorDetail {
  /** Path in canonical key spelling: `properties.dbsToMigrate[2]`; `body` for the whole body. */
  field: string;
  /** Starts with `field`. */
  message: string;
  fix: string;
}

export interface ErrorBody {
  code: 'InvalidRequestContent';
  message: string;
  details: ErrorDetail[];
}

/** A parse outcome handlers can branch on without try/catch. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** Thrown by handlers (or `unwrap`) to answer HTTP 400 with `body`. */
export class RequestValidationError extends Error {
  readonly status = 400;
  constructor(readonly body: ErrorBody) {
    super(body.message);
    this.name = 'RequestValidationError';
  }

  static from(source: z.ZodError | readonly ModelIssue[]): RequestValidationError {
    return new RequestValidationError(toErrorBody(source));
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? 'body' : out;
}

/** Adds a custom issue that carries its own fix; `path` is relative to the schema being checked. */
export function reject(ctx: z.RefinementCtx, message: string, fix: string, path: FieldPath = []): void {
  ctx.addIssue({ code: z.ZodIssueCode.custom, message, path: [...path], params: { fix } });
}

/**
 * For transforms that cannot produce a value: the issue is fatal, so the enclosing object is
 * invalid and cross-field refinements never see the missing value.
 */
export function rejectValue(ctx: z.RefinementCtx, message: string, fix: string): typeof z.NEVER {
  ctx.addIssue({ code: z.ZodIssueCode.custom, message, params: { fix }, fatal: true });
  return z.NEVER;
}

export function toErrorBody(source: z.ZodError | readonly ModelIssue[]): ErrorBody {
  const issues = source instanceof z.ZodError ? source.issues.map(fromZodIssue) : source;
  const seen = new Set<string>();
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
    const field = formatFieldPath(issue.path);
    const detail = { field, message: `${field} ${issue.message}`, fix: issue.fix };
    const key = `${detail.field}\u0000${detail.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    details.push(detail);
  }
  return { code: 'InvalidRequestContent', message: summarize(details), details };
}

export function fromSafeParse<T>(result: z.SafeParseReturnType<unknown, T>): Parsed<T> {
  return result.success ? { ok: true, value: result.data } : { ok: false, error: toErrorBody(result.error) };
}

export function unwrap<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new RequestValidationError(parsed.error);
  return parsed.value;
}

function summarize(details: readonly ErrorDetail[]): string {
  const [first] = details;
  if (first === undefined) return 'The request is not valid.';
  if (details.length === 1) return `${first.message}. ${first.fix}`;
  return `The request has ${details.length} problems: ${details.map((d) => d.message).join('; ')}. See details for how to fix each.`;
}

/** `a string`, `an array`, `null` — never the value itself. */
export function describeType(type: string): string {
  if (type === 'null' || type === 'undefined') return type;
  if (type === 'nan') return 'NaN';
  if (type === 'integer' || type === 'float') return 'a number';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function fromZodIssue(issue: z.ZodIssue): ModelIssue {
  const { message, fix } = describeZodIssue(issue);
  return { path: issue.path, message, fix };
}

function describeZodIssue(issue: z.ZodIssue): { message: string; fix: string } {
  const hint = hintFor(issue.path);
  const fallback = (text: string) => hint ?? text;
  switch (issue.code) {
    case z.ZodIssueCode.custom: {
      const fix: unknown = issue.params?.fix;
      return { message: issue.message, fix: typeof fix === 'string' ? fix : fallback('Correct the value.') };
    }
    case z.ZodIssueCode.invalid_type:
      if (issue.received === 'undefined') return { message: 'is required', fix: fallback(`Add it as ${describeType(issue.expected)}.`) };
      if (issue.path.length === 0) {
        return { message: `must be a JSON object, not ${describeType(issue.received)}`, fix: fallback('Send a JSON object.') };
      }
      return {
        message: `must be ${describeType(issue.expected)}, not ${describeType(issue.received)}`,
        fix: fallback(`Send it as ${describeType(issue.expected)}.`),
      };
    case z.ZodIssueCode.too_small:
      return { message: tooSmall(issue), fix: fallback('Send a longer value.') };
    case z.ZodIssueCode.too_big:
      return { message: tooBig(issue), fix: fallback('Send a shorter value.') };
    case z.ZodIssueCode.unrecognized_keys:
      return { message: `has unknown keys ${issue.keys.map((k) => `"${k}"`).join(', ')}`, fix: 'Remove them.' };
    case z.ZodIssueCode.invalid_enum_value:
      return { message: `must be one of ${issue.options.join(', ')}`, fix: fallback(`Use one of ${issue.options.join(', ')}.`) };
    case z.ZodIssueCode.invalid_literal:
      return { message: `must be ${JSON.stringify(issue.expected)}`, fix: `Use ${JSON.stringify(issue.expected)}.` };
    case z.ZodIssueCode.invalid_string:
      return { message: `is not a valid ${String(issue.validation)}`, fix: fallback('Correct the format.') };
    default:
      return { message: 'is not valid', fix: fallback('Correct the value.') };
  }
}

function tooSmall(issue: z.ZodTooSmallIssue): string {
  const n = Number(issue.minimum);
  if (issue.type === 'string') return n <= 1 ? 'must not be empty' : `must be at least ${n} characters long`;
  if (issue.type === 'array') return n <= 1 ? 'must not be empty' : `must have at least ${n} items`;
  return `must be at least ${n}`;
}

function tooBig(issue: z.ZodTooBigIssue): string {
  const n = Number(issue.maximum);
  if (issue.type === 'string') return `must be at most ${n} characters long`;
  if (issue.type === 'array') return `must have at most ${n} items`;
  return `must be at most ${n}`;
}

/**
 * `JSON.parse` for request bodies. V8's SyntaxError quotes the text it failed on (passwords
 * included), so only the position is kept.
 */
export function parseJsonBody(text: string): Parsed<unknown> {
  if (text.trim() === '') {
    return { ok: false, error: toErrorBody([{ path: [], message: 'is empty', fix: 'Send a JSON object such as {"properties": {…}}.' }]) };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const position = /at position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    const where = position === undefined ? '' : ` (near character ${position})`;
    return {
      ok: false,
      error: toErrorBody([
        { path: [], message: `is not valid JSON${where}`, fix: 'Check the JSON syntax: double quotes around keys and strings, no trailing commas.' },
      ]),
    };
  }
}
