/**
 * User-defined collations. Where the locale lives changed across versions: ICU locales were in
 * collcollate before 15, in colliculocale in 15–16 and in colllocale from 17 (with the builtin
 * provider); ICU rules arrived in 16 and nondeterministic collations in 12.
 */
import { aclColumns, FIRST_USER_OID, notExtensionMember, rows, userSchema, type AclFields, type CatalogContext } from './filters';

export interface CollationRow extends AclFields {
  oid: number;
  schema: string;
  name: string;
  /** c = libc, i = icu, b = builtin (17+), d = default (never user-defined). */
  provider: string;
  deterministic: boolean;
  /** Literals (quote_literal) or null. */
  lc_collate: string | null;
  lc_ctype: string | null;
  locale: string | null;
  rules: string | null;
}

export async function readCollations(ctx: CatalogContext): Promise<CollationRow[]> {
  const v = ctx.versionNum;
  const locale =
    v >= 170000 ? 'c.colllocale' : v >= 150000 ? 'c.colliculocale' : `CASE WHEN c.collprovider = 'i' THEN c.collcollate END`;
  const libcOnly = v >= 150000 ? '' : ` AND c.collprovider <> 'i'`;
  return rows<CollationRow>(ctx, `
    SELECT c.oid, n.nspname AS schema, c.collname AS name, ${aclColumns('NULL::pg_catalog.aclitem[]', 'c.collowner')},
           c.collprovider::text AS provider,
           ${v >= 120000 ? 'c.collisdeterministic' : 'true'} AS deterministic,
           CASE WHEN c.collcollate IS NOT NULL${libcOnly} THEN pg_catalog.quote_literal(c.collcollate) END AS lc_collate,
           CASE WHEN c.collctype IS NOT NULL${libcOnly} THEN pg_catalog.quote_literal(c.collctype) END AS lc_ctype,
           pg_catalog.quote_literal(${locale}) AS locale,
           ${v >= 160000 ? 'pg_catalog.quote_literal(c.collicurules)' : 'NULL'} AS rules
      FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
     WHERE ${userSchema('n')} AND ${notExtensionMember('pg_collation', 'c.oid')}
     ORDER BY n.nspname, c.collname`);
}

/** Built-in (pg_catalog) collations that user columns, domains and indexes use, with a count. */
export interface CollationUseRow {
  name: string;
  uses: number;
}

export async function readSystemCollationsInUse(ctx: CatalogContext): Promise<CollationUseRow[]> {
  return rows<CollationUseRow>(ctx, `
    SELECT co.collname AS name, count(*)::int AS uses
      FROM (SELECT a.attcollation AS coll FROM pg_catalog.pg_attribute a
             WHERE a.attrelid >= ${FIRST_USER_OID} AND a.attnum > 0 AND NOT a.attisdropped AND a.attcollation <> 0
            UNION ALL
            SELECT t.typcollation FROM pg_catalog.pg_type t WHERE t.oid >= ${FIRST_USER_OID} AND t.typtype = 'd' AND t.typcollation <> 0
            UNION ALL
            SELECT k.coll FROM pg_catalog.pg_index i, pg_catalog.unnest(i.indcollation::oid[]) AS k(coll)
             WHERE i.indexrelid >= ${FIRST_USER_OID} AND k.coll <> 0) used
      JOIN pg_catalog.pg_collation co ON co.oid = used.coll
     WHERE co.collnamespace = 'pg_catalog'::pg_catalog.regnamespace AND co.collname NOT IN ('default', 'C', 'POSIX')
     GROUP BY co.collname ORDER BY 1`);
}
