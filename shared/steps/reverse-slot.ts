/**
 * The way back after cutover (fallbackAfterCutover), made and removed.
 *
 * Made at cutover, once the source was drained and every table verified — the forward apply has
 * committed its last change and nothing more will come from it — and before the database reports
 * Succeeded, i.e. before the target is handed to the application: the target's tables get REPLICA
 * IDENTITY FULL (each later update or delete logs its whole old row, which the reverse stream's
 * conflict check needs), then a logical slot (and its publication, for pgoutput) is created on the
 * target. The slot's consistent point is after every committed forward write, so the reverse
 * stream holds each write the application makes from then on and none of pgferry's own.
 *
 * A way back that cannot be made (a permanent error) does not fail the cutover: the database goes on
 * without it, and says so. Removed when the window ends (finalize, fall back, the WAL bound) and whenever a migration fails
 * or is deleted: the slot and publication on the target, the replay position on the source, the
 * target's replica identities back to the source's, the source's held triggers back to their states.
 */
import { withClient, withPair } from '../pg/connect';
import { isRetryable, sqlstateOf } from '../pg/retryable';
import { dropSlotAndPublication, ensureSlot, slotNameFor } from '../cdc/slot';
import { dropProgress } from '../cdc/progress';
import { matchReplicaIdentity, useFullReplicaIdentity } from '../cdc/replica-identity';
import { restoreFiringStates } from '../schema/trigger-states';
import { newReverseRecord, type ReverseRecord } from '../model/fallback';
import { getDatabase, listDatabases } from '../store/databases';
import type { DatabaseKey, MigrationKey, Result } from './contracts';
import { databaseEndpoints, endpointsOf, type MigrationEndpoints } from './endpoints';
import { onDatabase } from '../pg/endpoint';
import { ok, setDb } from './record';
import { updateMigration } from '../store/migrations';
import type { Runtime } from './runtime';

/** The reverse slot on the target (also its publication and the replay position's name on the source). */
export function reverseSlotOf(k: DatabaseKey): string {
  return slotNameFor(`rev.${k.server}.${k.name}`, k.db);
}

/**
 * At cutover, after the drain and verification, before the database completes: the reverse slot.
 * A no-op unless the migration has fallbackAfterCutover; safe to repeat (an existing slot is kept).
 */
export async function prepareReverse(rt: Runtime, k: DatabaseKey): Promise<Result<{ enabled: boolean }>> {
  const e = await databaseEndpoints(rt, k);
  if (!e.record.fallback?.enabled) return ok({ enabled: false });
  const row = (await getDatabase(rt.store, k, k.db))?.record;
  if (row?.reverse) return ok({ enabled: true });
  try {
    const slot = await withClient(e.target, rt.settings.connectTimeoutMs, async (t) => {
      await useFullReplicaIdentity(t);
      return ensureSlot(t, reverseSlotOf(k), { plugin: rt.decoder === 'wal2json' ? 'auto' : 'pgoutput' });
    });
    await setDb(rt, k, (r) => ({
      ...r,
      reverse: r.reverse ?? newReverseRecord(slot.slotName, slot.plugin, slot.startLsn),
      migrationOperation: 'Cutting over: the way back is ready (a slot on the target captures every write from now on)',
    }));
    return ok({ enabled: true });
  } catch (err) {
    if (isRetryable(err)) throw err;
    await noWayBack(rt, e, k, err);
    return ok({ enabled: false });
  }
}

/**
 * The way back cannot be made (e.g. the target login may not alter the tables): the data is
 * complete and verified, so the cutover goes on — failing it now would leave the source drained
 * and the target unusable. What was made is removed, and the database's row and the migration say
 * plainly that this database has no way back, before anyone points an application at the target.
 */
async function noWayBack(rt: Runtime, e: MigrationEndpoints, k: DatabaseKey, err: unknown): Promise<void> {
  const reason = `The way back could not be made: ${err instanceof Error ? err.message : String(err)}. The cutover goes on without it; validation (603960–603969) names what the logins need`;
  await closeReverse(rt, e, k, false);
  await setDb(rt, k, (r) => ({ ...r, reverse: { ...newReverseRecord(reverseSlotOf(k), rt.decoder, '0/0'), state: 'Failed', message: reason, endedOn: new Date().toISOString() } }));
  await updateMigration(rt.store, k.server, k.name, (m) => (m.fallback ? { ...m, fallback: { ...m.fallback, error: `${k.db}: ${reason}` } } : undefined));
}

/** A database that does not exist (any more) has nothing of ours; anything transient is retried. */
function ignoreMissing(err: unknown): void {
  if (isRetryable(err)) throw err;
  if (sqlstateOf(err) === '3D000' || /does not exist/.test(err instanceof Error ? err.message : '')) return;
  throw err;
}

/**
 * Removes the way back of one database, whatever is left of it (safe to repeat): the slot and
 * publication on the target, the replay position on the source, the target's replica identities
 * back to the source's, and the source's triggers back to their states when they were held.
 */
export async function closeReverse(rt: Runtime, e: MigrationEndpoints, k: DatabaseKey, heldTriggers: boolean): Promise<void> {
  const timeoutMs = rt.settings.connectTimeoutMs;
  await withClient(e.target, timeoutMs, (t) => dropSlotAndPublication(t, reverseSlotOf(k))).catch(ignoreMissing);
  await withPair(e.source, e.target, timeoutMs, async (s, t) => {
    await matchReplicaIdentity(s, t);
    if (heldTriggers) await restoreFiringStates(t, s);
    await dropProgress(s, reverseSlotOf(k));
  }).catch(ignoreMissing);
}

/**
 * Safety net of a migration that fails, is canceled, or ends its window: no reverse slot, replay
 * position or altered identity is left for the databases named (all by default). Rows are marked
 * only where a stream was still running.
 */
export async function dropReverse(rt: Runtime, key: MigrationKey, reason: string, only?: readonly string[]): Promise<void> {
  const e = await endpointsOf(rt, key);
  if (!e.record.fallback?.enabled) return;
  const rows = new Map((await listDatabases(rt.store, key)).map((d) => [d.databaseName, d]));
  for (const db of only ?? e.record.dbsToMigrate) {
    const reverse: ReverseRecord | undefined = rows.get(db)?.reverse;
    const k = { ...key, db };
    await closeReverse(rt, { record: e.record, source: onDatabase(e.source, db), target: onDatabase(e.target, db) }, k, reverse?.heldTriggers === true);
    if (reverse && !['FellBack', 'Finalized', 'Failed'].includes(reverse.state)) {
      await setDb(rt, k, (r) => (r.reverse ? { ...r, reverse: { ...r.reverse, state: 'Failed', message: reason, endedOn: new Date().toISOString(), latency: 0 } } : undefined));
    }
  }
}
