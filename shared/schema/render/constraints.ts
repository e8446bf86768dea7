/** Foreign keys (post-data, after the consistency point: they check rows of two tables). */
import { quoteIdent } from '../../pg/ident';
import type { ForeignKeyRow } from '../catalog/constraints';
import { makeObject } from '../model';
import { address, type PlanBuilder } from './builder';
import { tableConstraintExists } from './checks';
import type { RelationNames } from './indexes';

export function renderForeignKeys(b: PlanBuilder, rows: ForeignKeyRow[], relations: RelationNames, partitioned: ReadonlySet<number>): void {
  for (const fk of rows) {
    const rel = relations.get(fk.relid);
    const ref = relations.get(fk.ref_relid);
    if (!rel) continue;
    const name = quoteIdent(fk.name);
    // On a partitioned table the FK must recurse to the partitions (their clones are not read).
    const only = partitioned.has(fk.relid) ? '' : 'ONLY ';
    b.add(
      makeObject({
        id: `fk:${fk.oid}`,
        kind: 'foreign-key',
        name: `foreign key ${name} on ${rel.qualified}`,
        phase: 'post-data',
        ...(b.options.holdForeignKeys ? { readiness: 'drained' as const } : {}),
        sql: [`ALTER TABLE ${only}${rel.qualified} ADD CONSTRAINT ${name} ${fk.def}`, ...b.comment('pg_constraint', fk.oid, `CONSTRAINT ${name} ON ${rel.qualified}`)],
        check: tableConstraintExists(rel.qualified, fk.name),
        deps: ref ? [rel.id, ref.id] : [rel.id],
        table: rel.id,
      }),
      address('pg_constraint', fk.oid),
    );
  }
}
