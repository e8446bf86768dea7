/**
 * Default privileges (ALTER DEFAULT PRIVILEGES). Owners and object ACLs are read with each
 * object family (filters.ts aclColumns) so that they stay next to the object they describe.
 */
import { aclItems, rows, type AclItem, type CatalogContext } from './filters';

export interface DefaultAclRow {
  oid: number;
  role: string;
  /** null: for all schemas (the ACL then replaces the built-in default). */
  schema: string | null;
  /** r tables, S sequences, f functions, T types, n schemas. */
  objtype: string;
  acl: AclItem[];
}

export async function readDefaultAcls(ctx: CatalogContext): Promise<DefaultAclRow[]> {
  return rows<DefaultAclRow>(ctx, `
    SELECT d.oid, pg_catalog.pg_get_userbyid(d.defaclrole) AS role, n.nspname AS schema, d.defaclobjtype::text AS objtype,
           COALESCE(${aclItems('d.defaclacl')}, '[]') AS acl
      FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
     ORDER BY 2, 3 NULLS FIRST, 4`);
}
