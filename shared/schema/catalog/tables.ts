/**
 * Tables (ordinary and partitioned) and their columns. Version-aware: identity columns from 10,
 * generated columns from 12, per-column compression from 14, WITH OIDS (relhasoids) before 12,
 * attstattarget NULL-able from 17.
 */
import { aclColumns, aclItems, notExtensionMember, optionsArray, rows, userSchema, type AclFields, type AclItem, type CatalogContext } from './filters';

export interface TableRow extends AclFields {
  oid: number;
  schema: string;
  name: string;
  /** r = ordinary, p = partitioned. */
  relkind: 'r' | 'p';
  unlogged: boolean;
  is_partition: boolean;
  /** pg_get_partkeydef, e.g. `RANGE (logdate)`, for partitioned tables. */
  partition_key: string | null;
  /** pg_get_expr(relpartbound), e.g. `FOR VALUES IN (1, 2)` or `DEFAULT`. */
  partition_bound: string | null;
  /** Parents in inhseqno order (for a partition: its one parent). */
  parents: number[];
  /** `name='value'` items. */
  options: string[] | null;
  toast_options: string[] | null;
  /** d default, n nothing, f full, i index. */
  replica_identity: string;
  row_security: boolean;
  force_row_security: boolean;
  /** Only before PostgreSQL 12. */
  has_oids: boolean;
  /** Typed table (CREATE TABLE … OF type): the type's OID, or 0. */
  of_type: number;
}

export async function readTables(ctx: CatalogContext): Promise<TableRow[]> {
  const v = ctx.versionNum;
  return rows<TableRow>(ctx, `
    SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, ${aclColumns('c.relacl', 'c.relowner')},
           c.relpersistence = 'u' AS unlogged, c.relispartition AS is_partition,
           CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_key,
           CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
           ARRAY(SELECT i.inhparent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) AS parents,
           ${optionsArray('c.reloptions')} AS options, ${optionsArray('tc.reloptions')} AS toast_options, c.relreplident::text AS replica_identity,
           c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security,
           ${v < 120000 ? 'c.relhasoids' : 'false'} AS has_oids, c.reloftype AS of_type
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_catalog.pg_class tc ON tc.oid = c.reltoastrelid
     WHERE c.relkind IN ('r', 'p') AND ${userSchema('n')} AND ${notExtensionMember('pg_class', 'c.oid')}
     ORDER BY 2, 3`);
}

export interface ColumnRow {
  relid: number;
  attnum: number;
  name: string;
  type: string;
  /** Type name without modifiers, e.g. `integer`, for the chunk-key choice. */
  type_oid: number;
  not_null: boolean;
  is_local: boolean;
  inh_count: number;
  /** pg_attrdef OID and expression. */
  default_oid: number | null;
  default_expr: string | null;
  /** a = ALWAYS, d = BY DEFAULT, '' = none. */
  identity: string;
  /** s = stored generated, '' = none. */
  generated: string;
  storage: string;
  type_storage: string;
  /** null or -1 when unset. */
  stat_target: number | null;
  options: string[] | null;
  /** p = pglz, l = lz4, '' = default (14+). */
  compression: string;
  collation: [string, string] | null;
  acl: AclItem[] | null;
}

/** The attribute options PostgreSQL documents (ALTER TABLE … ALTER COLUMN … SET): the only ones copied. */
const COLUMN_OPTIONS = ['n_distinct', 'n_distinct_inherited'];

export async function readColumns(ctx: CatalogContext): Promise<ColumnRow[]> {
  const v = ctx.versionNum;
  return rows<ColumnRow>(ctx, `
    SELECT a.attrelid AS relid, a.attnum, a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
           a.atttypid AS type_oid, a.attnotnull AS not_null, a.attislocal AS is_local, a.attinhcount AS inh_count,
           ad.oid AS default_oid, pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS default_expr,
           a.attidentity::text AS identity, ${v >= 120000 ? 'a.attgenerated::text' : "''"} AS generated,
           a.attstorage::text AS storage, t.typstorage::text AS type_storage, a.attstattarget::int AS stat_target,
           ${optionsArray('a.attoptions', COLUMN_OPTIONS)} AS options, ${v >= 140000 ? 'a.attcompression::text' : "''"} AS compression,
           CASE WHEN a.attcollation <> t.typcollation THEN
             (SELECT ARRAY[cn.nspname::text, co.collname::text] FROM pg_catalog.pg_collation co
                JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation,
           ${aclItems('a.attacl')} AS acl
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
       AND ${userSchema('n')} AND ${notExtensionMember('pg_class', 'c.oid')}
     ORDER BY a.attrelid, a.attnum`);
}
