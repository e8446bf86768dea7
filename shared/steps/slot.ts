/**
 * Step 2 of an Online database: its logical replication slot on the source, created BEFORE any row
 * is copied (DESIGN.md, consistency), and the drop of slots when a database or migration ends.
 */
import { withClient } from '../pg/connect';
import { onDatabase } from '../pg/endpoint';
import { isRetryable } from '../pg/retryable';
import { serverVersion } from '../pg/server-facts';
import { dropSlotAndPublication, ensureSlot, slotNameFor, type Plugin } from '../cdc/slot';
import { dropProgress } from '../cdc/progress';
import { getDatabase } from '../store/databases';
import type { DatabaseKey, MigrationKey, Result } from './contracts';
import { databaseEndpoints, endpointsOf } from './endpoints';
import { ok, permanent, setDb } from './record';
import type { Runtime } from './runtime';

/** Slot names include the target server: two targets may run migrations of the same name. */
export function slotOf(k: DatabaseKey): string {
  return slotNameFor(`${k.server}.${k.name}`, k.db);
}

export async function createSlot(rt: Runtime, k: DatabaseKey): Promise<Result<{ plugin: Plugin; startLsn: string }>> {
  const e = await databaseEndpoints(rt, k);
  const timeoutMs = rt.settings.connectTimeoutMs;
  try {
    // The plugin validation chose; for Migrate without validation, the configured preference
    // (pgoutput needs PostgreSQL 10+; 'auto' falls back to what the source has).
    const chosen = (await getDatabase(rt.store, k, k.db))?.record.plugin;
    const slot = await withClient(e.source, timeoutMs, async (c) => {
      if (chosen === 'wal2json' || chosen === 'pgoutput') return ensureSlot(c, slotOf(k), { plugin: chosen });
      const { serverVersionNum } = await serverVersion(c);
      return ensureSlot(c, slotOf(k), { plugin: serverVersionNum >= 100000 && rt.decoder === 'pgoutput' ? 'pgoutput' : 'auto' });
    });
    // Nothing of this migration is applied yet, so any replay progress recorded on the target under
    // the slot's name is another run's: a Failed or Canceled migration of the same name keeps it (its
    // replication origin is cluster-wide and outlives the target database), and every batch of this
    // run would fail as diverged from it.
    await withClient(e.target, timeoutMs, (c) => dropProgress(c, slotOf(k)));
    await setDb(rt, k, (r) => ({ ...r, slotName: slot.slotName, plugin: slot.plugin, startLsn: r.startLsn ?? slot.startLsn, migrationOperation: 'Replication slot created' }));
    return ok({ plugin: slot.plugin, startLsn: slot.startLsn });
  } catch (err) {
    return permanent(err, { phase: 'create replication slot', database: k.db });
  }
}

/** Drops the slot and publication of every (or the given) database of a migration (idempotent). */
export async function dropAllSlots(rt: Runtime, k: MigrationKey, only?: string[]): Promise<void> {
  const e = await endpointsOf(rt, k);
  for (const db of only ?? e.record.dbsToMigrate) {
    await withClient(onDatabase(e.source, db), rt.settings.connectTimeoutMs, (c) => dropSlotAndPublication(c, slotOf({ ...k, db }))).catch((err: unknown) => {
      // A database that does not exist has no slot; anything transient is retried by Durable.
      if (isRetryable(err)) throw err;
    });
  }
}
