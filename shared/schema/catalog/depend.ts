/**
 * The dependency graph between user objects (pg_depend), as `catalog:oid` addresses. Only normal
 * dependencies between user objects matter for ordering: ones on built-in objects are always
 * satisfied, and the automatic/internal ones tie sub-objects to their owner, which the model
 * already knows.
 */
import { FIRST_USER_OID, rows, type CatalogContext } from './filters';

export interface DependRow {
  catalog: string;
  objid: number;
  ref_catalog: string;
  refobjid: number;
}

export async function readDepends(ctx: CatalogContext): Promise<DependRow[]> {
  return rows<DependRow>(ctx, `
    SELECT d.classid::pg_catalog.regclass::text AS catalog, d.objid,
           d.refclassid::pg_catalog.regclass::text AS ref_catalog, d.refobjid
      FROM pg_catalog.pg_depend d
     WHERE d.deptype = 'n' AND d.objid >= ${FIRST_USER_OID} AND d.refobjid >= ${FIRST_USER_OID}`);
}

/**
 * Objects created along with another (deptype internal): a range's constructor functions, a
 * multirange's casts, a view's _RETURN rule. They are not migrated on their own, and a
 * dependency on them is a dependency on their owner.
 */
export async function readInternalDepends(ctx: CatalogContext): Promise<DependRow[]> {
  return rows<DependRow>(ctx, `
    SELECT d.classid::pg_catalog.regclass::text AS catalog, d.objid,
           d.refclassid::pg_catalog.regclass::text AS ref_catalog, d.refobjid
      FROM pg_catalog.pg_depend d
     WHERE d.deptype = 'i' AND d.objid >= ${FIRST_USER_OID} AND d.refobjid >= ${FIRST_USER_OID}`);
}
