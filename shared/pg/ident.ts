/**
 * Identifier quoting. Every identifier pgferry puts into SQL text goes through quoteIdent; values
 * never do — they travel as $n parameters. Quoting always (rather than "only when needed") keeps
 * case, reserved words and odd characters exact, and keeps this function trivially correct.
 */

/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; a longer name cannot be a catalog name. */
export const MAX_IDENTIFIER_BYTES = 63;

export class InvalidIdentifierError extends Error {
  constructor(reason: string) {
    super(`invalid SQL identifier: ${reason}`);
    this.name = 'InvalidIdentifierError';
  }
}

/** `name` → `"name"`, inner double quotes doubled. Rejects what no catalog can hold. */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string') throw new InvalidIdentifierError(`expected a string, got ${typeof name}`);
  if (name.length === 0) throw new InvalidIdentifierError('empty name');
  if (name.includes('\0')) throw new InvalidIdentifierError('contains a NUL character');
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    // The server would silently truncate it and act on a different object.
    throw new InvalidIdentifierError(`longer than ${MAX_IDENTIFIER_BYTES} bytes: ${name.slice(0, 20)}…`);
  }
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.name`, both parts quoted. */
export function quoteQualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}
