/**
 * The verifyAhead step: while a database waits for cutover, its tables are compared share by
 * share (verify/ahead.ts), so cutover compares only the tables changed since. Never fails the
 * database: a table not verified ahead is simply compared at cutover.
 */
import { withPair } from '../pg/connect';
import { isRetryable } from '../pg/retryable';
import { verifyAhead as compareAhead } from '../verify/ahead';
import type { AheadProgress, DatabaseKey } from './contracts';
import { planTables } from './complete';
import { databaseEndpoints } from './endpoints';
import { setDb } from './record';
import type { Runtime } from './runtime';

/** Longest one share keeps starting tables: the CDC loop applies changes between shares. */
export const AHEAD_BUDGET_MS = 3_000;

export async function verifyAhead(rt: Runtime, k: DatabaseKey & { from: number; verified: number; pass: number }): Promise<AheadProgress> {
  const e = await databaseEndpoints(rt, k);
  const tables = await planTables(rt, { ...k, run: e.record.migrationId });
  try {
    const share = await withPair(e.source, e.target, rt.settings.connectTimeoutMs, (s, t) => compareAhead(s, t, tables.slice(k.from), Date.now() + AHEAD_BUDGET_MS));
    const next = k.from + share.done;
    const verified = k.verified + share.verified;
    // The first pass counts up as it goes; a later pass (which starts again from 0) reports at its end.
    const report = k.pass <= 1 || next >= tables.length;
    await setDb(rt, k, (r) => (!report || r.verifiedAhead === verified ? undefined : { ...r, verifiedAhead: verified }));
    return { next: next < tables.length ? next : null, verified, missed: share.missed };
  } catch (err) {
    // A server gone for a moment: Durable retries the share. Anything else (no right to create
    // the guards, say) ends verification ahead; cutover compares every table, as without it.
    if (isRetryable(err)) throw err;
    const why = err instanceof Error ? err.message : String(err);
    await setDb(rt, k, (r) => (r.message ? undefined : { ...r, message: `tables are not verified ahead of cutover (${why}): cutover compares every table` }));
    return { next: null, verified: k.verified, missed: tables.length - k.from, stopped: true };
  }
}
