/**
 * Every table pgferry keeps in Table Storage, with its key scheme: the one list of durable
 * progress and state (STYLE.md §6). Keys are built by `keyOf` (keys.ts).
 *
 * | role       | PartitionKey                    | RowKey                                  | one row per                 |
 * |------------|---------------------------------|-----------------------------------------|-----------------------------|
 * | migrations | keyOf(server)                   | keyOf(migration)                        | migration (migrations.ts)   |
 * | databases  | keyOf(server, migration)        | keyOf(database)                         | database of a migration     |
 * | validation | keyOf(server, migration)        | `server` or keyOf('db', database)       | validation scope            |
 * | chunks     | keyOf(server, migration, db, unit) | keyOf(schema, table, chunkNo)        | copy chunk, by copy unit    |
 * |            | keyOf(server, migration, db)    | `~plan`                                 | plan header                 |
 * | secrets    | reserved for shared/secrets     |                                         |                             |
 */

import { TableClient } from '@azure/data-tables';

export const TABLES = {
  migrations: 'Migrations',
  databases: 'Databases',
  validation: 'Validation',
  chunks: 'CopyChunks',
  secrets: 'Secrets',
} as const;
export type TableRole = keyof typeof TABLES;

export const TABLE_ROLES = Object.keys(TABLES) as TableRole[];

/** Production prefix: PgfMigrations, PgfDatabases, … */
export const DEFAULT_TABLE_PREFIX = 'Pgf';

/** Table names are 3–63 alphanumerics starting with a letter; the longest suffix is 10 characters. */
const PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9]{0,52}$/;

export interface StoreContext {
  /** The prefix the table names were built with. */
  readonly prefix: string;
  /** One client per table. */
  readonly tables: Readonly<Record<TableRole, TableClient>>;
}

export interface StoreOptions {
  /** Table name prefix (tests use a random one to isolate runs); default DEFAULT_TABLE_PREFIX. */
  prefix?: string;
}

export function tableName(prefix: string, role: TableRole): string {
  return prefix + TABLES[role];
}

/**
 * Clients for every table from a storage connection string. Plain http is allowed only when the
 * connection string itself asks for it (Azurite); Azure endpoints are https.
 */
export function createStoreContext(connectionString: string, options: StoreOptions = {}): StoreContext {
  const prefix = options.prefix ?? DEFAULT_TABLE_PREFIX;
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`table prefix ${JSON.stringify(prefix)} must be 1–53 letters or digits, starting with a letter`);
  }
  const allowInsecureConnection = /DefaultEndpointsProtocol=http;|TableEndpoint=http:|UseDevelopmentStorage=true/i.test(connectionString);
  const make = (role: TableRole): TableClient =>
    TableClient.fromConnectionString(connectionString, tableName(prefix, role), { allowInsecureConnection });
  const tables = Object.fromEntries(TABLE_ROLES.map((role) => [role, make(role)])) as Record<TableRole, TableClient>;
  return { prefix, tables };
}

/** Creates every table that does not exist yet; safe to call on every start. */
export async function ensureTables(ctx: StoreContext): Promise<void> {
  // TableClient.createTable treats 409 TableAlreadyExists as success.
  await Promise.all(TABLE_ROLES.map((role) => ctx.tables[role].createTable()));
}

/** Deletes every table of this prefix (tests and teardown only). */
export async function dropTables(ctx: StoreContext): Promise<void> {
  // TableClient.deleteTable treats 404 as success.
  await Promise.all(TABLE_ROLES.map((role) => ctx.tables[role].deleteTable()));
}
