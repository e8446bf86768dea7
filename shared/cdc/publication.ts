/**
 * pgoutput's publication, created by the source login. `FOR ALL TABLES` needs a superuser, which
 * managed services never give (azure_pg_admin, rds_superuser are not); any other login creates it
 * `FOR TABLE`, listing the tables pgferry replicates — which PostgreSQL allows only to a login
 * with the privileges of each table's owner, and with CREATE on the database. Validation checks
 * both up front (publicationBlockers) and names the GRANT that fixes each.
 *
 * The tables: permanent ordinary tables (partitions included: publish_via_partition_root stays
 * false, so changes arrive as the leaf partitions the copy writes) in user schemas, other than
 * extension members (the extension recreates those). Unlogged tables cannot be published; their
 * changes are not in the WAL anyway (validation warns).
 */
import type { ClientBase } from 'pg';
import { quoteIdent, quoteQualified } from '../pg/ident';
import { userSchema } from '../pg/user-schemas';

export interface PublishedTable {
  schema: string;
  table: string;
  owner: string;
  /** The login has the owner's privileges (is it, or inherits from it). */
  owned: boolean;
}

export async function publishableTables(client: ClientBase): Promise<PublishedTable[]> {
  const { rows } = await client.query<PublishedTable>(
    `SELECT n.nspname AS schema, c.relname AS table, pg_catalog.pg_get_userbyid(c.relowner) AS owner,
            pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE') AS owned
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND ${userSchema('n')}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x
                         WHERE x.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND x.objid = c.oid AND x.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return rows;
}

async function isSuperuser(client: ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ s: boolean }>(`SELECT rolsuper AS s FROM pg_catalog.pg_roles WHERE rolname = current_user`);
  return rows[0]?.s === true;
}

/** The CREATE PUBLICATION statement this login can run: FOR ALL TABLES as superuser, else FOR TABLE. */
export async function publicationStatement(client: ClientBase, name: string): Promise<string> {
  if (await isSuperuser(client)) return `CREATE PUBLICATION ${quoteIdent(name)} FOR ALL TABLES`;
  const tables = await publishableTables(client);
  // A publication without tables is valid: a database with none has nothing to replay.
  if (tables.length === 0) return `CREATE PUBLICATION ${quoteIdent(name)}`;
  return `CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${tables.map((t) => quoteQualified(t.schema, t.table)).join(', ')}`;
}

export interface PublicationBlockers {
  /** The login may not create objects in the database (CREATE PUBLICATION needs it). */
  noCreate: boolean;
  /** Tables whose owner's privileges the login lacks, by owner. */
  notOwned: Map<string, string[]>;
}

/** What stops this (non-superuser) login from creating the publication; undefined for a superuser. */
export async function publicationBlockers(client: ClientBase): Promise<PublicationBlockers | undefined> {
  if (await isSuperuser(client)) return undefined;
  const { rows } = await client.query<{ c: boolean }>(`SELECT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE') AS c`);
  const notOwned = new Map<string, string[]>();
  for (const t of await publishableTables(client)) {
    if (t.owned) continue;
    const list = notOwned.get(t.owner);
    const q = quoteQualified(t.schema, t.table);
    if (list) list.push(q);
    else notOwned.set(t.owner, [q]);
  }
  return { noCreate: rows[0]?.c !== true, notOwned };
}
