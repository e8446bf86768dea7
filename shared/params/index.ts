/**
 * The server-parameter report of a migration (GET …/migrations/{name}/parameters): the source's
 * settings that the target does not share, with the command for each. It reads both servers with
 * the migration's stored credentials and changes nothing.
 */
import type { Client } from 'pg';
import { closeQuietly, connect } from '../pg/connect';
import { PgConnectionError } from '../pg/errors';
import { parseMigrationName, parseServerName } from '../model/names';
import { unwrap } from '../model/errors';
import { getMigration } from '../store/migrations';
import { ApiError, notFound } from '../api/errors';
import { endpointsOf } from '../steps/endpoints';
import type { Runtime } from '../steps/runtime';
import { readDatabaseSettings, readSettings } from './catalog';
import { compareParameters, type ParameterDifference } from './compare';

export { compareParameters, display, shellQuote, type ParameterDifference } from './compare';
export { categoryOf, type Category } from './categories';
export { readSettings, readDatabaseSettings } from './catalog';

/** Reads both servers and compares them; `databases` are the migrated ones. */
export async function parameterReport(source: Client, target: Client, server: string, databases: readonly string[]): Promise<ParameterDifference[]> {
  const [s, t] = [await readSettings(source), await readSettings(target)];
  const [sd, td] = [await readDatabaseSettings(source, databases), await readDatabaseSettings(target, databases)];
  return compareParameters({ server, source: s, target: t, sourceDatabases: sd, targetDatabases: td });
}

export async function migrationParameters(rt: Runtime, serverParam: string, nameParam: string): Promise<{ value: ParameterDifference[] }> {
  const server = unwrap(parseServerName(serverParam));
  const name = unwrap(parseMigrationName(nameParam));
  const found = await getMigration(rt.store, server, name);
  if (!found) throw notFound(`Migration ${name} on server ${server}`);
  let e: Awaited<ReturnType<typeof endpointsOf>>;
  try {
    e = await endpointsOf(rt, { server, name });
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('no stored credentials')) {
      throw new ApiError(409, 'CredentialsNotAvailable', `Migration ${name} has ended and its credentials were deleted, so the servers cannot be read; compare the parameters with a new migration in Validate mode`);
    }
    throw err;
  }
  const timeoutMs = rt.settings.connectTimeoutMs;
  let source: Client | undefined;
  let target: Client | undefined;
  try {
    // The report is about the servers' own settings: keep them, this session moves no values.
    source = await connect(e.source, { timeoutMs, keepServerFormats: true });
    target = await connect(e.target, { timeoutMs, keepServerFormats: true });
    return { value: await parameterReport(source, target, server, e.record.dbsToMigrate) };
  } catch (err) {
    if (err instanceof PgConnectionError) throw new ApiError(502, 'ServerUnreachable', err.message);
    throw err;
  } finally {
    if (source) await closeQuietly(source);
    if (target) await closeQuietly(target);
  }
}
