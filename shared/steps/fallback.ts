/**
 * The two endings of a fallback window, per database.
 *
 * Fall back: the end position is the target's current WAL insert position (every target commit so
 * far ends at or before it); the reverse stream drains to it; every table is compared by row count
 * and checksum (the cutover's checks, the other way round); the source's sequences are set from
 * the target's and its large objects made the target's; then the way back is removed and the
 * source is ready for the application, with the time it took. A verification that finds tables
 * that differ does not end the window: the database keeps replicating, the differences are named,
 * and the user may fall back again (or finalize).
 *
 * Finalize (and a way back that must close): the way back is removed; the target stays.
 */
import { withClient, withPair } from '../pg/connect';
import { currentInsertLsn } from '../cdc/lsn';
import { copySequences } from '../copy/sequences';
import { syncLargeObjects } from '../copy/large-objects';
import { sameLargeObjects, verifyLargeObjects } from '../verify/large-objects';
import { compareDatabases } from '../verify/compare';
import { inFallbackWindow, windowSubState } from '../model/fallback';
import { updateMigration } from '../store/migrations';
import { listDatabases } from '../store/databases';
import type { DatabaseKey, Result, VerifyProgress } from './contracts';
import { VERIFY_BUDGET_MS, planTables } from './complete';
import { databaseEndpoints } from './endpoints';
import { fail, nowIso, ok, permanent } from './record';
import { closeReverse } from './reverse-slot';
import { reverseOf, setReverse } from './reverse';
import type { Runtime } from './runtime';

/** The fall back starts: the target's current position is where the stream drains to. */
export async function beginFallback(rt: Runtime, k: DatabaseKey): Promise<Result<{ endLsn: string }>> {
  const e = await databaseEndpoints(rt, k);
  const endLsn = await withClient(e.target, rt.settings.connectTimeoutMs, currentInsertLsn);
  const requested = e.record.fallback?.fallbackRequestedAt;
  await setReverse(rt, k, (r) => {
    const { message: _last, ...rest } = r;
    return { ...rest, state: 'FallingBack', fallbackStartedAt: nowIso(), ...(requested ? { handledFallbackAt: requested } : {}) };
  }, 'Falling back: applying the target\'s last changes to the source');
  await updateMigration(rt.store, k.server, k.name, (m) => (inFallbackWindow(m) && m.subState !== 'FallingBack' ? { ...m, subState: 'FallingBack' } : undefined));
  return ok({ endLsn });
}

/** A bounded share of the fall back's verification; `differs` names the tables that do not match. */
export async function verifyFallback(rt: Runtime, k: DatabaseKey & { from: number }): Promise<Result<VerifyProgress & { differs?: string }>> {
  const e = await databaseEndpoints(rt, k);
  try {
    const tables = await planTables(rt, { ...k, run: e.record.migrationId });
    await setReverse(rt, k, (r) => r, `Falling back: verifying row counts and checksums (${Math.min(k.from, tables.length)} of ${tables.length} tables done)`);
    const compared = await withPair(e.target, e.source, rt.settings.connectTimeoutMs, (t, s) => compareDatabases(t, s, tables.slice(k.from), Date.now() + VERIFY_BUDGET_MS));
    const bad = compared.filter((c) => !c.match);
    if (bad.length > 0) {
      const list = bad.slice(0, 10).map((m) => `${m.schema}.${m.table} (target ${m.rowsSource} rows, source ${m.rowsTarget})`).join(', ');
      return ok({ compared: compared.length, next: null, differs: `${bad.length} table(s) differ between the target and the source: ${list}` });
    }
    const next = k.from + compared.length;
    return ok({ compared: compared.length, next: next < tables.length ? next : null });
  } catch (err) {
    return permanent(err, { phase: 'verify the fall back', database: k.db });
  }
}

/** Every table matched: sequences and large objects, then the way back is removed; the source is ready. */
export async function completeFallback(rt: Runtime, k: DatabaseKey): Promise<Result<{ differs?: string }>> {
  const e = await databaseEndpoints(rt, k);
  const r = await reverseOf(rt, k);
  if (!r) return fail(`database ${k.db} has no reverse slot recorded`);
  try {
    const largeObjects = await withPair(e.target, e.source, rt.settings.connectTimeoutMs, async (t, s) => {
      await copySequences(t, s);
      await syncLargeObjects(t, s);
      return verifyLargeObjects(t, s);
    });
    if (!sameLargeObjects(largeObjects)) {
      const n = largeObjects.missing.length + largeObjects.changed.length + largeObjects.extra.length;
      return ok({ differs: `${n} large object(s) differ between the target and the source after copying them again` });
    }
    await closeReverse(rt, e, k, r.heldTriggers === true);
    const since = Date.parse(e.record.fallback?.fallbackRequestedAt ?? r.fallbackStartedAt ?? nowIso());
    const seconds = Math.max(0, Math.round((Date.now() - since) / 1000));
    await setReverse(rt, k, (x) => ({
      ...x, state: 'FellBack', endedOn: nowIso(), latency: 0,
      message: `The source is ready for the application: every table verified, sequences set, ${seconds} s after the fall back was requested`,
    }), 'Fell back: the source is current again');
    return ok({});
  } catch (err) {
    return permanent(err, { phase: 'complete the fall back', database: k.db });
  }
}

/** A fall back that did not verify: the database keeps replicating; the reason is on its row and the migration. */
export async function fallbackFailed(rt: Runtime, k: DatabaseKey & { error: string }): Promise<null> {
  const message = `Fall back did not complete: ${k.error}. The target's changes keep flowing to the source: make the source rows match ` +
    '(recentConflicts names the rows written there directly) and send triggerFallback again, or finalizeCutover to keep the target';
  await setReverse(rt, k, (r) => ({ ...r, state: 'Replicating', message }), 'Replicating the target\'s changes to the source (fallback window)');
  const dbs = await listDatabases(rt.store, k);
  await updateMigration(rt.store, k.server, k.name, (m) => {
    if (!inFallbackWindow(m) || !m.fallback) return undefined;
    return { ...m, subState: windowSubState(dbs), fallback: { ...m.fallback, error: `${k.db}: ${message}` } };
  });
  return null;
}

/** Finalized, or the way back had to close: removed, the target stays. */
export async function endReverse(rt: Runtime, k: DatabaseKey & { state: 'Finalized' | 'Failed'; error: string | null }): Promise<null> {
  const e = await databaseEndpoints(rt, k);
  const r = await reverseOf(rt, k);
  await closeReverse(rt, e, k, r?.heldTriggers === true);
  const message = k.state === 'Finalized' ? 'Finalized: the target stays; nothing of pgferry is left on either server' : (k.error ?? 'the way back closed');
  await setReverse(rt, k, (x) => ({ ...x, state: k.state, endedOn: nowIso(), latency: 0, message }), k.state === 'Finalized' ? 'Completed (finalized)' : 'Completed (the way back closed)');
  return null;
}
