/**
 * The verifyAhead step: while a database waits for cutover, its tables are compared share by
 * share (verify/ahead.ts), so cutover compares only the tables changed since. Never fails the
 * database: a table not verified ahead is simply compared at cutover.
 */
import { withPair } from '../pg/connect';
import { isRetryable } from '../pg/retryable';
import { stillVerified, verifyAhead as compareAhead } from '../verify/ahead';
import type { AheadProgress, DatabaseKey } from './contracts';
import { planTables } from './complete';
import { databaseEndpoints } from './endpoints';
import { nowIso, setDb } from './record';
import type { Runtime } from './runtime';

/** Longest one share keeps starting tables: the CDC loop applies changes between shares. */
export const AHEAD_BUDGET_MS = 3_000;

/**
 * One share; the database's tablesVerifiedAhead becomes the number of tables whose comparison
 * holds right now (as of tablesVerifiedAheadAt): the tables a cutover now would not read again.
 */
export async function verifyAhead(rt: Runtime, k: DatabaseKey & { from: number }): Promise<AheadProgress> {
  const e = await databaseEndpoints(rt, k);
  const tables = await planTables(rt, { ...k, run: e.record.migrationId });
  try {
    const { share, held } = await withPair(e.source, e.target, rt.settings.connectTimeoutMs, async (s, t) => {
      const share = await compareAhead(s, t, tables.slice(k.from), Date.now() + AHEAD_BUDGET_MS);
      // What cutover would not read again if it came now: every table, counted afresh.
      return { share, held: (await stillVerified(s, t, tables)).size };
    });
    const next = k.from + share.done;
    await setDb(rt, k, (r) => ({ ...r, verifiedAhead: held, verifiedAheadAt: nowIso() }));
    return { next: next < tables.length ? next : null };
  } catch (err) {
    // A server gone for a moment: Durable retries the share. Anything else (no right to create
    // the guards, say) ends verification ahead; cutover compares every table, as without it.
    if (isRetryable(err)) throw err;
    const why = err instanceof Error ? err.message : String(err);
    await setDb(rt, k, (r) => (r.message ? undefined : { ...r, message: `tables are not verified ahead of cutover (${why}): cutover compares every table` }));
    return { next: null, stopped: true };
  }
}
