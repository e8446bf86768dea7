/**
 * Sequences with every option (pg_sequence, PostgreSQL 10+), how they are tied to columns
 * (OWNED BY for serial, internal for identity columns), owner and ACL.
 */
import { aclColumns, notExtensionMember, rows, userSchema, type AclFields, type CatalogContext } from './filters';

export interface SequenceOptions {
  /** format_type of the sequence's data type. */
  type: string;
  start: string;
  increment: string;
  min: string;
  max: string;
  cache: string;
  cycle: boolean;
}

export interface SequenceRow extends AclFields, SequenceOptions {
  oid: number;
  schema: string;
  name: string;
  unlogged: boolean;
  /** OWNED BY: the table's OID and column name (serial columns), or null. */
  owned_by_table: number | null;
  owned_by_column: string | null;
  /** An identity column's sequence: created by its table, not on its own. */
  identity: boolean;
  /** Table OID and column number of the identity column. */
  identity_table: number | null;
  identity_attnum: number | null;
}

export async function readSequences(ctx: CatalogContext): Promise<SequenceRow[]> {
  return rows<SequenceRow>(ctx, `
    SELECT c.oid, n.nspname AS schema, c.relname AS name, ${aclColumns('c.relacl', 'c.relowner')},
           c.relpersistence = 'u' AS unlogged,
           pg_catalog.format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start,
           s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max,
           s.seqcache::text AS cache, s.seqcycle AS cycle,
           own.refobjid AS owned_by_table, oa.attname AS owned_by_column,
           idn.refobjid IS NOT NULL AS identity, idn.refobjid AS identity_table, idn.refobjsubid AS identity_attnum
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
      LEFT JOIN pg_catalog.pg_depend own ON own.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND own.objid = c.oid
           AND own.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND own.deptype = 'a' AND own.refobjsubid > 0
      LEFT JOIN pg_catalog.pg_attribute oa ON oa.attrelid = own.refobjid AND oa.attnum = own.refobjsubid
      LEFT JOIN pg_catalog.pg_depend idn ON idn.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND idn.objid = c.oid
           AND idn.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND idn.deptype = 'i'
     WHERE c.relkind = 'S' AND ${userSchema('n')} AND ${notExtensionMember('pg_class', 'c.oid')}
     ORDER BY 2, 3`);
}
