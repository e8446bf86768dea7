/**
 * User objects pgferry does not migrate, counted so the plan can say so instead of dropping them
 * silently: operators, operator classes and families, casts, text-search objects, foreign data
 * wrappers, servers and tables, event triggers, publications, conversions, transforms,
 * procedural languages outside extensions and large objects. (Typed tables are
 * warned about where they are rendered.)
 */
import { FIRST_USER_OID, rows, type CatalogContext } from './filters';

export interface UnsupportedRow {
  kind: string;
  count: number;
}

/** Neither an extension's member nor created along with another object (a multirange's casts). */
const notMember = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x WHERE x.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND x.objid = ${oid} AND x.deptype IN ('e', 'i'))`;

const COUNTS: ReadonlyArray<[string, string, string]> = [
  ['operator', 'pg_operator', 'SELECT oid FROM pg_catalog.pg_operator'],
  ['operator class', 'pg_opclass', 'SELECT oid FROM pg_catalog.pg_opclass'],
  ['operator family', 'pg_opfamily', 'SELECT oid FROM pg_catalog.pg_opfamily'],
  ['cast', 'pg_cast', 'SELECT oid FROM pg_catalog.pg_cast'],
  ['text search configuration', 'pg_ts_config', 'SELECT oid FROM pg_catalog.pg_ts_config'],
  ['text search dictionary', 'pg_ts_dict', 'SELECT oid FROM pg_catalog.pg_ts_dict'],
  ['text search parser', 'pg_ts_parser', 'SELECT oid FROM pg_catalog.pg_ts_parser'],
  ['text search template', 'pg_ts_template', 'SELECT oid FROM pg_catalog.pg_ts_template'],
  ['foreign-data wrapper', 'pg_foreign_data_wrapper', 'SELECT oid FROM pg_catalog.pg_foreign_data_wrapper'],
  ['foreign server', 'pg_foreign_server', 'SELECT oid FROM pg_catalog.pg_foreign_server'],
  ['foreign table', 'pg_class', `SELECT oid FROM pg_catalog.pg_class WHERE relkind = 'f'`],
  ['event trigger', 'pg_event_trigger', 'SELECT oid FROM pg_catalog.pg_event_trigger'],
  ['publication', 'pg_publication', 'SELECT oid FROM pg_catalog.pg_publication'],
  ['conversion', 'pg_conversion', 'SELECT oid FROM pg_catalog.pg_conversion'],
  ['transform', 'pg_transform', 'SELECT oid FROM pg_catalog.pg_transform'],
  ['procedural language', 'pg_language', 'SELECT oid FROM pg_catalog.pg_language'],
  ['base type', 'pg_type', `SELECT oid FROM pg_catalog.pg_type WHERE typtype = 'b' AND typelem = 0 AND typrelid = 0`],
  ['large object', 'pg_largeobject_metadata', 'SELECT oid FROM pg_catalog.pg_largeobject_metadata'],
];

export async function readUnsupported(ctx: CatalogContext): Promise<UnsupportedRow[]> {
  const parts = COUNTS.map(
    ([kind, catalog, select]) =>
      `SELECT '${kind}' AS kind, count(*)::int AS count FROM (${select}) o WHERE o.oid >= ${FIRST_USER_OID} AND ${notMember(catalog, 'o.oid')}`,
  );
  const found = await rows<UnsupportedRow>(ctx, parts.join('\nUNION ALL\n'));
  return found.filter((r) => r.count > 0);
}
