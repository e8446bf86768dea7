/** Row-level security policies (pg_policy has no pg_get_policydef: its parts are read here). */
import { notExtensionMember, rows, userSchema, type CatalogContext } from './filters';

export interface PolicyRow {
  oid: number;
  relid: number;
  name: string;
  /** r SELECT, a INSERT, w UPDATE, d DELETE, * ALL. */
  command: string;
  permissive: boolean;
  /** Role names; null stands for PUBLIC. */
  roles: Array<string | null>;
  using_expr: string | null;
  check_expr: string | null;
}

export async function readPolicies(ctx: CatalogContext): Promise<PolicyRow[]> {
  return rows<PolicyRow>(ctx, `
    SELECT p.oid, p.polrelid AS relid, p.polname AS name, p.polcmd::text AS command,
           ${ctx.versionNum >= 100000 ? 'p.polpermissive' : 'true'} AS permissive,
           ARRAY(SELECT CASE WHEN r.role = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(r.role)::text END
                   FROM pg_catalog.unnest(p.polroles) WITH ORDINALITY AS r(role, ord) ORDER BY r.ord) AS roles,
           pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS using_expr,
           pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr
      FROM pg_catalog.pg_policy p
      JOIN pg_catalog.pg_class c ON c.oid = p.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE ${userSchema('n')} AND ${notExtensionMember('pg_class', 'c.oid')}
     ORDER BY p.polrelid, p.polname`);
}
