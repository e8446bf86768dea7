/**
 * Databases as a whole: what the source's looks like, and creating or dropping one on the target.
 * CREATE/DROP DATABASE take no parameters, so names are quoted identifiers and locale names
 * quoted literals read from the source's own catalog.
 */
import type { ClientBase } from 'pg';
import { quoteIdent } from './ident';
import { userSchema } from './user-schemas';

/** Encoding, locale and owner of the database the client is connected to. */
export interface DatabaseLocale {
  encoding: string;
  collate: string;
  ctype: string;
  owner: string;
}

export async function readDatabaseLocale(client: ClientBase): Promise<DatabaseLocale | undefined> {
  const { rows } = await client.query<DatabaseLocale>(
    `SELECT pg_catalog.pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype, pg_catalog.pg_get_userbyid(datdba) AS owner
       FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()`);
  return rows[0];
}

export async function databaseExists(client: ClientBase, name: string): Promise<boolean> {
  const { rows } = await client.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name]);
  return rows.length > 0;
}

/** No relation in a user schema (pgferry's own bookkeeping does not count). */
export async function isDatabaseEmpty(client: ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE ${userSchema('n')}`);
  return Number(rows[0]?.n ?? 0) === 0;
}

/** Whether the session's user may act as `role` (own objects as it, grant to it). */
export async function canActAs(client: ClientBase, role: string): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(
    `SELECT pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER') AS ok FROM pg_catalog.pg_roles r WHERE r.rolname = $1`, [role]);
  return rows[0]?.ok === true;
}

/** Drops the database, ending other sessions on it (PostgreSQL 13+). */
export async function dropDatabase(client: ClientBase, name: string): Promise<void> {
  await client.query(`DROP DATABASE ${quoteIdent(name)} WITH (FORCE)`);
}

/** Creates the database from template0 with the source's encoding and locale; the owner when given. */
export async function createDatabase(client: ClientBase, name: string, locale: Omit<DatabaseLocale, 'owner'>, owner?: string): Promise<void> {
  const ownerClause = owner === undefined ? '' : ` OWNER ${quoteIdent(owner)}`;
  await client.query(`CREATE DATABASE ${quoteIdent(name)}${ownerClause} TEMPLATE template0 ENCODING ${quoteLiteral(locale.encoding)}
    LC_COLLATE ${quoteLiteral(locale.collate)} LC_CTYPE ${quoteLiteral(locale.ctype)}`);
}

/** A catalog-read name as a string literal (no parameters in CREATE DATABASE). */
function quoteLiteral(v: string): string {
  if (v.includes('\0')) throw new Error('NUL in a locale name');
  return `'${v.replace(/'/g, "''")}'`;
}
