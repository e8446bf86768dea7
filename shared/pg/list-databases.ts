/**
 * The databases a user can choose to migrate: everything connectable except templates and the
 * maintenance databases managed services keep for themselves.
 */
import type { ClientBase } from 'pg';
import { closeQuietly, connect, type ConnectOptions } from './connect';
import type { ServerEndpoint } from './endpoint';

/** Databases that belong to the provider, not the user (Azure, AWS, Google, DigitalOcean, Aiven). */
export const PROVIDER_MAINTENANCE_DATABASES = [
  'azure_maintenance',
  'azure_sys',
  'rdsadmin',
  'cloudsqladmin',
  'alloydbadmin',
  'alloydbmetadata',
  '_dodb',
  '_aiven',
] as const;

export interface DatabaseInfo {
  name: string;
  /** pg_database_size; null when the user may not CONNECT to it (the size function would fail). */
  sizeBytes: number | null;
  owner: string;
  encoding: string;
  collate: string;
  ctype: string;
  /** Always true in listDatabases' answer (others are excluded); kept for the wizard's grid. */
  allowConnections: boolean;
}

/** User databases, sorted by name (byte order). Opens and closes its own connection when given an endpoint. */
export async function listDatabases(from: ClientBase | ServerEndpoint, opts: ConnectOptions = {}): Promise<DatabaseInfo[]> {
  if (!isEndpoint(from)) return queryDatabases(from);
  const client = await connect(from, opts);
  try {
    return await queryDatabases(client);
  } finally {
    await closeQuietly(client);
  }
}

export async function queryDatabases(client: ClientBase): Promise<DatabaseInfo[]> {
  const { rows } = await client.query<{
    name: string;
    size_bytes: string | null;
    owner: string;
    encoding: string;
    collate: string;
    ctype: string;
    allow_connections: boolean;
  }>(
    `SELECT d.datname AS name,
            CASE WHEN has_database_privilege(d.oid, 'CONNECT') THEN pg_database_size(d.oid) END AS size_bytes,
            pg_get_userbyid(d.datdba) AS owner,
            pg_encoding_to_char(d.encoding) AS encoding,
            d.datcollate AS collate,
            d.datctype AS ctype,
            d.datallowconn AS allow_connections
       FROM pg_database d
      WHERE NOT d.datistemplate
        AND d.datallowconn
        AND d.datname <> ALL ($1::text[])
      ORDER BY d.datname COLLATE "C"`,
    [PROVIDER_MAINTENANCE_DATABASES],
  );
  return rows.map((r) => ({
    name: r.name,
    // bigint arrives as text; a database would need 9 PB to lose precision as a number.
    sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
    owner: r.owner,
    encoding: r.encoding,
    collate: r.collate,
    ctype: r.ctype,
    allowConnections: r.allow_connections,
  }));
}

function isEndpoint(x: ClientBase | ServerEndpoint): x is ServerEndpoint {
  return typeof (x as Partial<ServerEndpoint>).sslMode === 'string' && typeof (x as { query?: unknown }).query !== 'function';
}
