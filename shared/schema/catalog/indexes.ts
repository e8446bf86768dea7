/**
 * Indexes of tables and materialized views, each with the constraint it backs (primary key,
 * unique, exclusion), its place in a partitioned index tree (pg_inherits, 11+), and whether it is
 * the replica identity or the clustering index.
 */
import { notExtensionMember, rows, userSchema, type CatalogContext } from './filters';

export interface IndexRow {
  oid: number;
  relid: number;
  schema: string;
  name: string;
  /** i = index, I = partitioned index (11+). */
  relkind: string;
  /** Relkind of the indexed relation: r, p or m. */
  table_relkind: string;
  unique: boolean;
  valid: boolean;
  replica_identity: boolean;
  clustered: boolean;
  /** pg_get_indexdef, e.g. `CREATE INDEX i ON ONLY app.t USING btree (a)`. */
  def: string;
  /** Column names of the key (for a primary key: the key columns). */
  columns: string[];
  /** Number of key columns (INCLUDE columns excluded). */
  key_count: number;
  /** A partial or expression index cannot key a chunked copy. */
  partial: boolean;
  expressions: boolean;
  constraint_oid: number | null;
  constraint_name: string | null;
  /** p, u or x. */
  constraint_type: string | null;
  constraint_def: string | null;
  deferrable: boolean;
  deferred: boolean;
  /** The partitioned index this one is attached to. */
  parent_index: number | null;
  /** [column number, statistics target] of index columns with a target set. */
  stat_targets: Array<[number, number]>;
}

export async function readIndexes(ctx: CatalogContext): Promise<IndexRow[]> {
  const v = ctx.versionNum;
  const parent =
    v >= 110000 ? '(SELECT ih.inhparent FROM pg_catalog.pg_inherits ih WHERE ih.inhrelid = i.indexrelid LIMIT 1)' : 'NULL::oid';
  return rows<IndexRow>(ctx, `
    SELECT i.indexrelid AS oid, i.indrelid AS relid, n.nspname AS schema, ic.relname AS name, ic.relkind::text AS relkind,
           c.relkind::text AS table_relkind, i.indisunique AS unique, i.indisvalid AS valid,
           i.indisreplident AS replica_identity, i.indisclustered AS clustered,
           pg_catalog.pg_get_indexdef(i.indexrelid) AS def,
           ARRAY(SELECT a.attname::text FROM pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                  WHERE k.ord <= ${v >= 110000 ? 'i.indnkeyatts' : 'i.indnatts'} ORDER BY k.ord) AS columns,
           ${v >= 110000 ? 'i.indnkeyatts' : 'i.indnatts'}::int AS key_count,
           i.indpred IS NOT NULL AS partial, i.indexprs IS NOT NULL AS expressions,
           co.oid AS constraint_oid, co.conname AS constraint_name, co.contype::text AS constraint_type,
           CASE WHEN co.oid IS NOT NULL THEN pg_catalog.pg_get_constraintdef(co.oid) END AS constraint_def,
           COALESCE(co.condeferrable, false) AS deferrable, COALESCE(co.condeferred, false) AS deferred,
           ${parent} AS parent_index,
           COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_array(ia.attnum, ia.attstattarget) ORDER BY ia.attnum)
              FROM pg_catalog.pg_attribute ia WHERE ia.attrelid = i.indexrelid AND ia.attstattarget > 0), '[]') AS stat_targets
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_catalog.pg_class c ON c.oid = i.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_catalog.pg_constraint co ON co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')
     WHERE c.relkind IN ('r', 'p', 'm') AND ${userSchema('n')} AND ${notExtensionMember('pg_class', 'c.oid')}
     ORDER BY n.nspname, ic.relname`);
}
