/**
 * wal2json before 2.6 prints NULL, NaN, Infinity and -Infinity of float4, float8 and numeric
 * columns alike, as JSON null. Tables with a key get such new values back from the source by key
 * (source-values.ts); this file handles the rows found by their whole old row (REPLICA IDENTITY
 * FULL on a table the target has no key for):
 *  - an old value is matched against exactly those four (apply-sql.ts matchOne), never dropped
 *    from the match (then `(1, NULL)` found `(1, 1.5)`), and the rows so found must agree on it:
 *    rows differing only there cannot be told apart, and changing either could be the wrong one,
 *    so that is a clear failure (pgoutput has no such loss);
 *  - a new value is read from the source rows equal to the new row on every other column and
 *    holding one of the four. None (the row is gone again; a later change in the WAL handles it)
 *    leaves NULL, or NaN where the column is NOT NULL; two different ones fail as above.
 */
import type { ColumnValue, InsertChange, UpdateChange } from '../change';
import { CdcApplyError, describeChange, describeRelation } from '../errors';
import { serially } from '../serial';
import { specialsOf, type Col } from './apply-sql';
import { col } from './runs';
import type { TargetTable } from './target-tables';
import type { PlannedOp, WriterContext } from './writer-context';

/** The match columns of an old row, keeping wal2json's `nullOrSpecial` marks. */
export function matchColumns(t: TargetTable, row: ColumnValue[]): Col[] {
  return row.map((v) => (v.nullOrSpecial ? { ...col(t, v.name, row), nullOrSpecial: true } : col(t, v.name, row)));
}

/** Fails when the target rows an old row matches differ in a value wal2json printed as null. */
export async function assertUnambiguous(ctx: WriterContext, t: TargetTable, match: Col[], values: Array<string | null>, op: PlannedOp): Promise<void> {
  if (!match.some((c) => c.nullOrSpecial)) return;
  const found = await specials(ctx.target, t, match, values);
  if (found.length > 1) throw ambiguous(t, op, match, found, 'target');
}

/** Fills the `unresolved` columns of a change to a keyless table from the source (see above). */
export async function resolveFromWholeRow(ctx: WriterContext, t: TargetTable, op: PlannedOp): Promise<void> {
  const c = op.change as InsertChange | UpdateChange;
  const names = c.unresolved ?? [];
  const known = c.newRow.filter((v) => !names.includes(v.name));
  const match: Col[] = [...known.map((v) => col(t, v.name, known)), ...names.map((name) => ({ ...col(t, name, []), nullOrSpecial: true }))];
  const found = await specials(ctx.source, t, match, [...known.map((v) => v.value), ...names.map(() => null)]);
  ctx.counters.sourceReads += found.length;
  if (found.length > 1) throw ambiguous(t, op, match, found, 'source');
  const values = found[0];
  names.forEach((name, j) => {
    const tc = t.columns.get(name);
    c.newRow.push({ name, type: tc?.type ?? '', value: values ? (values[j] ?? null) : tc?.notNull ? 'NaN' : null });
  });
  delete c.unresolved;
}

async function specials(client: WriterContext['source'], t: TargetTable, match: Col[], values: Array<string | null>): Promise<Array<Array<string | null>>> {
  const stmt = specialsOf(t, match);
  const { rows } = await serially(client, () => client.query<Array<string | null>>({ name: stmt.name, text: stmt.text, values, rowMode: 'array' }));
  return rows;
}

function ambiguous(t: TargetTable, op: PlannedOp, match: Col[], found: Array<Array<string | null>>, side: 'source' | 'target'): CdcApplyError {
  const cols = match.filter((c) => c.nullOrSpecial).map((c) => c.name);
  const seen = found.map((r) => cols.map((name, j) => `${name}=${r[j] ?? 'NULL'}`).join(', ')).join(' and ');
  return new CdcApplyError(
    `${describeChange(op.change, op.xid, op.commitLsn)}: wal2json prints NULL, NaN, Infinity and -Infinity alike, and the ${side} has rows of ` +
      `${describeRelation(t)} equal but for these (${seen}), so the changed one cannot be known; migrate with the pgoutput decoder`,
    'DataError',
    false,
    { table: op.change.relation, change: op.change, xid: op.xid, commitLsn: op.commitLsn },
  );
}
