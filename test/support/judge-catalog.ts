/**
 * The judge's own reading of a database's schema, as one line of text per fact ("column
 * public.t.id bigint not null default …"). It shares nothing with pgferry's catalog code, so a
 * mistake there cannot hide itself here.
 *
 * Why catalog reading and not `pg_dump -s`: the only pg_dump here is 15's, which refuses servers of
 * a newer major, and a dump's text depends on the server major it read. A 12 → 18 pair could not be
 * read by one tool on both sides. These queries use only catalog columns and deparse functions
 * (pg_get_constraintdef, pg_get_indexdef, pg_get_triggerdef, pg_get_viewdef, pg_get_functiondef,
 * pg_get_expr, format_type) that exist with the same output from 12 to 18; the few places where a
 * newer major adds catalog rows of its own (18's NOT NULL rows in pg_constraint, 17's MAINTAIN
 * privilege, 15's owner and ACL of schema public) are filtered by name below, each with its reason.
 * Every name is schema-qualified (the session's search_path is empty), so the text is the same
 * whatever either side's defaults.
 */

/** Schemas that never hold user objects: catalogs and pgferry's bookkeeping (hard-coded on purpose, not imported). */
export const NOT_USER_SCHEMAS = ['pg_catalog', 'information_schema', 'pgferry_meta', 'pgferry_cdc'] as const;

/** SQL condition: `${alias}.nspname` is a user schema. */
export function userSchemaSql(alias: string): string {
  const col = `${alias}.nspname`;
  return `${col} NOT IN (${NOT_USER_SCHEMAS.map((s) => `'${s}'`).join(', ')}) AND ${col} !~ '^pg_(toast|temp_|toast_temp_)'`;
}

/** SQL condition: the object (classid, objid) is not a member of an extension. */
function notInExtension(classTable: string, oidExpr: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${classTable}'::regclass AND d.objid = ${oidExpr} AND d.deptype = 'e')`;
}

/**
 * Privileges as "grantee:PRIVILEGE[*]" sorted, with NULL (the default) made explicit by acldefault,
 * so "never granted" and "granted exactly the default" read the same. MAINTAIN (17+) is left out
 * when `maintain` is false: a 16 source has no such privilege while a 17 target's owner holds it by default.
 */
function aclSql(acl: string, kindSql: string, owner: string, maintain: boolean): string {
  return `(SELECT coalesce(string_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END || ':' || a.privilege_type
                                      || CASE WHEN a.is_grantable THEN '*' ELSE '' END, ',' ORDER BY 1), '')
             FROM aclexplode(coalesce(${acl}, acldefault(${kindSql}, ${owner}))) a
            WHERE ${maintain ? 'true' : `a.privilege_type <> 'MAINTAIN'`})`;
}

/** The schema-fact queries; each returns rows of one column `fact`. `maintain`: compare the MAINTAIN privilege. */
export function schemaFactQueries(maintain: boolean): Record<string, string> {
  const rel = (alias: string) => `${userSchema('n')} AND ${notInExtension('pg_class', `${alias}.oid`)}`;
  const userSchema = userSchemaSql;
  return {
    schemas: `
      SELECT 'schema ' || quote_ident(n.nspname)
             -- 15 gave schema public to pg_database_owner with fewer default rights: a property of the target's initdb, not of the migration.
             || CASE WHEN n.nspname = 'public' THEN '' ELSE ' owner ' || pg_get_userbyid(n.nspowner) || ' acl ' || ${aclSql('n.nspacl', `'n'`, 'n.nspowner', maintain)} END AS fact
        FROM pg_namespace n WHERE ${userSchema('n')} AND ${notInExtension('pg_namespace', 'n.oid')}`,
    extensions: `SELECT 'extension ' || quote_ident(e.extname) || ' in ' || quote_ident(n.nspname) AS fact
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'`,
    relations: `
      SELECT 'relation ' || c.oid::regclass::text || ' kind ' || c.relkind::text || ' persistence ' || c.relpersistence::text
             || ' replica identity ' || c.relreplident::text || ' owner ' || pg_get_userbyid(c.relowner)
             || ' rls ' || c.relrowsecurity || '/' || c.relforcerowsecurity
             || coalesce(' partition key ' || pg_get_partkeydef(c.oid), '')
             || coalesce(' partition of ' || (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition) || ' ' || pg_get_expr(c.relpartbound, c.oid), '')
             || CASE WHEN c.relkind = 'm' THEN ' populated ' || c.relispopulated ELSE '' END
             || ' acl ' || ${aclSql('c.relacl', `CASE WHEN c.relkind = 'S' THEN 's'::"char" ELSE 'r'::"char" END`, 'c.relowner', maintain)}
             || coalesce(' comment ' || quote_literal(obj_description(c.oid, 'pg_class')), '') AS fact
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${rel('c')}`,
    columns: `
      SELECT 'column ' || c.oid::regclass::text || '.' || quote_ident(a.attname)
             || ' #' || rank() OVER (PARTITION BY c.oid ORDER BY a.attnum)
             || ' ' || format_type(a.atttypid, a.atttypmod)
             || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
             || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
             || CASE WHEN a.attgenerated <> '' THEN ' generated ' || a.attgenerated::text ELSE '' END
             || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
             || CASE WHEN a.attcollation <> t.typcollation THEN ' collate ' || (SELECT quote_ident(co.collname) FROM pg_collation co WHERE co.oid = a.attcollation) ELSE '' END
             || coalesce(' comment ' || quote_literal(col_description(c.oid, a.attnum)), '') AS fact
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
       WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${rel('c')}`,
    // contype 'n' (18's NOT NULL constraints) is the column's "not null" above; 't' are constraint triggers (below).
    constraints: `
      SELECT 'constraint ' || coalesce(c.conrelid::regclass::text, format_type(c.contypid, NULL)) || ' ' || quote_ident(c.conname)
             || ' ' || pg_get_constraintdef(c.oid) || CASE WHEN c.condeferrable THEN ' deferrable' ELSE '' END
             || CASE WHEN c.condeferred THEN ' deferred' ELSE '' END AS fact
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
       WHERE c.contype IN ('p', 'u', 'f', 'c', 'x') AND ${userSchema('n')}`,
    indexes: `
      SELECT 'index ' || pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END
             || CASE WHEN i.indisreplident THEN ' replica identity' ELSE '' END
             || CASE WHEN i.indisclustered THEN ' clustered' ELSE '' END AS fact
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE ${rel('c')}`,
    // Triggers a partition inherits are internal on 12 and not on 15+: both are listed (tgconstraint = 0
    // keeps out only the foreign-key machinery), so the list is the same on every major.
    triggers: `
      SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text AS fact
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE (NOT t.tgisinternal OR t.tgconstraint = 0) AND ${rel('c')}`,
    views: `
      SELECT 'view ' || c.oid::regclass::text || ' AS ' || regexp_replace(pg_get_viewdef(c.oid), '\\s+', ' ', 'g') AS fact
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('v', 'm') AND ${rel('c')}`,
    functions: `
      SELECT 'function ' || p.oid::regprocedure::text || ' owner ' || pg_get_userbyid(p.proowner)
             || ' acl ' || ${aclSql('p.proacl', `'f'`, 'p.proowner', maintain)}
             || CASE WHEN p.prokind IN ('f', 'p', 'w') THEN ' ' || pg_get_functiondef(p.oid) ELSE ' kind ' || p.prokind::text END
             || coalesce(' comment ' || quote_literal(obj_description(p.oid, 'pg_proc')), '') AS fact
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE ${userSchema('n')} AND ${notInExtension('pg_proc', 'p.oid')}
         -- A range type's multirange constructors exist from 14 and are made by the server (an internal dependency).
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'i')`,
    sequences: `
      SELECT 'sequence ' || quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename) || ' ' || s.data_type::text
             || ' start ' || s.start_value || ' min ' || s.min_value || ' max ' || s.max_value || ' increment ' || s.increment_by
             || ' cycle ' || s.cycle || ' cache ' || s.cache_size
             || coalesce(' owned by ' || (SELECT d.refobjid::regclass::text || '.' || quote_ident(a.attname)
                                            FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                                           WHERE d.classid = 'pg_class'::regclass AND d.objid = (quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename))::regclass
                                             AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0), '') AS fact
        FROM pg_sequences s WHERE s.schemaname NOT IN (${NOT_USER_SCHEMAS.map((x) => `'${x}'`).join(', ')})`,
    types: `
      SELECT 'type ' || format_type(t.oid, NULL) || ' ' || t.typtype::text || ' owner ' || pg_get_userbyid(t.typowner)
             || CASE t.typtype
                  WHEN 'e' THEN ' labels ' || (SELECT string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
                  WHEN 'd' THEN ' over ' || format_type(t.typbasetype, t.typtypmod) || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END
                                || coalesce(' default ' || t.typdefault, '')
                  WHEN 'r' THEN ' range of ' || (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid)
                  WHEN 'c' THEN ' attributes ' || (SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                                                      FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
                  ELSE '' END AS fact
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
       WHERE t.typtype IN ('e', 'd', 'r', 'c') AND ${userSchema('n')} AND ${notInExtension('pg_type', 't.oid')}
         AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')`,
    policies: `
      SELECT 'policy ' || quote_ident(p.schemaname) || '.' || quote_ident(p.tablename) || ' ' || quote_ident(p.policyname)
             || ' ' || p.permissive || ' ' || p.cmd || ' to ' || array_to_string(p.roles, ',')
             || coalesce(' using ' || p.qual, '') || coalesce(' check ' || p.with_check, '') AS fact
        FROM pg_policies p WHERE p.schemaname NOT IN (${NOT_USER_SCHEMAS.map((x) => `'${x}'`).join(', ')})`,
  };
}
