/**
 * Comments on everything (pg_description), keyed by catalog, object and sub-object, with the
 * text already a literal (quote_literal) for COMMENT ON … IS.
 */
import { FIRST_USER_OID, rows, type CatalogContext } from './filters';

/** Key: `catalog:objoid:objsubid`, e.g. `pg_class:16385:2` for a column. */
export type Comments = Map<string, string>;

export function commentKey(catalog: string, oid: number, subid = 0): string {
  return `${catalog}:${oid}:${subid}`;
}

export async function readComments(ctx: CatalogContext): Promise<Comments> {
  const found = await rows<{ catalog: string; objoid: number; objsubid: number; text: string }>(ctx, `
    SELECT d.classoid::pg_catalog.regclass::text AS catalog, d.objoid, d.objsubid, pg_catalog.quote_literal(d.description) AS text
      FROM pg_catalog.pg_description d
     WHERE d.objoid >= ${FIRST_USER_OID}
        OR (d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objoid = 'public'::pg_catalog.regnamespace)`);
  return new Map(found.map((r) => [commentKey(r.catalog, r.objoid, r.objsubid), r.text]));
}
