/** Enums, domains, composite types and ranges. */
import { quoteIdent, quoteQualified } from '../../pg/ident';
import type { CompositeRow, DomainConstraintRow, DomainRow, EnumRow, RangeRow } from '../catalog/types';
import { makeObject, type SchemaObject } from '../model';
import { ownerAndAcl } from './acl';
import { address, groupBy, type PlanBuilder } from './builder';
import { domainConstraintExists, typeExists } from './checks';

const collate = (c: [string, string] | null) => (c ? ` COLLATE ${quoteQualified(c[0], c[1])}` : '');

function typeObject(b: PlanBuilder, row: { oid: number; schema: string; name: string }, what: string, sql: string[]): SchemaObject {
  const q = quoteQualified(row.schema, row.name);
  return b.add(
    makeObject({
      id: `type:${row.oid}`,
      kind: 'type',
      name: `${what} ${q}`,
      phase: 'pre-data',
      sql: [...sql, ...b.comment('pg_type', row.oid, `${what === 'domain' ? 'DOMAIN' : 'TYPE'} ${q}`)],
      check: typeExists(row.schema, row.name),
    }),
    address('pg_type', row.oid),
  );
}

function typeAcl(b: PlanBuilder, obj: SchemaObject, row: EnumRow | DomainRow | CompositeRow | RangeRow, keyword: 'TYPE' | 'DOMAIN'): void {
  const q = quoteQualified(row.schema, row.name);
  ownerAndAcl(b, obj, `${keyword} ${q}`, { on: `${keyword} ${q}`, owner: row.owner, isDefault: row.acl_default, items: row.acl });
}

export function renderEnums(b: PlanBuilder, rows: EnumRow[]): void {
  for (const row of rows) {
    const obj = typeObject(b, row, 'type', [`CREATE TYPE ${quoteQualified(row.schema, row.name)} AS ENUM (${row.labels.join(', ')})`]);
    typeAcl(b, obj, row, 'TYPE');
  }
}

/**
 * Domains with their validated CHECK constraints inline. A NOT VALID constraint is added after
 * the data (post-data): rows that break it exist on the source, and COPY would reject them.
 */
export function renderDomains(b: PlanBuilder, rows: DomainRow[], constraints: DomainConstraintRow[]): void {
  const byDomain = groupBy(constraints, (c) => c.domain);
  for (const row of rows) {
    const q = quoteQualified(row.schema, row.name);
    const own = byDomain.get(row.oid) ?? [];
    const inline = own.filter((c) => c.validated);
    const parts = [`CREATE DOMAIN ${q} AS ${row.base}${collate(row.collation)}`];
    if (row.default_expr !== null) parts.push(`DEFAULT ${row.default_expr}`);
    if (row.not_null) parts.push('NOT NULL');
    for (const c of inline) parts.push(`CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
    const comments = inline.flatMap((c) => b.comment('pg_constraint', c.oid, `CONSTRAINT ${quoteIdent(c.name)} ON DOMAIN ${q}`));
    const obj = typeObject(b, row, 'domain', [parts.join(' '), ...comments]);
    for (const c of inline) b.alias(address('pg_constraint', c.oid), obj.id);
    typeAcl(b, obj, row, 'DOMAIN');
    for (const c of own.filter((x) => !x.validated)) {
      b.add(
        makeObject({
          id: `domain-constraint:${c.oid}`,
          kind: 'domain-constraint',
          name: `constraint ${quoteIdent(c.name)} on domain ${q}`,
          phase: 'post-data',
          sql: [`ALTER DOMAIN ${q} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`, ...b.comment('pg_constraint', c.oid, `CONSTRAINT ${quoteIdent(c.name)} ON DOMAIN ${q}`)],
          check: domainConstraintExists(row.schema, row.name, c.name),
          deps: [obj.id],
        }),
        address('pg_constraint', c.oid),
      );
    }
  }
}

export function renderComposites(b: PlanBuilder, rows: CompositeRow[]): void {
  for (const row of rows) {
    const q = quoteQualified(row.schema, row.name);
    const attrs = row.attributes.map((a) => `${quoteIdent(a.name)} ${a.type}${collate(a.collation)}`);
    const columnComments = row.attributes.flatMap((a) => b.comment('pg_class', row.relid, `COLUMN ${q}.${quoteIdent(a.name)}`, a.attnum));
    const obj = typeObject(b, row, 'type', [`CREATE TYPE ${q} AS (${attrs.join(', ')})`, ...columnComments]);
    b.alias(address('pg_class', row.relid), obj.id);
    typeAcl(b, obj, row, 'TYPE');
  }
}

export function renderRanges(b: PlanBuilder, rows: RangeRow[]): void {
  for (const row of rows) {
    const opts = [`subtype = ${row.subtype}`];
    if (row.opclass) opts.push(`subtype_opclass = ${quoteQualified(row.opclass[0], row.opclass[1])}`);
    if (row.collation) opts.push(`collation = ${quoteQualified(row.collation[0], row.collation[1])}`);
    if (row.canonical) opts.push(`canonical = ${row.canonical}`);
    if (row.subtype_diff) opts.push(`subtype_diff = ${row.subtype_diff}`);
    if (row.multirange && b.options.targetVersionNum >= 140000) {
      opts.push(`multirange_type_name = ${quoteQualified(row.multirange[0], row.multirange[1])}`);
    }
    const obj = typeObject(b, row, 'type', [`CREATE TYPE ${quoteQualified(row.schema, row.name)} AS RANGE (${opts.join(', ')})`]);
    typeAcl(b, obj, row, 'TYPE');
  }
}
