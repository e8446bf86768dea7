/**
 * Which errors a validation must not report: a session that the server or the network cut says
 * nothing about either server, so the validation throws it and the activity's retry policy runs
 * it again (a cut that never stops ends the migration Failed with the classified message and fix
 * once the retries are spent). The torture run hit every shape of it with pg_terminate_backend:
 * during a query of an open session (seeds 35, 39, 41) and while a session was still opening
 * (seeds 64, 132: the probe's connect failed with "ended the session: terminating connection due
 * to administrator command", which was then reported as "no usable decoding plugin").
 *
 * A server that cannot be reached at all (refused, timed out, no such database, wrong password,
 * no free connection slot) stays a finding: the user has something to fix.
 */
import { PgConnectionError, type ConnectionErrorKind } from '../pg/classify';
import { isRetryable } from '../pg/retryable';

/** Connection failures that mean "a session was cut", whether it was open or still opening. */
const CUT_KINDS: ReadonlySet<ConnectionErrorKind> = new Set<ConnectionErrorKind>(['ServerShuttingDown', 'ServerStarting', 'ConnectionLost']);

export function isSessionCut(err: unknown): boolean {
  return err instanceof PgConnectionError ? CUT_KINDS.has(err.kind) : isRetryable(err);
}

/** Throws a cut session's error (the activity retries); returns any other error for its finding. */
export function rethrowInterrupted(err: unknown): unknown {
  if (isSessionCut(err)) throw err;
  return err;
}
