/**
 * Typed store errors. The HTTP layer maps them to status codes (AlreadyExists → 409,
 * NotFound → 404, ConcurrencyConflict → 412, EntityTooLarge → 413); the engine retries only
 * ConcurrencyConflict. Every message names the row (table and keys) so a log line is enough.
 */

import { RestError } from '@azure/data-tables';

/** Base class so callers can `instanceof StoreError` without listing every kind. */
export abstract class StoreError extends Error {
  protected constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A create found a row with the same keys, e.g. a second migration with one name on one server. */
export class AlreadyExistsError extends StoreError {
  constructor(what: string, options?: { cause?: unknown }) {
    super(`${what} already exists`, options);
  }
}

/** The row to read-modify-write does not exist (never created, or deleted meanwhile). */
export class NotFoundError extends StoreError {
  constructor(what: string, options?: { cause?: unknown }) {
    super(`${what} was not found`, options);
  }
}

/** The row changed since it was read: its ETag no longer matches. Re-read and re-apply. */
export class ConcurrencyConflictError extends StoreError {
  constructor(what: string, options?: { cause?: unknown }) {
    super(`${what} was changed by another writer since it was read (ETag mismatch)`, options);
  }
}

/** A value or a whole entity would exceed a Table Storage limit; nothing was written. */
export class EntityTooLargeError extends StoreError {
  /** How big the rejected value was, in `unit`. */
  readonly size: number;
  /** The limit it broke, in `unit`. */
  readonly limit: number;

  constructor(what: string, size: number, limit: number, unit: string) {
    super(`${what} is too large to store: ${size} ${unit}, the limit is ${limit} ${unit}`);
    this.size = size;
    this.limit = limit;
  }
}

/** A copy chunk was asked to move to a state its current state cannot reach. */
export class InvalidTransitionError extends StoreError {
  constructor(what: string, from: string, to: string) {
    super(`${what} cannot go from ${from} to ${to}`);
  }
}

/** A stored row does not have the shape this code writes (hand-edited, or a newer format). */
export class CorruptEntityError extends StoreError {
  constructor(what: string, problem: string) {
    super(`${what} is unreadable: ${problem}`);
  }
}

/** HTTP status of a Table Storage failure, or undefined for anything else. */
export function statusOf(e: unknown): number | undefined {
  return e instanceof RestError ? e.statusCode : undefined;
}
