/**
 * Tables: CREATE TABLE with columns, defaults, identity, generated columns and CHECK constraints
 * inline; partitions created as plain tables and then attached (so their column order is the
 * source's, as pg_dump does); inheritance children with INHERITS and only their local columns.
 * Defaults and CHECKs that call user functions are split into their own objects, so a function
 * whose signature names the table's row type can come between the two.
 */
import { quoteIdent, quoteQualified } from '../../pg/ident';
import type { CheckRow } from '../catalog/constraints';
import type { SequenceRow } from '../catalog/sequences';
import type { ColumnRow, TableRow } from '../catalog/tables';
import { makeObject, type ColumnPlan, type SchemaObject } from '../model';
import { ownerAndAcl } from './acl';
import { address, groupBy, type PlanBuilder } from './builder';
import { analyzed, inheritsExists, relationExists, tableConstraintExists } from './checks';
import { identityClause } from './sequences';

export interface TableInputs {
  tables: TableRow[];
  columns: ColumnRow[];
  checks: CheckRow[];
  sequences: SequenceRow[];
  /** Addresses (pg_attrdef:…, pg_constraint:…) whose expression calls a user function. */
  callsUserFunction: ReadonlySet<string>;
}

const COMPRESSION: Record<string, string> = { p: 'pglz', l: 'lz4' };

export function tableId(oid: number): string {
  return `table:${oid}`;
}

/** Column plan for the copy phase. */
function columnPlan(c: ColumnRow): ColumnPlan {
  return {
    name: c.name,
    type: c.type,
    notNull: c.not_null,
    generated: c.generated !== '',
    identity: c.identity === 'a' ? 'always' : c.identity === 'd' ? 'by-default' : null,
  };
}

export interface RenderedTable {
  row: TableRow;
  qualified: string;
  columns: ColumnPlan[];
  columnRows: ColumnRow[];
  /** Quoted name of the parent of a partition. */
  parentQualified?: string;
}

export function renderTables(b: PlanBuilder, input: TableInputs): RenderedTable[] {
  const names = new Map(input.tables.map((t) => [t.oid, quoteQualified(t.schema, t.name)]));
  const columnsOf = groupBy(input.columns, (c) => c.relid);
  const checksOf = groupBy(input.checks, (c) => c.relid);
  const identity = new Map(input.sequences.filter((s) => s.identity).map((s) => [`${s.identity_table}:${s.identity_attnum}`, s]));
  const partitionsOf = groupBy(input.tables.filter((t) => t.is_partition), (t) => t.parents[0]);
  const out: RenderedTable[] = [];

  for (const t of input.tables) {
    const q = names.get(t.oid) ?? quoteQualified(t.schema, t.name);
    const id = tableId(t.oid);
    const cols = columnsOf.get(t.oid) ?? [];
    const parents = t.is_partition ? [] : t.parents;
    const parentCols = parents.flatMap((p) => columnsOf.get(p) ?? []);
    const printed = (c: ColumnRow) => t.is_partition || parents.length === 0 || c.is_local;
    const split = (c: ColumnRow) =>
      c.default_oid !== null && c.generated === '' && input.callsUserFunction.has(address('pg_attrdef', c.default_oid));

    const defs: string[] = [];
    const after: string[] = [];
    for (const c of cols) {
      const col = quoteIdent(c.name);
      const alter = `ALTER TABLE ONLY ${q} ALTER COLUMN ${col}`;
      if (printed(c)) {
        let def = `${col} ${c.type}`;
        const compression = COMPRESSION[c.compression];
        if (compression) def += ` COMPRESSION ${compression}`;
        if (c.collation) def += ` COLLATE ${quoteQualified(c.collation[0], c.collation[1])}`;
        if (c.generated === 's') def += ` GENERATED ALWAYS AS (${c.default_expr}) STORED`;
        else if (c.identity && (!t.is_partition || identity.has(`${t.oid}:${c.attnum}`))) {
          // A partition shares its parent's identity (17+): attaching gives it; its own would be refused.
          // Held BY DEFAULT until completion: replay must be able to set the key a source UPDATE gave it.
          const kind = b.options.holdIdentity === true && c.identity === 'a' ? 'd' : c.identity;
          def += ` ${identityClause(kind, identity.get(`${t.oid}:${c.attnum}`))}`;
        }
        else if (c.default_expr !== null && !split(c)) def += ` DEFAULT ${c.default_expr}`;
        if (c.not_null) def += ' NOT NULL';
        defs.push(def);
      } else {
        // Inherited column: say only where it differs from what INHERITS gives it.
        const fromParents = parentCols.filter((p) => p.name === c.name);
        if (c.default_expr !== null && !split(c)) after.push(`${alter} SET DEFAULT ${c.default_expr}`);
        else if (c.default_expr === null && fromParents.some((p) => p.default_expr !== null)) after.push(`${alter} DROP DEFAULT`);
        if (c.not_null && !fromParents.some((p) => p.not_null)) after.push(`${alter} SET NOT NULL`);
        const compression = COMPRESSION[c.compression];
        if (compression) after.push(`${alter} SET COMPRESSION ${compression}`);
      }
      if (c.storage !== c.type_storage) after.push(`${alter} SET STORAGE ${storageName(c.storage)}`);
      if (c.stat_target !== null && c.stat_target >= 0) after.push(`${alter} SET STATISTICS ${c.stat_target}`);
      if (c.options) after.push(`${alter} SET (${c.options.join(', ')})`);
      if (c.default_oid !== null && !split(c)) b.alias(address('pg_attrdef', c.default_oid), id);
    }

    const checks = checksOf.get(t.oid) ?? [];
    const inlineCheck = (k: CheckRow) => k.validated && !input.callsUserFunction.has(address('pg_constraint', k.oid));
    for (const k of checks) {
      if (inlineCheck(k) && (t.is_partition || k.is_local)) defs.push(`CONSTRAINT ${quoteIdent(k.name)} ${k.def}`);
    }

    let create = `CREATE ${t.unlogged ? 'UNLOGGED ' : ''}TABLE ${q} (${defs.length ? `\n    ${defs.join(',\n    ')}\n` : ''})`;
    if (parents.length) create += ` INHERITS (${parents.map((p) => names.get(p) ?? '').join(', ')})`;
    if (t.partition_key) create += ` PARTITION BY ${t.partition_key}`;
    const options = [...(t.options ?? []), ...(t.toast_options ?? []).map((o) => `toast.${o}`)];
    if (options.length) create += ` WITH (${options.join(', ')})`;
    if (t.has_oids) b.warn({ code: 'dropped-oids', object: `table ${q}`, message: `table ${q} has OIDs (WITH OIDS); PostgreSQL 12 and later have none, so they are not kept` });
    if (t.of_type !== 0) b.warn({ code: 'unsupported-object', object: `table ${q}`, message: `typed table ${q} (OF type) is created as an ordinary table` });
    if (t.replica_identity === 'f') after.push(`ALTER TABLE ONLY ${q} REPLICA IDENTITY FULL`);
    if (t.replica_identity === 'n') after.push(`ALTER TABLE ONLY ${q} REPLICA IDENTITY NOTHING`);

    const comments = [
      ...b.comment('pg_class', t.oid, `TABLE ${q}`),
      ...cols.flatMap((c) => b.comment('pg_class', t.oid, `COLUMN ${q}.${quoteIdent(c.name)}`, c.attnum)),
      ...checks.filter(inlineCheck).flatMap((k) => b.comment('pg_constraint', k.oid, `CONSTRAINT ${quoteIdent(k.name)} ON ${q}`)),
    ];
    const obj = b.add(
      makeObject({ id, kind: 'table', name: `table ${q}`, phase: 'pre-data', sql: [create, ...after, ...comments], check: relationExists(q), table: id }),
      address('pg_class', t.oid),
    );
    for (const k of checks.filter(inlineCheck)) b.alias(address('pg_constraint', k.oid), id);
    ownerAndAcl(b, obj, `TABLE ${q}`, {
      on: `TABLE ${q}`,
      owner: t.owner,
      isDefault: t.acl_default,
      items: t.acl,
      columns: cols.filter((c) => c.acl).map((c) => ({ column: c.name, acl: c.acl ?? [] })),
    });

    if (t.is_partition && t.parents[0] !== undefined) renderAttach(b, t, q, names.get(t.parents[0]) ?? '');
    for (const c of cols.filter(split)) renderSplitDefault(b, obj, q, c);
    const partitionAttaches = (partitionsOf.get(t.oid) ?? []).map((p) => `attach:${p.oid}`);
    for (const k of checks) {
      if (!inlineCheck(k) && k.is_local) renderSplitCheck(b, obj, q, k, partitionAttaches);
    }
    renderTableTail(b, t, q, id);
    const parentQualified = t.is_partition && t.parents[0] !== undefined ? names.get(t.parents[0]) : undefined;
    out.push({ row: t, qualified: q, columns: cols.map(columnPlan), columnRows: cols, ...(parentQualified ? { parentQualified } : {}) });
  }
  return out;
}

function storageName(code: string): string {
  return ({ p: 'PLAIN', e: 'EXTERNAL', m: 'MAIN', x: 'EXTENDED' } as Record<string, string>)[code] ?? 'EXTENDED';
}

function renderAttach(b: PlanBuilder, t: TableRow, q: string, parent: string): void {
  b.add(
    makeObject({
      id: `attach:${t.oid}`,
      kind: 'partition-attach',
      name: `partition ${q} of ${parent}`,
      phase: 'pre-data',
      sql: [`ALTER TABLE ONLY ${parent} ATTACH PARTITION ${q} ${t.partition_bound ?? 'DEFAULT'}`],
      check: inheritsExists(q, parent),
      deps: [tableId(t.oid), tableId(t.parents[0] ?? 0)],
      table: tableId(t.oid),
    }),
  );
}

function renderSplitDefault(b: PlanBuilder, table: SchemaObject, q: string, c: ColumnRow): void {
  if (c.default_oid === null) return;
  b.add(
    makeObject({
      id: `default:${c.default_oid}`,
      kind: 'column-default',
      name: `default of ${q}.${quoteIdent(c.name)}`,
      phase: 'pre-data',
      sql: [`ALTER TABLE ONLY ${q} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT ${c.default_expr}`],
      deps: [table.id],
      table: table.id,
    }),
    address('pg_attrdef', c.default_oid),
  );
}

/**
 * A CHECK added after the table: one that calls a user function (pre-data) or a NOT VALID one
 * (post-data: rows breaking it exist on the source). Added without ONLY so children get it too;
 * on a partitioned table only after its partitions are attached (ATTACH would demand it first).
 */
function renderSplitCheck(b: PlanBuilder, table: SchemaObject, q: string, k: CheckRow, partitionAttaches: string[]): void {
  b.add(
    makeObject({
      id: `check:${k.oid}`,
      kind: 'check-constraint',
      name: `constraint ${quoteIdent(k.name)} on ${q}`,
      phase: k.validated ? 'pre-data' : 'post-data',
      sql: [`ALTER TABLE ${q} ADD CONSTRAINT ${quoteIdent(k.name)} ${k.def}`, ...b.comment('pg_constraint', k.oid, `CONSTRAINT ${quoteIdent(k.name)} ON ${q}`)],
      check: tableConstraintExists(q, k.name),
      deps: [table.id, ...partitionAttaches],
      table: table.id,
    }),
    address('pg_constraint', k.oid),
  );
}

/** Post-data per table: row-level security switches and ANALYZE of the loaded rows. */
function renderTableTail(b: PlanBuilder, t: TableRow, q: string, id: string): void {
  if (t.row_security || t.force_row_security) {
    const sql = [];
    if (t.row_security) sql.push(`ALTER TABLE ONLY ${q} ENABLE ROW LEVEL SECURITY`);
    if (t.force_row_security) sql.push(`ALTER TABLE ONLY ${q} FORCE ROW LEVEL SECURITY`);
    b.add(makeObject({ id: `rls:${t.oid}`, kind: 'row-security', name: `row-level security of ${q}`, phase: 'post-data', sql, deps: [id], table: id }));
  }
  // A partitioned table holds no rows, and ANALYZE on it would sample every partition again.
  if (t.relkind === 'r') {
    b.add(
      makeObject({ id: `analyze:${t.oid}`, kind: 'analyze', name: `analyze ${q}`, phase: 'post-data', readiness: 'table-loaded', sql: [`ANALYZE ${q}`], check: analyzed(q, t.schema, t.name), deps: [id], table: id }),
    );
  }
}
