/**
 * Fresh databases per test file: cheap (CREATE DATABASE from template0 takes milliseconds) and
 * isolated, so files can run in parallel on the shared clusters.
 */
import { randomBytes } from 'node:crypto';
import type { ServerInfo } from './cluster';
import { withAdmin } from '../../emulator/local/admin';

export { adminClient, sql, withAdmin } from '../../emulator/local/admin';

/** Creates a uniquely named database (label + random suffix) and returns its name. */
export async function createTestDatabase(server: ServerInfo, label: string, name?: string): Promise<string> {
  const db = name ?? `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase().slice(0, 40)}_${randomBytes(4).toString('hex')}`;
  await withAdmin(server, 'postgres', (c) => c.query(`CREATE DATABASE "${db.replace(/"/g, '""')}" TEMPLATE template0 ENCODING 'UTF8'`));
  return db;
}

/** Drops a test database, first terminating sessions and dropping any replication slot on it. */
export async function dropTestDatabase(server: ServerInfo, name: string): Promise<void> {
  await withAdmin(server, 'postgres', async (c) => {
    await c.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active', [name]);
    await c.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  });
}
