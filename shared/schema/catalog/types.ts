/**
 * User types: enums, domains (with their constraints), composite types and ranges. Base types
 * (C input/output functions) and shell types are not migrated. Every reader returns names raw;
 * renderers quote them. Types are printed by format_type in a session whose search_path is
 * empty, so the text is schema-qualified wherever needed.
 */
import { aclColumns, notExtensionMember, rows, userSchema, type AclFields, type CatalogContext } from './filters';

interface TypeBase extends AclFields {
  oid: number;
  schema: string;
  name: string;
}

export interface EnumRow extends TypeBase {
  /** quote_literal of each label, in sort order. */
  labels: string[];
}

export interface DomainRow extends TypeBase {
  base: string;
  not_null: boolean;
  default_expr: string | null;
  /** Collation when it differs from the base type's: [schema, name]. */
  collation: [string, string] | null;
}

export interface DomainConstraintRow {
  oid: number;
  domain: number;
  name: string;
  def: string;
  validated: boolean;
}

export interface CompositeRow extends TypeBase {
  relid: number;
  attributes: Array<{ attnum: number; name: string; type: string; collation: [string, string] | null }>;
}

export interface RangeRow extends TypeBase {
  subtype: string;
  /** [schema, name] of a non-default operator class. */
  opclass: [string, string] | null;
  collation: [string, string] | null;
  /** regproc text or null. */
  canonical: string | null;
  subtype_diff: string | null;
  /** Multirange type (14+): [schema, name]. */
  multirange: [string, string] | null;
}

const collationOf = (oidExpr: string) =>
  `(SELECT ARRAY[cn.nspname::text, co.collname::text] FROM pg_catalog.pg_collation co
     JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = ${oidExpr})`;

const userTypes = `${userSchema('n')} AND ${notExtensionMember('pg_type', 't.oid')}`;

export async function readEnums(ctx: CatalogContext): Promise<EnumRow[]> {
  return rows<EnumRow>(ctx, `
    SELECT t.oid, n.nspname AS schema, t.typname AS name, ${aclColumns('t.typacl', 't.typowner')},
           ARRAY(SELECT pg_catalog.quote_literal(e.enumlabel) FROM pg_catalog.pg_enum e
                  WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typtype = 'e' AND ${userTypes}
     ORDER BY 2, 3`);
}

export async function readDomains(ctx: CatalogContext): Promise<DomainRow[]> {
  return rows<DomainRow>(ctx, `
    SELECT t.oid, n.nspname AS schema, t.typname AS name, ${aclColumns('t.typacl', 't.typowner')},
           pg_catalog.format_type(t.typbasetype, t.typtypmod) AS base, t.typnotnull AS not_null,
           pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS default_expr,
           CASE WHEN t.typcollation <> b.typcollation THEN ${collationOf('t.typcollation')} END AS collation
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
     WHERE t.typtype = 'd' AND ${userTypes}
     ORDER BY 2, 3`);
}

/** CHECK constraints of domains (NOT NULL ones, catalogued from 17, come from typnotnull). */
export async function readDomainConstraints(ctx: CatalogContext): Promise<DomainConstraintRow[]> {
  return rows<DomainConstraintRow>(ctx, `
    SELECT c.oid, c.contypid AS domain, c.conname AS name, pg_catalog.pg_get_constraintdef(c.oid) AS def,
           c.convalidated AS validated
      FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_type t ON t.oid = c.contypid
      JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
     WHERE c.contype = 'c' AND ${userTypes}
     ORDER BY c.contypid, c.conname`);
}

export async function readComposites(ctx: CatalogContext): Promise<CompositeRow[]> {
  return rows<CompositeRow>(ctx, `
    SELECT t.oid, n.nspname AS schema, t.typname AS name, ${aclColumns('t.typacl', 't.typowner')}, t.typrelid AS relid,
           COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object('attnum', a.attnum, 'name', a.attname,
                     'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
                     'collation', CASE WHEN a.attcollation <> at.typcollation THEN ${collationOf('a.attcollation')} END)
                     ORDER BY a.attnum)
                       FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
                      WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS attributes
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
     WHERE t.typtype = 'c' AND c.relkind = 'c' AND ${userTypes}
     ORDER BY 2, 3`);
}

export async function readRanges(ctx: CatalogContext): Promise<RangeRow[]> {
  const multirange =
    ctx.versionNum >= 140000
      ? `(SELECT ARRAY[mn.nspname::text, mt.typname::text] FROM pg_catalog.pg_type mt
           JOIN pg_catalog.pg_namespace mn ON mn.oid = mt.typnamespace WHERE mt.oid = r.rngmultitypid)`
      : 'NULL';
  return rows<RangeRow>(ctx, `
    SELECT t.oid, n.nspname AS schema, t.typname AS name, ${aclColumns('t.typacl', 't.typowner')},
           pg_catalog.format_type(r.rngsubtype, NULL) AS subtype,
           (SELECT ARRAY[ocn.nspname::text, oc.opcname::text] FROM pg_catalog.pg_opclass oc
              JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace
             WHERE oc.oid = r.rngsubopc AND NOT oc.opcdefault) AS opclass,
           CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation THEN ${collationOf('r.rngcollation')} END AS collation,
           CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::pg_catalog.regproc::text END AS canonical,
           CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::pg_catalog.regproc::text END AS subtype_diff,
           ${multirange} AS multirange
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid JOIN pg_catalog.pg_type st ON st.oid = r.rngsubtype
     WHERE t.typtype = 'r' AND ${userTypes}
     ORDER BY 2, 3`);
}

/**
 * Types that stand for another object in dependency terms: array types for their element,
 * row types for their relation, multiranges for their range.
 */
export interface TypeAliasRow {
  oid: number;
  catalog: 'pg_type' | 'pg_class';
  target: number;
}

export async function readTypeAliases(ctx: CatalogContext): Promise<TypeAliasRow[]> {
  const multirange =
    ctx.versionNum >= 140000
      ? `UNION ALL SELECT r.rngmultitypid, 'pg_type', r.rngtypid FROM pg_catalog.pg_range r WHERE r.rngmultitypid >= 16384`
      : '';
  return rows<TypeAliasRow>(ctx, `
    SELECT t.oid, 'pg_type' AS catalog, t.typelem AS target FROM pg_catalog.pg_type t
     WHERE t.oid >= 16384 AND t.typelem <> 0 AND EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid)
    UNION ALL
    SELECT t.oid, 'pg_class', t.typrelid FROM pg_catalog.pg_type t WHERE t.oid >= 16384 AND t.typrelid <> 0
    ${multirange}`);
}
