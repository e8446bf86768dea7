/**
 * Fresh databases per test file: cheap (CREATE DATABASE from template0 takes milliseconds) and
 * isolated, so files can run in parallel on the shared clusters.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ServerInfo } from './cluster';

/** A superuser client on `database` of a rig server (password auth over TCP, as pgferry connects). */
export async function adminClient(server: ServerInfo, database = 'postgres'): Promise<pg.Client> {
  const client = new pg.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
    ssl: false,
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Runs fn with an admin client and always closes it. */
export async function withAdmin<T>(server: ServerInfo, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await adminClient(server, database);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

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

/** Runs SQL (several statements allowed) in a database of a rig server. */
export async function sql(server: ServerInfo, database: string, text: string, values?: unknown[]): Promise<pg.QueryResult> {
  return withAdmin(server, database, (c) => c.query(text, values));
}
