/**
 * Redaction for log lines: fields whose name says secret (password, secret, token, connection
 * string, account key …) lose their value; text loses `password=…`-style pairs and the password of
 * `scheme://user:password@host` URLs; values registered as known secrets (the passwords an
 * activity just read) are replaced wherever they appear. A log line is the last line of defence,
 * not the first: nothing should hand a secret to the logger, and this catches what still does.
 */

export const REDACTED = '[REDACTED]';

/** Field names that hold secrets, whatever their case or separators. */
const SECRET_KEY = /pass(?:word|wd|phrase)?|^pwd$|secret|token|credential|authori[sz]ation|cookie|connection_?string|(?:api|access|account|function|system|master|private|sas|encryption)_?key$|^x-functions-key$/i;

/** `password=xyz`, `"password": "xyz"`, `AccountKey=xyz` inside free text. */
const SECRET_PAIR = /((?:pass(?:word|wd)?|pwd|secret|token|accountkey|sharedaccesssignature|x-functions-key)["']?\s*[=:]\s*["']?)([^\s"'&;,}]+)/gi;
/** Function keys and SAS signatures in URLs: `?code=xyz`, `&sig=xyz`. */
const QUERY_SECRET = /([?&](?:code|sig)=)[^&\s#"']+/gi;
/** The password part of `scheme://user:password@host`. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/\s@]*:)[^@\s/]+@/gi;

const MAX_STRING = 4000;
const MAX_DEPTH = 6;

/** Exact values to scrub (the longest first, so one secret containing another is replaced whole). */
const known = new Set<string>();
let knownSorted: string[] = [];

/** Registers a secret value (e.g. a password just read from the store): log text never shows it. */
export function addKnownSecret(value: string | undefined): void {
  if (value === undefined || value.length < 4 || known.has(value)) return;
  known.add(value);
  knownSorted = [...known].sort((a, b) => b.length - a.length);
}

export function isSecretKey(name: string): boolean {
  return SECRET_KEY.test(name);
}

export function redactText(text: string): string {
  let out = text;
  for (const v of knownSorted) if (out.includes(v)) out = out.split(v).join(REDACTED);
  out = out.replace(URL_PASSWORD, `$1${REDACTED}@`).replace(SECRET_PAIR, `$1${REDACTED}`).replace(QUERY_SECRET, `$1${REDACTED}`);
  return out.length > MAX_STRING ? `${out.slice(0, MAX_STRING)}… (${out.length - MAX_STRING} more characters)` : out;
}

/** An Error as plain fields; message and stack redacted; SQLSTATE `code` kept (a DBA needs it). */
export function errorFields(err: unknown, withStack: boolean): Record<string, unknown> {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; detail?: unknown };
    const out: Record<string, unknown> = { name: e.name, message: redactText(e.message) };
    if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
    if (withStack && e.stack) out.stack = redactText(e.stack);
    return out;
  }
  return { message: typeof err === 'string' ? redactText(err) : redactValue(err) };
}

/** A JSON-safe, redacted copy: secret-named fields blanked, strings scrubbed, cycles and depth cut. */
export function redactValue(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Error) return errorFields(value, false);
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  const obj = value as object;
  if (seen.has(obj)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[…]';
  seen.add(obj);
  if (Array.isArray(obj)) return obj.slice(0, 100).map((v) => redactValue(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (isSecretKey(k)) out[k] = REDACTED;
    else {
      const r = redactValue(v, depth + 1, seen);
      if (r !== undefined) out[k] = r;
    }
  }
  return out;
}
