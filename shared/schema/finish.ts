/**
 * The last steps of extraction: dependencies pg_depend cannot know, ordering, per-table access
 * for the copy, and the warnings a user reads before anything runs.
 */
import type { IndexRow } from './catalog/indexes';
import { groupBy, type PlanBuilder } from './render/builder';
import type { RenderedTable } from './render/tables';
import { orderObjects } from './order';
import type { SchemaObject, SchemaPlan, TablePlan } from './model';

export function finishPlan(b: PlanBuilder, tables: RenderedTable[], indexes: readonly IndexRow[]): SchemaPlan {
  waitForWholeIndexTrees(b);
  chainRefreshes(b);
  analyzeAfterIndexes(b);
  const { objects, warnings } = orderObjects(b.objects);
  for (const [role, objs] of b.missingRoles) {
    const shown = objs.slice(0, 5).join('; ');
    b.warn({
      code: 'missing-role',
      message: `role "${role}" does not exist on the target: ownership and grants involving it are left out for ${objs.length} object(s) (${shown}${objs.length > 5 ? '; …' : ''})`,
    });
  }
  const { sourceVersionNum, targetVersionNum } = b.options;
  if (targetVersionNum < sourceVersionNum) {
    b.warn({ code: 'target-older', message: `the target (${targetVersionNum}) is older than the source (${sourceVersionNum}): newer syntax may be refused` });
  }
  return {
    sourceVersionNum,
    targetVersionNum,
    objects,
    tables: tablePlans(tables, indexes, objects),
    warnings: [...b.warnings, ...warnings],
  };
}

/**
 * A partitioned index is valid only once every partition's index is attached: whatever depends
 * on it (an FK on a partitioned key, the attach one level up) waits for the whole tree.
 */
function waitForWholeIndexTrees(b: PlanBuilder): void {
  const tree = (id: string, seen = new Set<string>()): string[] => {
    if (seen.has(id)) return [];
    seen.add(id);
    return (b.indexAttaches.get(id) ?? []).flatMap((a) => [a.attachId, ...tree(a.childId, seen)]);
  };
  const complete = new Map([...b.indexAttaches.keys()].map((id) => [id, tree(id)]));
  for (const o of b.objects) {
    // An attach waits for its child's own tree, never for the tree it completes.
    const waitsOn = o.kind === 'index-attach' ? o.deps.slice(0, 1) : o.deps;
    const extra = waitsOn.flatMap((d) => complete.get(d) ?? []);
    if (extra.length) o.deps.push(...extra.filter((x) => x !== o.id));
  }
}

/** A materialized view is refreshed after those it reads (through views too) and after its indexes. */
function chainRefreshes(b: PlanBuilder): void {
  const byTable = groupBy(b.objects, (o) => o.table);
  for (const o of b.objects) {
    if (o.kind !== 'refresh' || !o.table) continue;
    const reads = new Set<string>();
    const walk = (id: string) => {
      for (const d of b.byId.get(id)?.deps ?? []) {
        const dep = b.byId.get(d);
        if (!dep || reads.has(d) || (dep.kind !== 'view' && dep.kind !== 'materialized-view')) continue;
        reads.add(d);
        walk(d);
      }
    };
    walk(o.table);
    for (const r of reads) if (b.byId.has(`refresh:${r.slice('view:'.length)}`)) o.deps.push(`refresh:${r.slice('view:'.length)}`);
    for (const x of byTable.get(o.table) ?? []) if (x.kind === 'index' || x.kind === 'constraint') o.deps.push(x.id);
  }
}

/**
 * ANALYZE after the table's indexes that can be built once it is loaded: expression indexes get
 * statistics from it. (Unique ones wait for the consistency point; ANALYZE does not.)
 */
function analyzeAfterIndexes(b: PlanBuilder): void {
  const indexesOf = new Map<string, string[]>();
  for (const o of b.objects) {
    if (!o.table || !(o.kind === 'index' || o.kind === 'primary-key') || o.readiness === 'consistent') continue;
    const list = indexesOf.get(o.table);
    if (list) list.push(o.id);
    else indexesOf.set(o.table, [o.id]);
  }
  for (const o of b.objects) if (o.kind === 'analyze' && o.table) o.deps.push(...(indexesOf.get(o.table) ?? []));
}

const INT_TYPES: Record<number, 'smallint' | 'integer' | 'bigint'> = { 21: 'smallint', 23: 'integer', 20: 'bigint' };

function tablePlans(tables: RenderedTable[], indexes: readonly IndexRow[], objects: readonly SchemaObject[]): TablePlan[] {
  const indexesOf = groupBy(indexes, (ix) => ix.relid);
  const objectsOf = groupBy(objects, (o) => o.table);
  return tables.map((t) => tablePlan(t, indexesOf.get(t.row.oid) ?? [], objectsOf.get(`table:${t.row.oid}`) ?? []));
}

function tablePlan(t: RenderedTable, indexes: readonly IndexRow[], own: readonly SchemaObject[]): TablePlan {
  const mine = indexes.filter((ix) => ix.valid);
  const pk = mine.find((ix) => ix.constraint_type === 'p');
  const intColumn = (ix: IndexRow) => {
    if (!ix.unique || ix.key_count !== 1 || ix.partial || ix.expressions || ix.columns.length !== 1) return undefined;
    const col = t.columnRows.find((c) => c.name === ix.columns[0]);
    const type = col && col.not_null ? INT_TYPES[col.type_oid] : undefined;
    return col && type ? { column: col.name, type } : undefined;
  };
  const chunkKey = (pk && intColumn(pk)) ?? mine.map(intColumn).find((k) => k !== undefined) ?? null;
  const id = `table:${t.row.oid}`;
  return {
    id,
    schema: t.row.schema,
    name: t.row.name,
    qualified: t.qualified,
    partitioned: t.row.relkind === 'p',
    partitionOf: t.row.is_partition ? (t.parentQualified ?? null) : null,
    unlogged: t.row.unlogged,
    columns: t.columns,
    primaryKey: pk ? pk.columns : null,
    chunkKey,
    replicaIdentity: ({ f: 'full', n: 'nothing', i: 'index' } as const)[t.row.replica_identity as 'f' | 'n' | 'i'] ?? 'default',
    keys: own.filter((o) => o.phase === 'keys').map((o) => o.id),
    afterLoad: own.filter((o) => o.phase === 'post-data' && o.readiness === 'table-loaded').map((o) => o.id),
    afterConsistency: own.filter((o) => o.phase === 'post-data' && o.readiness === 'consistent').map((o) => o.id),
  };
}

