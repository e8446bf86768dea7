/**
 * SQL fragments every catalog reader shares. They hold no values, only catalog names, so they
 * can be spliced into query text; values always travel as $n parameters.
 */
import type { ClientBase } from 'pg';

/** What each reader receives: its client (in the extraction snapshot) and the source version. */
export interface CatalogContext {
  client: ClientBase;
  /** server_version_num of the source, e.g. 130023. */
  versionNum: number;
}

/** Objects created by initdb have OIDs below this (FirstNormalObjectId). */
export const FIRST_USER_OID = 16384;

/** A schema of user objects (the one definition, in pg/user-schemas.ts). */
export { userSchema } from '../../pg/user-schemas';

/** Extensions recreate their own members, so readers leave them out. */
export function notExtensionMember(catalog: string, oidExpr: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x WHERE x.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND x.objid = ${oidExpr} AND x.deptype = 'e')`;
}

/** Owner name, whether the ACL is NULL (the built-in default) and the ACL items in array order. */
export function aclColumns(aclExpr: string, ownerExpr: string): string {
  return `pg_catalog.pg_get_userbyid(${ownerExpr}) AS owner, ${aclExpr} IS NULL AS acl_default, ${aclItems(aclExpr)} AS acl`;
}

/** ACL items as JSON, in array order: [{grantor, grantee (null = PUBLIC), privilege, grantable}]. */
export function aclItems(aclExpr: string): string {
  return `(SELECT pg_catalog.json_agg(pg_catalog.json_build_object('grantor', pg_catalog.pg_get_userbyid(a.grantor),
      'grantee', CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee) END,
      'privilege', a.privilege_type, 'grantable', a.is_grantable) ORDER BY a.ord)
     FROM pg_catalog.aclexplode(${aclExpr}) WITH ORDINALITY AS a(grantor, grantee, privilege_type, is_grantable, ord))`;
}

/** One ACL item as read by aclItems. */
export interface AclItem {
  grantor: string;
  /** null means PUBLIC. */
  grantee: string | null;
  privilege: string;
  grantable: boolean;
}

/** The owner/ACL columns of a row read with aclColumns. */
export interface AclFields {
  owner: string;
  acl_default: boolean;
  acl: AclItem[] | null;
}

/** Runs a catalog query and returns its rows. */
export async function rows<T>(ctx: CatalogContext, text: string, values: unknown[] = []): Promise<T[]> {
  const result = await ctx.client.query(text, values);
  return result.rows as T[];
}

/**
 * reloptions as `name='value'` items, quoted by the server, ready for WITH (…); NULL when there are
 * none. With `only`, just those option names (servers may stamp options of their own that another
 * server would refuse, e.g. a pg_attver column option).
 */
export function optionsArray(expr: string, only?: readonly string[]): string {
  const keep = only ? ` WHERE pg_catalog.split_part(o, '=', 1) IN (${only.map((n) => `'${n}'`).join(', ')})` : '';
  const items = `ARRAY(SELECT pg_catalog.quote_ident(pg_catalog.split_part(o, '=', 1)) || '=' ||
      pg_catalog.quote_literal(pg_catalog.substr(o, pg_catalog.strpos(o, '=') + 1)) FROM pg_catalog.unnest(${expr}) AS o${keep})`;
  return only ? `CASE WHEN ${expr} IS NOT NULL THEN NULLIF(${items}, '{}') END` : `CASE WHEN ${expr} IS NOT NULL THEN ${items} END`;
}
