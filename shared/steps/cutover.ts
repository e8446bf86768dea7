/**
 * The cutover step: the user asked for it, so the migration shows CompletingMigration and the
 * database gets its end position, the source's current WAL insert position (unlike the write
 * position it covers asynchronous commits not yet written out). The CDC loop then drains to it.
 */
import { withClient } from '../pg/connect';
import { currentInsertLsn } from '../cdc/lsn';
import { updateMigration } from '../store/migrations';
import type { DatabaseKey, Result } from './contracts';
import { databaseEndpoints } from './endpoints';
import { ok, setDb } from './record';
import type { Runtime } from './runtime';

export async function beginCutover(rt: Runtime, k: DatabaseKey): Promise<Result<{ endLsn: string }>> {
  const e = await databaseEndpoints(rt, k);
  await updateMigration(rt.store, k.server, k.name, (m) => (m.state === 'WaitingForUserAction' || m.state === 'InProgress' ? { ...m, state: 'InProgress', subState: 'CompletingMigration' } : undefined));
  await setDb(rt, k, (r) => ({ ...r, migrationState: 'InProgress', migrationOperation: 'Cutting over: applying the last changes' }));
  return ok({ endLsn: await withClient(e.source, rt.settings.connectTimeoutMs, currentInsertLsn) });
}
