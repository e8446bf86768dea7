/** Extended statistics objects (post-data, once the table is loaded). */
import { quoteQualified } from '../../pg/ident';
import type { StatisticsRow } from '../catalog/statistics';
import { makeObject } from '../model';
import { ownerAndAcl } from './acl';
import { address, type PlanBuilder } from './builder';
import { statisticsExists } from './checks';
import type { RelationNames } from './indexes';

export function renderStatistics(b: PlanBuilder, rows: StatisticsRow[], relations: RelationNames): void {
  for (const s of rows) {
    const rel = relations.get(s.relid);
    if (!rel) continue;
    const q = quoteQualified(s.schema, s.name);
    const sql = [s.def];
    if (s.stat_target !== null && s.stat_target >= 0) sql.push(`ALTER STATISTICS ${q} SET STATISTICS ${s.stat_target}`);
    sql.push(...b.comment('pg_statistic_ext', s.oid, `STATISTICS ${q}`));
    const obj = b.add(
      makeObject({
        id: `statistics:${s.oid}`,
        kind: 'statistics',
        name: `statistics ${q}`,
        phase: 'post-data',
        readiness: 'table-loaded',
        sql,
        check: statisticsExists(s.schema, s.name),
        deps: [rel.id],
        table: rel.id,
      }),
      address('pg_statistic_ext', s.oid),
    );
    ownerAndAcl(b, obj, `STATISTICS ${q}`, { on: '', owner: s.owner, isDefault: true, items: null });
  }
}
