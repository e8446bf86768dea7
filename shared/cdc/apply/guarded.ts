/**
 * Before-image replay: the reverse stream of a fallback window applies the target's changes to the
 * source, which nothing else should write meanwhile. Each change is checked against the row it
 * meets, in the statement that applies it:
 *  - an update or a delete must find a row equal to its old image — the whole row, since the
 *    target's tables are REPLICA IDENTITY FULL for the window (only the key when a table is not);
 *  - an insert must find its key (and every other unique value) free.
 * A change that does not fit is a conflict: the source row was written directly since cutover.
 * It is not applied — the source row is never overwritten — and is reported with its table, key
 * and reason; the rest of the transaction is applied. Fall back's verification then names the
 * tables that differ. One statement per change, so each row count says which change conflicts.
 */
import type { ColumnValue, UpdateChange } from '../change';
import { classifyApplyError, describeRelation } from '../errors';
import { sqlstateOf } from '../../pg/retryable';
import { serially } from '../serial';
import { deleteOneRow, insertRowsIfAbsent, rowExists, updateOneRow, type Statement } from './apply-sql';
import { col, describeKey, keyChanged, pick, writable } from './runs';
import { assertUnambiguous, matchColumns } from './specials';
import type { TargetTable } from './target-tables';
import type { ApplyConflict, PlannedOp, WriterContext } from './writer-context';

/** Applies one change unless it conflicts; returns whether it was applied (conflicts are pushed on `conflicts`). */
export async function writeGuarded(ctx: WriterContext, t: TargetTable, op: PlannedOp, conflicts: ApplyConflict[]): Promise<boolean> {
  const c = op.change;
  const conflict = (key: ColumnValue[], reason: string) => {
    conflicts.push({ kind: c.kind, table: c.relation, key: keyOf(t, key), reason, xid: op.xid, commitLsn: op.commitLsn });
    return false;
  };
  if (c.kind === 'insert') {
    const cols = writable(t, c.newRow);
    const n = await run(ctx, op, insertRowsIfAbsent(t, cols.map((v) => col(t, v.name, cols))), cols.map((v) => [v.value]));
    return n > 0 || conflict(c.newRow, 'a row with this key already exists on the source (inserted there since cutover)');
  }
  // The old image: the whole row under REPLICA IDENTITY FULL; an update without one matches on its key.
  const old = c.kind === 'update' && c.oldKey.length === 0 ? pick(c.newRow, t.key) : c.oldKey;
  const match = matchColumns(t, old);
  const values = old.map((v) => v.value);
  if (match.some((m) => m.nullOrSpecial)) await assertUnambiguous(ctx, t, match, values, op);
  if (c.kind === 'delete') {
    const n = await run(ctx, op, deleteOneRow(t, match), values);
    return n > 0 || conflict(old, await whyNotFound(ctx, t, op, old));
  }
  const set = setColumns(t, c);
  const update = updateOneRow(t, set.map((v) => col(t, v.name, set)), match);
  const params = [...set.map((v) => v.value), ...values];
  if (!keyChanged(t, c)) {
    const n = await run(ctx, op, update, params);
    return n > 0 || conflict(old, await whyNotFound(ctx, t, op, old));
  }
  // A new key may be taken on the source: the savepoint keeps the rest of the transaction.
  await run(ctx, op, { name: '', text: 'SAVEPOINT pf_guard' }, []);
  try {
    const n = await run(ctx, op, update, params);
    await run(ctx, op, { name: '', text: 'RELEASE SAVEPOINT pf_guard' }, []);
    return n > 0 || conflict(old, await whyNotFound(ctx, t, op, old));
  } catch (err) {
    const state = (err as { sqlstate?: string }).sqlstate ?? sqlstateOf(err);
    if (state !== '23505' && state !== '23P01') throw err;
    await run(ctx, op, { name: '', text: 'ROLLBACK TO SAVEPOINT pf_guard' }, []);
    await run(ctx, op, { name: '', text: 'RELEASE SAVEPOINT pf_guard' }, []);
    return conflict(old, `its new key ${describeKey(t.key, pick(c.newRow, t.key).map((v) => v.value))} is taken on the source (written there since cutover)`);
  }
}

/** Columns an update sets: those written, never an identity ALWAYS one; at least one (a no-op on the key). */
function setColumns(t: TargetTable, c: UpdateChange): ColumnValue[] {
  const set = writable(t, c.newRow).filter((v) => !t.columns.get(v.name)?.identityAlways);
  if (set.length > 0) return set;
  const first = c.newRow.find((v) => t.key.includes(v.name)) ?? c.oldKey[0];
  return first ? [first] : [];
}

/** Why an update or delete found no row equal to its old image: the row is gone, or it differs. */
async function whyNotFound(ctx: WriterContext, t: TargetTable, op: PlannedOp, old: ColumnValue[]): Promise<string> {
  const keyed = t.key.length > 0 && t.key.every((k) => old.some((v) => v.name === k));
  if (!keyed) return 'no source row equals the target\'s row before this change (written on the source since cutover)';
  const key = pick(old, t.key);
  const found = await run(ctx, op, rowExists(t, key.map((v) => col(t, v.name, key))), key.map((v) => v.value));
  return found > 0
    ? 'the source row differs from the target\'s row before this change (written on the source since cutover)'
    : 'the row is not on the source (deleted there since cutover)';
}

/** The row's key for a report: its key columns, or its first three columns when it has no key. */
function keyOf(t: TargetTable, row: ColumnValue[]): string {
  if (t.key.length > 0) return describeKey(t.key, pick(row, t.key).map((v) => v.value));
  return row.slice(0, 3).map((v) => `${v.name}=${v.value ?? 'NULL'}`).join(', ');
}

/** Runs one statement on the session being written; returns its row count. */
async function run(ctx: WriterContext, op: PlannedOp, stmt: Statement, values: unknown[]): Promise<number> {
  await ctx.beforeStatement?.();
  ctx.counters.statements++;
  const target = ctx.target;
  try {
    const res = await serially(target, () => (stmt.name ? target.query({ name: stmt.name, text: stmt.text, values }) : target.query(stmt.text)));
    return res.rowCount ?? 0;
  } catch (err) {
    throw classifyApplyError(err, { change: op.change, xid: op.xid, commitLsn: op.commitLsn, table: op.change.relation });
  }
}

/** "public"."t" for a conflict report. */
export function conflictTable(c: ApplyConflict): string {
  return describeRelation(c.table);
}
