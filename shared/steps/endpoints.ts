/**
 * The connection endpoints of a migration, with passwords read from shared/secrets at the moment
 * an activity connects: the only place a password meets a connection.
 */
import { onDatabase, type ServerEndpoint } from '../pg/endpoint';
import { getMigration, type MigrationRecord } from '../store/migrations';
import { NotFoundError } from '../store/errors';
import { getSecrets } from '../secrets/store';
import type { DatabaseKey, MigrationKey } from './contracts';
import type { Runtime } from './runtime';
import { addKnownSecret } from '../log/redact';

export interface MigrationEndpoints {
  record: MigrationRecord;
  source: ServerEndpoint;
  target: ServerEndpoint;
}

export async function loadMigration(rt: Runtime, key: MigrationKey): Promise<MigrationRecord> {
  const found = await getMigration(rt.store, key.server, key.name);
  if (!found) throw new NotFoundError(`migration ${key.server}/${key.name}`);
  return found.record;
}

export async function endpointsOf(rt: Runtime, key: MigrationKey): Promise<MigrationEndpoints> {
  const record = await loadMigration(rt, key);
  const secrets = await getSecrets(rt.store, key.server, key.name, rt.keys);
  // Whatever text reaches a log line from here on (a driver error, say) is scrubbed of both.
  addKnownSecret(secrets.sourcePassword);
  addKnownSecret(secrets.targetPassword);
  return {
    record,
    source: { host: record.source.host, port: record.source.port, user: record.source.user, password: secrets.sourcePassword, sslMode: record.sslMode },
    target: { host: record.target.host, port: record.target.port, user: record.target.user, password: secrets.targetPassword, sslMode: record.sslMode },
  };
}

/** The endpoints of one database of the migration: both sides connected to it. */
export async function databaseEndpoints(rt: Runtime, key: DatabaseKey): Promise<MigrationEndpoints> {
  const e = await endpointsOf(rt, key);
  return { record: e.record, source: onDatabase(e.source, key.db), target: onDatabase(e.target, key.db) };
}
