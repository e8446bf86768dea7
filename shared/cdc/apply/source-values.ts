/**
 * Values the change stream does not carry, read from the SOURCE by key: unchanged TOAST values of
 * rows the target lacks (idempotent replay), and wal2json's NaN/±Infinity, which it prints as
 * JSON null. One query per table and batch; the reads are chained on the source session.
 */
import type { ColumnValue, InsertChange, UpdateChange } from '../change';
import { serially } from '../serial';
import { selectByKey } from './apply-sql';
import { col, keyText, pick } from './runs';
import { resolveFromWholeRow } from './specials';
import type { TargetTable } from './target-tables';
import type { PlannedOp, WriterContext } from './writer-context';

/**
 * wal2json cannot tell NULL from NaN/±Infinity: read such values from the source by key, in
 * one query per table (keyless tables: by the rest of the row, specials.ts). A row already gone
 * from the source is removed again later in the WAL; it gets NULL (or NaN where the column is
 * NOT NULL, so the value must have been a special one).
 */
export async function resolveUnresolved(ctx: WriterContext, t: TargetTable, ops: PlannedOp[]): Promise<void> {
  if (!ops.some((o) => o.change.kind !== 'delete' && o.change.unresolved !== undefined)) return;
  const pending = ops.filter((o) => o.change.kind !== 'delete' && (o.change.unresolved?.length ?? 0) > 0);
  if (pending.length === 0) return;
  if (t.key.length === 0) {
    for (const o of pending) await resolveFromWholeRow(ctx, t, o);
    return;
  }
  const cols = [...new Set(pending.flatMap((o) => (o.change.kind !== 'delete' ? (o.change.unresolved ?? []) : [])))];
  const found = await readSourceByKey(ctx, t, pending.map((o) => pick((o.change as InsertChange | UpdateChange).newRow, t.key)), cols);
  for (const o of pending) {
    const c = o.change as InsertChange | UpdateChange;
    const keyRow = pick(c.newRow, t.key);
    const values = found.get(keyText(keyRow.map((v) => v.value)));
    for (const name of c.unresolved ?? []) {
      const j = cols.indexOf(name);
      const tc = t.columns.get(name);
      const value = values ? (values[j] ?? null) : tc?.notNull ? 'NaN' : null;
      c.newRow.push({ name, type: tc?.type ?? '', value });
    }
    delete c.unresolved;
  }
}

/** The current values of `cols` of the rows with these keys on the source, by keyText of the key. */
export async function readSourceByKey(ctx: WriterContext, t: TargetTable, keyRows: ColumnValue[][], cols: string[]): Promise<Map<string, Array<string | null>>> {
  const first = keyRows[0] ?? [];
  const keyCols = t.key.map((k) => col(t, k, first));
  const stmt = selectByKey(t.schema, t.table, keyCols, cols);
  const arrays = keyCols.map((_, j) => keyRows.map((r) => pick(r, t.key)[j]?.value ?? null));
  const source = ctx.source;
  const { rows } = await serially(source, () => source.query<string[]>({ name: stmt.name, text: stmt.text, values: arrays, rowMode: 'array' }));
  ctx.counters.sourceReads += rows.length;
  const out = new Map<string, Array<string | null>>();
  for (const r of rows) out.set(keyText(r.slice(0, keyCols.length)), r.slice(keyCols.length));
  return out;
}
