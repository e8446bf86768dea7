/** Extensions created by users (plpgsql and other initdb ones have system OIDs and are skipped). */
import { FIRST_USER_OID, rows, type CatalogContext } from './filters';

export interface ExtensionRow {
  oid: number;
  name: string;
  schema: string;
  version: string;
  /** quote_literal(version), ready for `VERSION …`. */
  version_literal: string;
}

export async function readExtensions(ctx: CatalogContext): Promise<ExtensionRow[]> {
  return rows<ExtensionRow>(ctx, `
    SELECT e.oid, e.extname AS name, n.nspname AS schema, e.extversion AS version,
           pg_catalog.quote_literal(e.extversion) AS version_literal
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.oid >= ${FIRST_USER_OID}
     ORDER BY e.extname`);
}

/** Member objects of every extension: each `catalog:oid` address maps to its extension's OID. */
export interface ExtensionMemberRow {
  catalog: string;
  objid: number;
  extension: number;
}

export async function readExtensionMembers(ctx: CatalogContext): Promise<ExtensionMemberRow[]> {
  return rows<ExtensionMemberRow>(ctx, `
    SELECT d.classid::pg_catalog.regclass::text AS catalog, d.objid, d.refobjid AS extension
      FROM pg_catalog.pg_depend d
     WHERE d.deptype = 'e' AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.refobjid >= ${FIRST_USER_OID}`);
}
