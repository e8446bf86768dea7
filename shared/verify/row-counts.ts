/**
 * Exact row counts (count(*) of each table alone, no partitions or children), source against
 * target: the quick comparison cutover makes once the source is quiet. compare.ts adds checksums.
 */
import type { ClientBase } from 'pg';
import { quoteQualified } from '../pg/ident';
import { userSchema } from '../pg/user-schemas';

export interface TableRef {
  schema: string;
  table: string;
}

export interface TableCount {
  /** "schema.table", unquoted. */
  table: string;
  source: number;
  target: number;
}

/** Ordinary tables of the user schemas, extension members excluded (what CDC replicates). */
export async function listUserTables(client: ClientBase): Promise<TableRef[]> {
  const { rows } = await client.query<TableRef>(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND ${userSchema('n')}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return rows;
}

/** count(*) of one table alone. */
export async function countRows(client: ClientBase, t: TableRef): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ONLY ${quoteQualified(t.schema, t.table)}`);
  return Number(rows[0]?.n ?? 0);
}

/** Both sides' counts of every table, in the order given. */
export async function compareRowCounts(source: ClientBase, target: ClientBase, tables: readonly TableRef[]): Promise<TableCount[]> {
  const out: TableCount[] = [];
  for (const t of tables) {
    const [s, g] = await Promise.all([countRows(source, t), countRows(target, t)]);
    out.push({ table: `${t.schema}.${t.table}`, source: s, target: g });
  }
  return out;
}
