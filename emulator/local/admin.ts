/**
 * Superuser access to a local cluster (tests, benchmarks): password auth over TCP, as pgferry
 * connects, one short-lived client per call.
 */
import pg from 'pg';
import type { ServerInfo } from './cluster';

/** A superuser client on `database` of a local server; the caller ends it. */
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

/** Runs SQL (several statements allowed) in a database of a local server. */
export async function sql(server: ServerInfo, database: string, text: string, values?: unknown[]): Promise<pg.QueryResult> {
  return withAdmin(server, database, (c) => c.query(text, values));
}
