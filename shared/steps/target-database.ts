/**
 * Step 1 of a database: its target database exists, empty, with the source's encoding, locale and
 * (where the target login may) owner. An existing empty database is kept; a non-empty one is
 * dropped only when the user asked for overwriting.
 */
import { withClient } from '../pg/connect';
import { canActAs, createDatabase, databaseExists, dropDatabase, isDatabaseEmpty, readDatabaseLocale } from '../pg/databases';
import type { DatabaseKey, Result } from './contracts';
import { databaseEndpoints, endpointsOf } from './endpoints';
import { fail, nowIso, ok, permanent, setDb } from './record';
import type { Runtime } from './runtime';

export async function prepareTargetDatabase(rt: Runtime, k: DatabaseKey): Promise<Result<null>> {
  const server = await endpointsOf(rt, k);
  const db = await databaseEndpoints(rt, k);
  const timeoutMs = rt.settings.connectTimeoutMs;
  await setDb(rt, k, (r) => ({ ...r, startedOn: r.startedOn ?? nowIso(), migrationState: 'InProgress', migrationOperation: 'Preparing the target database' }));
  try {
    const locale = await withClient(db.source, timeoutMs, readDatabaseLocale);
    if (!locale) return fail(`database ${k.db} is missing on the source`);
    return await withClient(server.target, timeoutMs, async (t) => {
      if (await databaseExists(t, k.db)) {
        if (await withClient(db.target, timeoutMs, isDatabaseEmpty)) return ok(null);
        if (!server.record.overwriteDbsInTarget) {
          return fail(`Database ${k.db} already exists on the target and is not empty while overwriteDbsInTarget is False; drop it or set overwriteDbsInTarget to True`, { code: '603101' });
        }
        await dropDatabase(t, k.db);
      }
      await createDatabase(t, k.db, locale, (await canActAs(t, locale.owner)) ? locale.owner : undefined);
      return ok(null);
    });
  } catch (err) {
    return permanent(err, { phase: 'prepare target database', database: k.db });
  }
}
