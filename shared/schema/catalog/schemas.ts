/** Schemas (namespaces) holding user objects, with owner and ACL. */
import { aclColumns, aclItems, notExtensionMember, rows, userSchema, type AclFields, type AclItem, type CatalogContext } from './filters';

export interface SchemaRow extends AclFields {
  oid: number;
  name: string;
  /** The built-in owner of `public`: the bootstrap superuser before 15, pg_database_owner after. */
  owner_is_default: boolean;
  /** pg_init_privs of the schema (15+: `public`), for telling a changed ACL from the initial one. */
  init_acl: AclItem[] | null;
}

export async function readSchemas(ctx: CatalogContext): Promise<SchemaRow[]> {
  const defaultOwner = ctx.versionNum >= 150000 ? `'pg_database_owner'::pg_catalog.regrole` : `10::pg_catalog.oid`;
  return rows<SchemaRow>(ctx, `
    SELECT n.oid, n.nspname AS name, ${aclColumns('n.nspacl', 'n.nspowner')},
           n.nspowner = ${defaultOwner} AS owner_is_default,
           (SELECT ${aclItems('ip.initprivs')} FROM pg_catalog.pg_init_privs ip
             WHERE ip.objoid = n.oid AND ip.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND ip.objsubid = 0) AS init_acl
      FROM pg_catalog.pg_namespace n
     WHERE ${userSchema('n')} AND ${notExtensionMember('pg_namespace', 'n.oid')}
     ORDER BY n.nspname`);
}
