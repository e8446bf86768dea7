/** Views and materialized views, defined by pg_get_viewdef (schema-qualified: empty search_path). */
import { aclColumns, notExtensionMember, optionsArray, rows, userSchema, type AclFields, type AclItem, type CatalogContext } from './filters';

export interface ViewRow extends AclFields {
  oid: number;
  schema: string;
  name: string;
  /** v = view, m = materialized view. */
  relkind: 'v' | 'm';
  /** The SELECT, ending with a semicolon. */
  def: string;
  options: string[] | null;
  /** Materialized views: whether the source holds data (then the target refreshes it). */
  populated: boolean;
  /** Column ACLs: [column, items]. */
  column_acls: Array<{ column: string; acl: AclItem[] }>;
  /** Column names in order, for comments on columns. */
  columns: string[];
}

export async function readViews(ctx: CatalogContext): Promise<ViewRow[]> {
  return rows<ViewRow>(ctx, `
    SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, ${aclColumns('c.relacl', 'c.relowner')},
           pg_catalog.pg_get_viewdef(c.oid) AS def, ${optionsArray('c.reloptions')} AS options, c.relispopulated AS populated,
           COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object('column', a.attname, 'acl', (
                       SELECT pg_catalog.json_agg(pg_catalog.json_build_object('grantor', pg_catalog.pg_get_userbyid(x.grantor),
                         'grantee', CASE WHEN x.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(x.grantee) END,
                         'privilege', x.privilege_type, 'grantable', x.is_grantable) ORDER BY x.ord)
                         FROM pg_catalog.aclexplode(a.attacl) WITH ORDINALITY AS x(grantor, grantee, privilege_type, is_grantable, ord)))
                     ORDER BY a.attnum)
              FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND a.attacl IS NOT NULL), '[]') AS column_acls,
           ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('v', 'm') AND ${userSchema('n')} AND ${notExtensionMember('pg_class', 'c.oid')}
     ORDER BY 2, 3`);
}

/** The _RETURN rule of each view: its dependencies are the view's. */
export interface ViewRuleRow {
  oid: number;
  view: number;
}

export async function readViewRules(ctx: CatalogContext): Promise<ViewRuleRow[]> {
  return rows<ViewRuleRow>(ctx, `
    SELECT r.oid, r.ev_class AS view FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
     WHERE r.rulename = '_RETURN' AND c.relkind IN ('v', 'm') AND r.oid >= 16384`);
}
