/**
 * Indexes and the constraints they back.
 * - primary keys (keys phase): built as a unique index, then attached with ADD CONSTRAINT …
 *   PRIMARY KEY USING INDEX; on a partitioned table (where USING INDEX is not allowed) with
 *   ALTER TABLE ONLY … ADD PRIMARY KEY, each partition's key built on its own and attached;
 * - the replica-identity index of a table without a primary key (keys phase: replay needs it);
 * - unique and exclusion constraints, other indexes (post-data).
 * Partitioned indexes are created ON ONLY the parent and every partition's index is attached by
 * name, so names stay the source's and each partition's index builds on its own connection.
 */
import { quoteIdent, quoteQualified } from '../../pg/ident';
import type { IndexRow } from '../catalog/indexes';
import { makeObject, type Phase, type Readiness, type SchemaObject } from '../model';
import { address, type PlanBuilder } from './builder';
import { indexConstraintState, indexState, inheritsExists, tableConstraintExists } from './checks';

/** Relation OID → [object id, quoted name] for tables and materialized views. */
export type RelationNames = ReadonlyMap<number, { id: string; qualified: string }>;

export function indexObjectId(oid: number): string {
  return `index:${oid}`;
}

function placement(ix: IndexRow): { phase: Phase; readiness: Readiness } {
  if (ix.constraint_type === 'p' || ix.replica_identity) return { phase: 'keys', readiness: 'table-loaded' };
  // Unique and exclusion constraints can collide on transient states until replay is consistent.
  if (ix.unique || ix.constraint_type === 'x' || ix.table_relkind === 'm') return { phase: 'post-data', readiness: 'consistent' };
  return { phase: 'post-data', readiness: 'table-loaded' };
}

function deferral(ix: IndexRow): string {
  return `${ix.deferrable ? ' DEFERRABLE' : ''}${ix.deferred ? ' INITIALLY DEFERRED' : ''}`;
}

/** The statements that build one index (and the constraint it backs). */
function buildSql(b: PlanBuilder, ix: IndexRow, table: string): { sql: string[]; transactional: boolean } {
  const cn = ix.constraint_name ? quoteIdent(ix.constraint_name) : '';
  if (ix.constraint_type === 'x' || ((ix.constraint_type === 'p' || ix.constraint_type === 'u') && ix.relkind === 'I')) {
    return { sql: [`ALTER TABLE ONLY ${table} ADD CONSTRAINT ${cn} ${ix.constraint_def}`], transactional: true };
  }
  if (ix.constraint_type === 'p' || ix.constraint_type === 'u') {
    const kind = ix.constraint_type === 'p' ? 'PRIMARY KEY' : 'UNIQUE';
    return {
      sql: [ix.def, `ALTER TABLE ONLY ${table} ADD CONSTRAINT ${cn} ${kind} USING INDEX ${quoteIdent(ix.name)}${deferral(ix)}`],
      transactional: true,
    };
  }
  const concurrent = b.options.concurrentIndexes && ix.relkind === 'i' && ix.table_relkind === 'r' && !ix.replica_identity;
  if (concurrent) return { sql: [ix.def.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX CONCURRENTLY ')], transactional: false };
  return { sql: [ix.def], transactional: true };
}

export function renderIndexes(b: PlanBuilder, rows: IndexRow[], relations: RelationNames): void {
  const byOid = new Map(rows.map((r) => [r.oid, r]));
  for (const ix of rows) {
    const rel = relations.get(ix.relid);
    if (!rel) continue;
    const iq = quoteQualified(ix.schema, ix.name);
    if (!ix.valid && ix.relkind === 'i') {
      b.warn({ code: 'invalid-index', object: `index ${iq}`, message: `index ${iq} is invalid on the source (a failed CREATE INDEX CONCURRENTLY?) and is not migrated` });
      continue;
    }
    const { phase, readiness } = placement(ix);
    const { sql, transactional } = buildSql(b, ix, rel.qualified);
    if (ix.replica_identity) sql.push(`ALTER TABLE ONLY ${rel.qualified} REPLICA IDENTITY USING INDEX ${quoteIdent(ix.name)}`);
    if (ix.clustered) sql.push(`ALTER TABLE ${rel.qualified} CLUSTER ON ${quoteIdent(ix.name)}`);
    for (const [attnum, target] of ix.stat_targets) sql.push(`ALTER INDEX ${iq} ALTER COLUMN ${attnum} SET STATISTICS ${target}`);
    sql.push(...b.comment('pg_class', ix.oid, `INDEX ${iq}`));
    if (ix.constraint_oid !== null && ix.constraint_name !== null) {
      sql.push(...b.comment('pg_constraint', ix.constraint_oid, `CONSTRAINT ${quoteIdent(ix.constraint_name)} ON ${rel.qualified}`));
    }
    const viaConstraint = ix.constraint_type === 'x' || ix.relkind === 'I';
    const check =
      ix.constraint_name === null
        ? indexState(iq)
        : viaConstraint
          ? tableConstraintExists(rel.qualified, ix.constraint_name)
          : indexConstraintState(rel.qualified, ix.constraint_name, iq);
    const kind = ix.constraint_type === 'p' ? 'primary-key' : ix.constraint_type ? 'constraint' : 'index';
    const label = ix.constraint_type === 'p' ? 'primary key' : ix.constraint_type === 'u' ? 'unique constraint' : ix.constraint_type === 'x' ? 'exclusion constraint' : 'index';
    const obj = b.add(
      makeObject({
        id: indexObjectId(ix.oid),
        kind,
        name: `${label} ${iq} on ${rel.qualified}`,
        phase,
        readiness,
        sql,
        transactional,
        check,
        deps: [rel.id],
        table: rel.id,
      }),
      address('pg_class', ix.oid),
      ...(ix.constraint_oid !== null ? [address('pg_constraint', ix.constraint_oid)] : []),
    );
    if (ix.parent_index !== null) {
      const parent = byOid.get(ix.parent_index);
      const parentRel = parent ? relations.get(parent.relid) : undefined;
      if (parent && parentRel) renderIndexAttach(b, obj, iq, quoteQualified(parent.schema, parent.name), parent.oid, parentRel.id);
    }
  }
}

/** Belongs to the parent's table: it runs once the partition's index is built. */
function renderIndexAttach(b: PlanBuilder, child: SchemaObject, childName: string, parentName: string, parentOid: number, parentTable: string): void {
  const attach = b.add(
    makeObject({
      id: `index-attach:${child.id}`,
      kind: 'index-attach',
      name: `index ${childName} attached to ${parentName}`,
      phase: child.phase,
      readiness: child.readiness,
      sql: [`ALTER INDEX ${parentName} ATTACH PARTITION ${childName}`],
      check: inheritsExists(childName, parentName),
      deps: [child.id, indexObjectId(parentOid)],
      table: parentTable,
    }),
  );
  const list = b.indexAttaches.get(indexObjectId(parentOid)) ?? [];
  list.push({ attachId: attach.id, childId: child.id });
  b.indexAttaches.set(indexObjectId(parentOid), list);
}
