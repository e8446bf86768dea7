/**
 * Post-data statements read from the source catalog, per table, the way pgcopydb builds them:
 * every index by its own definition, and primary keys / unique constraints attached to their
 * freshly built index (`ADD CONSTRAINT … USING INDEX`, which avoids a second build). Foreign keys
 * come last, after every table. A stand-in until shared/schema renders post-data; it does not
 * handle partitioned indexes (the benchmark has none).
 */
import type { ClientBase } from 'pg';
import { quoteIdent, quoteQualified } from '../../shared/pg/ident';

export interface PostData {
  /** By `schema.table`: statements runnable in parallel; one string may hold ordered steps. */
  byTable: Record<string, string[]>;
  foreignKeys: string[];
}

export async function readPostData(client: ClientBase): Promise<PostData> {
  const { rows } = await client.query<{ schema: string; table: string; def: string; conname: string | null; contype: string | null; index: string; condef: string | null }>(`
    SELECT n.nspname AS schema, t.relname AS table, pg_get_indexdef(i.indexrelid) AS def, ic.relname AS index,
           con.conname, con.contype::text AS contype, pg_get_constraintdef(con.oid) AS condef
      FROM pg_index i
      JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      JOIN pg_class ic ON ic.oid = i.indexrelid
      LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = t.oid AND con.contype IN ('p', 'u', 'x')
     WHERE t.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
     ORDER BY 1, 2, 4`);
  const byTable: Record<string, string[]> = {};
  for (const r of rows) {
    const table = quoteQualified(r.schema, r.table);
    let statement = r.def;
    if (r.contype === 'p' || r.contype === 'u') {
      const kind = r.contype === 'p' ? 'PRIMARY KEY' : 'UNIQUE';
      statement = `${r.def}; ALTER TABLE ONLY ${table} ADD CONSTRAINT ${quoteIdent(r.conname ?? r.index)} ${kind} USING INDEX ${quoteIdent(r.index)}`;
    } else if (r.contype === 'x') {
      statement = `ALTER TABLE ONLY ${table} ADD CONSTRAINT ${quoteIdent(r.conname ?? r.index)} ${r.condef ?? ''}`;
    }
    (byTable[`${r.schema}.${r.table}`] ??= []).push(statement);
  }
  const fks = await client.query<{ stmt: string }>(`
    SELECT format('ALTER TABLE ONLY %I.%I ADD CONSTRAINT %I %s', n.nspname, t.relname, c.conname, pg_get_constraintdef(c.oid)) AS stmt
      FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE c.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`);
  return { byTable, foreignKeys: fks.rows.map((r) => r.stmt) };
}
