/**
 * Catalog reads for the database-level checks on one source database, each a small function that
 * receives its client. "User objects" excludes system schemas and extension members throughout,
 * because extensions recreate their own objects.
 */
import type pg from 'pg';
import { userSchema } from '../pg/user-schemas';

const USER_NS = userSchema('n');
const NOT_EXT_MEMBER = (cls: string, col: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${cls}'::regclass AND d.objid = ${col} AND d.deptype = 'e')`;

export interface TableIdentity {
  schema: string;
  table: string;
  /** d = default (primary key), n = nothing, f = full, i = index */
  replident: string;
  hasPk: boolean;
  unlogged: boolean;
  readable: boolean;
  /**
   * REPLICA IDENTITY FULL tables only: the float4, float8 and numeric columns (declared as such,
   * not through a domain), whose NULL, NaN and ±Infinity wal2json prints alike.
   */
  floatColumns: string[];
}

/** Ordinary tables and leaf partitions (what logical decoding sees), with their replica identity. */
export async function tableIdentities(client: pg.Client): Promise<TableIdentity[]> {
  const { rows } = await client.query<{ schema: string; table: string; replident: string; has_pk: boolean; unlogged: boolean; readable: boolean; float_columns: string[] }>(`
    SELECT n.nspname AS schema, c.relname AS table, c.relreplident::text AS replident,
           EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk,
           c.relpersistence = 'u' AS unlogged,
           has_table_privilege(c.oid, 'SELECT') AS readable,
           ARRAY(SELECT a.attname::text FROM pg_attribute a
                  WHERE c.relreplident = 'f' AND a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                    AND a.atttypid IN ('pg_catalog.float4'::regtype, 'pg_catalog.float8'::regtype, 'pg_catalog.numeric'::regtype)
                  ORDER BY a.attnum) AS float_columns
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND ${USER_NS} AND ${NOT_EXT_MEMBER('pg_class', 'c.oid')}
     ORDER BY 1, 2`);
  return rows.map((r) => ({
    schema: r.schema, table: r.table, replident: r.replident, hasPk: r.has_pk, unlogged: r.unlogged, readable: r.readable, floatColumns: r.float_columns,
  }));
}

/** Tables WITH OIDS (the column relhasoids exists only before PostgreSQL 12). */
export async function tablesWithOids(client: pg.Client, versionNum: number): Promise<string[]> {
  if (versionNum >= 120000) return [];
  const { rows } = await client.query<{ name: string }>(`
    SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND c.relhasoids AND ${USER_NS} ORDER BY 1`);
  return rows.map((r) => r.name);
}

export interface SourceExtension { name: string; version: string; schema: string }

export async function extensions(client: pg.Client): Promise<SourceExtension[]> {
  const { rows } = await client.query<SourceExtension>(`
    SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname <> 'plpgsql' ORDER BY 1`);
  return rows;
}

export async function userCasts(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(`
    SELECT format('%s AS %s', c.castsource::regtype, c.casttarget::regtype) AS name FROM pg_cast c
     WHERE c.oid >= 16384 AND ${NOT_EXT_MEMBER('pg_cast', 'c.oid')} ORDER BY 1`);
  return rows.map((r) => r.name);
}

/** CREATE TYPE base types (typtype b) that are not array types and not extension members. */
export async function userBaseTypes(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(`
    SELECT format('%I.%I', n.nspname, t.typname) AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typtype = 'b' AND ${USER_NS} AND ${NOT_EXT_MEMBER('pg_type', 't.oid')}
       AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid) ORDER BY 1`);
  return rows.map((r) => r.name);
}

/** Procedural languages other than the built-in ones, with up to five functions that use each. */
export async function userLanguages(client: pg.Client): Promise<Array<{ name: string; functions: string[] }>> {
  const { rows } = await client.query<{ name: string; functions: string[] }>(`
    SELECT l.lanname AS name,
           ARRAY(SELECT format('%I.%I', n.nspname, p.proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE p.prolang = l.oid AND ${USER_NS} ORDER BY 1 LIMIT 5) AS functions
      FROM pg_language l
     WHERE l.lanname NOT IN ('internal', 'c', 'sql', 'plpgsql')
       AND EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.prolang = l.oid AND ${USER_NS})
     ORDER BY 1`);
  return rows;
}

/** Roles that own user objects or appear in their ACLs (PUBLIC excluded). */
export async function referencedRoles(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(`
    WITH objs AS (
      SELECT c.relowner AS owner, c.relacl AS acl FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_NS}
      UNION ALL SELECT n.nspowner, n.nspacl FROM pg_namespace n WHERE ${USER_NS} AND n.nspname <> 'public'
      UNION ALL SELECT p.proowner, p.proacl FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_NS}
      UNION ALL SELECT t.typowner, t.typacl FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${USER_NS}
    ), ids AS (
      SELECT owner AS id FROM objs
      UNION SELECT (aclexplode(acl)).grantee FROM objs WHERE acl IS NOT NULL
    )
    SELECT r.rolname AS name FROM ids JOIN pg_roles r ON r.oid = ids.id ORDER BY 1`);
  return rows.map((r) => r.name);
}

/** User objects owned by a superuser role (e.g. tables created as postgres). */
export async function superuserOwnedObjects(client: pg.Client): Promise<{ owners: string[]; objects: string[]; count: number }> {
  const { rows } = await client.query<{ owner: string; name: string }>(`
    SELECT r.rolname AS owner, format('%I.%I', n.nspname, c.relname) AS name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner
     WHERE r.rolsuper AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${USER_NS} AND ${NOT_EXT_MEMBER('pg_class', 'c.oid')}
    UNION ALL
    SELECT r.rolname, format('%I.%I()', n.nspname, p.proname)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_roles r ON r.oid = p.proowner
     WHERE r.rolsuper AND ${USER_NS} AND ${NOT_EXT_MEMBER('pg_proc', 'p.oid')}
     ORDER BY 2`);
  return { owners: [...new Set(rows.map((r) => r.owner))], objects: rows.map((r) => r.name), count: rows.length };
}

export async function largeObjectCount(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_largeobject_metadata');
  return Number(rows[0]?.n ?? 0);
}

export interface DatabaseLocale {
  encoding: string;
  collate: string;
  ctype: string;
  /** 'c' libc, 'i' ICU (PostgreSQL 15+), 'b' builtin (17+). */
  provider: string;
  iculocale: string | null;
}

export async function databaseLocale(client: pg.Client, versionNum: number): Promise<DatabaseLocale> {
  const provider = versionNum >= 150000 ? 'd.datlocprovider::text' : `'c'`;
  const icu = versionNum >= 170000 ? 'd.datlocale' : versionNum >= 150000 ? 'd.daticulocale' : 'NULL';
  const { rows } = await client.query<DatabaseLocale>(`
    SELECT pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collate, d.datctype AS ctype,
           ${provider} AS provider, ${icu} AS iculocale
      FROM pg_database d WHERE d.datname = current_database()`);
  const r = rows[0];
  if (!r) throw new Error('current database missing from pg_database');
  return r;
}

export interface UsedCollation { schema: string; name: string; locale: string; provider: string; uses: string[] }

/** Collations other than the database default that columns or indexes use. */
export async function usedCollations(client: pg.Client, versionNum: number): Promise<UsedCollation[]> {
  const locale = versionNum >= 170000
    ? `coalesce(co.colllocale, co.collcollate)`
    : versionNum >= 150000 ? `coalesce(co.colliculocale, co.collcollate)` : `co.collcollate`;
  // The columns with a collation of their own are read once (not once per collation: a server
  // with ICU has hundreds, and a database thousands of columns).
  const { rows } = await client.query<UsedCollation>(`
    WITH used AS (
      SELECT a.attcollation AS coll, format('%I.%I.%I', n.nspname, c.relname, a.attname) AS use
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE a.attcollation NOT IN (0, 100) AND NOT a.attisdropped AND a.attnum > 0 AND ${USER_NS})
    SELECT cn.nspname AS schema, co.collname AS name, coalesce(${locale}, '') AS locale, co.collprovider::text AS provider,
           ARRAY(SELECT DISTINCT u.use FROM used u WHERE u.coll = co.oid ORDER BY 1 LIMIT 5) AS uses
      FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
     WHERE co.oid <> 100 AND (co.oid IN (SELECT coll FROM used) OR (${userSchema('cn')}))
     ORDER BY 1, 2`);
  return rows;
}

/** Counts of user objects, to tell an empty database from one in use. */
export async function userObjectSummary(client: pg.Client): Promise<{ tables: number; other: number }> {
  const { rows } = await client.query<{ tables: string; other: string }>(`
    SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${USER_NS}) AS tables,
           (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_NS})
         + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${USER_NS} AND t.typtype IN ('e', 'd', 'c', 'r') AND t.typrelid = 0)
         + (SELECT count(*) FROM pg_namespace n WHERE ${USER_NS} AND n.nspname <> 'public') AS other`);
  return { tables: Number(rows[0]?.tables ?? 0), other: Number(rows[0]?.other ?? 0) };
}
