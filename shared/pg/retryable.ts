/**
 * What is worth retrying, for every phase: one table of SQLSTATEs and one of socket error codes.
 * A retryable error is transient by nature (a conflict, a restart, a dropped socket); anything
 * else should fail fast with its classified message (classify.ts).
 */
import { DatabaseError } from 'pg';

/** SQLSTATEs whose statement or connection can simply be tried again. */
export const RETRYABLE_SQLSTATES: ReadonlyMap<string, string> = new Map([
  ['40001', 'serialization_failure'],
  ['40P01', 'deadlock_detected'],
  ['55P03', 'lock_not_available'],
  ['53300', 'too_many_connections'],
  ['57P01', 'admin_shutdown'],
  ['57P02', 'crash_shutdown'],
  ['57P03', 'cannot_connect_now'],
  ['08000', 'connection_exception'],
  ['08001', 'sqlclient_unable_to_establish_sqlconnection'],
  ['08003', 'connection_does_not_exist'],
  ['08004', 'sqlserver_rejected_establishment_of_sqlconnection'],
  ['08006', 'connection_failure'],
  ['08007', 'transaction_resolution_unknown'],
]);

/** Node socket / DNS error codes that mean "the network hiccupped", not "the request is wrong". */
export const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/** node-pg reports a dead socket with plain Errors carrying only a message. */
const RETRYABLE_PG_MESSAGES = [
  /^Connection terminated unexpectedly$/,
  /^Connection terminated due to connection timeout$/,
  /^timeout expired$/,
  /^Query read timeout$/,
  /^Client has encountered a connection error and is not queryable$/,
];

/** SQLSTATE of a server error, or undefined for anything else. */
export function sqlstateOf(err: unknown): string | undefined {
  if (err instanceof DatabaseError) return err.code;
  // A DatabaseError from another copy of pg-protocol still has a severity next to its code.
  if (isRecord(err) && typeof err['severity'] === 'string' && typeof err['code'] === 'string') return err['code'];
  return undefined;
}

/** Node's `code` (ECONNREFUSED …), looking inside the AggregateError of a multi-address connect. */
export function networkCodeOf(err: unknown): string | undefined {
  if (!isRecord(err) || sqlstateOf(err) !== undefined) return undefined;
  if (typeof err['code'] === 'string') return err['code'];
  const inner = err['errors'];
  if (Array.isArray(inner)) return networkCodeOf(inner[0]);
  return undefined;
}

export function isRetryable(err: unknown): boolean {
  const sqlstate = sqlstateOf(err);
  if (sqlstate !== undefined) return RETRYABLE_SQLSTATES.has(sqlstate);
  const code = networkCodeOf(err);
  if (code !== undefined && RETRYABLE_NETWORK_CODES.has(code)) return true;
  if (isRecord(err) && typeof err['retryable'] === 'boolean') return err['retryable'];
  const message = err instanceof Error ? err.message : '';
  return RETRYABLE_PG_MESSAGES.some((re) => re.test(message));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
