/** Extended statistics objects (CREATE STATISTICS, 10+). */
import { aclColumns, notExtensionMember, rows, userSchema, type AclFields, type CatalogContext } from './filters';

export interface StatisticsRow extends AclFields {
  oid: number;
  schema: string;
  name: string;
  relid: number;
  def: string;
  /** Statistics target when set (13+), else null. */
  stat_target: number | null;
}

export async function readStatistics(ctx: CatalogContext): Promise<StatisticsRow[]> {
  const v = ctx.versionNum;
  if (v < 100000) return [];
  const target = v >= 170000 ? 's.stxstattarget::int' : v >= 130000 ? 'NULLIF(s.stxstattarget, -1)' : 'NULL::int';
  return rows<StatisticsRow>(ctx, `
    SELECT s.oid, n.nspname AS schema, s.stxname AS name, s.stxrelid AS relid, ${aclColumns('NULL::pg_catalog.aclitem[]', 's.stxowner')},
           pg_catalog.pg_get_statisticsobjdef(s.oid) AS def, ${target} AS stat_target
      FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
     WHERE ${userSchema('n')} AND ${notExtensionMember('pg_statistic_ext', 's.oid')}
     ORDER BY 2, 3`);
}
