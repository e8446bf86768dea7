/** Row counts per table, for cutover's comparison of source and target. */
import type { ClientBase } from 'pg';
import { quoteQualified } from '../pg/ident';
import { userSchema } from '../pg/user-schemas';
import type { RelationRef } from './change';

/** Exact counts (count(*)), keyed by "schema.table". */
export async function countRows(client: ClientBase, tables: RelationRef[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of tables) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ONLY ${quoteQualified(t.schema, t.table)}`);
    out.set(`${t.schema}.${t.table}`, Number(rows[0]?.n ?? 0));
  }
  return out;
}

/** Ordinary and partitioned-leaf tables of the user schemas (what CDC replicates). */
export async function listUserTables(client: ClientBase): Promise<RelationRef[]> {
  const { rows } = await client.query<RelationRef>(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND ${userSchema('n')}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return rows;
}
