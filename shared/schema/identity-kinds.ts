/**
 * Identity ALWAYS columns were created BY DEFAULT (RenderOptions.holdIdentity), so that replay
 * can give a row the key a source `UPDATE … SET id = DEFAULT` gave it (an UPDATE cannot set an
 * ALWAYS column to a value). Once replay has drained, every column that is ALWAYS on the source
 * becomes ALWAYS on the target again. The source is read again, not remembered: the step is
 * stateless and safe to repeat, and alters only what differs. Parents go before partitions
 * (an ALTER of a partitioned table reaches its partitions).
 */
import type { ClientBase } from 'pg';
import { quoteIdent, quoteQualified } from '../pg/ident';

export interface IdentityColumn {
  schema: string;
  table: string;
  column: string;
}

const USER_TABLE = `c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'`;

async function alwaysColumns(source: ClientBase): Promise<IdentityColumn[]> {
  const { rows } = await source.query<IdentityColumn>(
    `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE a.attidentity = 'a' AND a.attnum > 0 AND NOT a.attisdropped AND ${USER_TABLE}
      ORDER BY c.relispartition, 1, 2, 3`,
  );
  return rows;
}

/** Makes ALWAYS again every identity column the source has ALWAYS; returns what was altered. */
export async function restoreIdentityKinds(source: ClientBase, target: ClientBase): Promise<IdentityColumn[]> {
  const altered: IdentityColumn[] = [];
  for (const col of await alwaysColumns(source)) {
    const q = quoteQualified(col.schema, col.table);
    const { rows } = await target.query<{ kind: string }>(
      `SELECT attidentity::text AS kind FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass($1) AND attname = $2`,
      [q, col.column],
    );
    if (rows[0]?.kind !== 'd') continue;
    await target.query(`ALTER TABLE ${q} ALTER COLUMN ${quoteIdent(col.column)} SET GENERATED ALWAYS`);
    altered.push(col);
  }
  return altered;
}
