/**
 * Writes the changes of one target transaction (one or more whole source transactions).
 *
 * Changes are queued per table and each table's queue is cut into runs of consecutive changes of
 * the same shape, each run one statement (runs.ts, apply-sql.ts); an exact multi-row update or
 * delete must affect as many rows as it has, else the target diverged.
 * Queues of different tables are written one after the other, not interleaved: with
 * session_replication_role = replica no foreign key or trigger observes the order across
 * tables, while unique indexes (per table) see every table's own changes in source order. Without
 * replica mode the writer keeps the source order (a queue is flushed when the table changes).
 * Consecutive updates of one key in a run collapse into one (later values win).
 *
 * In diagnose mode every change is its own statement, in order: the applier re-runs a failed
 * batch that way (rolled back) to name the exact change that fails.
 */
import type { ColumnValue, TruncateChange, UpdateChange } from '../change';
import { DivergenceError, classifyApplyError, describeChange, describeRelation } from '../errors';
import { sqlstateOf } from '../../pg/retryable';
import { serially } from '../serial';
import { deleteOneRow, insertRows, rowExists, truncate, updateOneRow, type Statement } from './apply-sql';
import { col, describeKey, isKeyed, keyChanged, keyText, pick, planChange, runStatement, writable, type Entry, type Lane, type Planned } from './runs';
import { readSourceByKey, resolveUnresolved } from './source-values';
import { assertUnambiguous, matchColumns } from './specials';
import type { TargetTable } from './target-tables';
import { writeGuarded } from './guarded';
import { NeedsDiagnosis, type ApplyConflict, type PlannedOp, type RowChange, type WriterContext } from './writer-context';

export class TxnWriter {
  private readonly queues = new Map<TargetTable, PlannedOp[]>();
  private lastTable: TargetTable | undefined;
  /** Whether anything was written in this transaction. */
  wrote = false;
  /** Before-image mode: the changes of this transaction not applied (reported once it commits). */
  readonly conflicts: ApplyConflict[] = [];
  /**
   * Multi-row statements sent without waiting for their result: node-pg runs a connection's
   * queries in order, so the server executes one while the next is being prepared here. Their row
   * counts are checked when the writer is flushed (or before any statement whose result is used).
   */
  private deferred: Array<{ result: Promise<number>; check: (rows: number) => void }> = [];

  constructor(private readonly ctx: WriterContext) {}

  async add(op: PlannedOp): Promise<void> {
    const t = this.ctx.tables.get(op.change.relation);
    if ((!this.ctx.reorder || this.ctx.diagnose) && this.lastTable !== undefined && this.lastTable !== t) await this.flush();
    this.lastTable = t;
    let q = this.queues.get(t);
    if (!q) this.queues.set(t, (q = []));
    q.push(op);
  }

  async truncate(change: TruncateChange, info: { xid: string; commitLsn: string }): Promise<void> {
    await this.flush();
    const tables = change.relations.map((r) => this.ctx.tables.get(r));
    if (tables.length === 0) return;
    await this.exec({ name: '', text: truncate(tables, change.restartIdentity) }, [], { change, ...info });
    this.ctx.counters.truncates++;
  }

  async flush(): Promise<void> {
    const queues = [...this.queues.entries()];
    this.queues.clear();
    this.lastTable = undefined;
    for (const [table, ops] of queues) await this.writeTable(table, ops);
    await this.settle();
  }

  /** Waits for the deferred statements, in order; throws the first failure or divergence. */
  private async settle(): Promise<void> {
    const pending = this.deferred;
    this.deferred = [];
    let failure: unknown;
    for (const d of pending) {
      try {
        const rows = await d.result;
        if (failure === undefined) d.check(rows);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }

  private async writeTable(t: TargetTable, ops: PlannedOp[]): Promise<void> {
    await resolveUnresolved(this.ctx, t, ops);
    if (this.ctx.beforeImage) {
      for (const op of ops) {
        if (!(await writeGuarded(this.ctx, t, op, this.conflicts))) continue;
        this.count(op.change.kind);
        this.wrote = true;
      }
      return;
    }
    const limit = this.ctx.diagnose ? 1 : this.ctx.statementRows;
    let i = 0;
    let pending: Planned | undefined;
    while (i < ops.length || pending) {
      const first = pending ?? planChange(t, ops[i++] as PlannedOp);
      pending = undefined;
      if (first.lane === 'single') {
        this.count(first.entry.op.change.kind);
        await this.single(t, first.entry.op);
        continue;
      }
      const run: Entry[] = [first.entry];
      this.count(first.entry.op.change.kind);
      // Keys seen in this run → position; not needed for plain inserts.
      const index = first.lane === 'insert' ? undefined : new Map<string, number>([[keyText(first.entry.key), 0]]);
      while (i < ops.length && run.length < limit) {
        const next = planChange(t, ops[i] as PlannedOp);
        if (next.lane !== first.lane || next.sig !== first.sig) break;
        i++;
        const entry = next.entry;
        if (index) {
          const k = keyText(entry.key);
          const at = index.get(k);
          if (at !== undefined) {
            if (first.lane === 'delete') {
              pending = next;
              break;
            }
            // Same key again in this run: the later row wins (upsert), or merges (update).
            // Every row of a run has the same columns (same signature): the later row is the merge.
            run[at] = entry;
            this.count(entry.op.change.kind);
            continue;
          }
          index.set(k, run.length);
        }
        run.push(entry);
        this.count(entry.op.change.kind);
      }
      await this.writeRun(t, first.lane, run);
    }
  }

  private count(kind: RowChange['kind']): void {
    if (kind === 'insert') this.ctx.counters.inserts++;
    else if (kind === 'update') this.ctx.counters.updates++;
    else this.ctx.counters.deletes++;
  }

  private async writeRun(t: TargetTable, lane: Exclude<Lane, 'single'>, run: Entry[]): Promise<void> {
    const first = run[0];
    if (!first) return;
    const { stmt, arrays } = runStatement(t, lane, run, first);
    const exact = first.op.mode === 'exact' && lane !== 'upsert';
    const result = this.exec(stmt, arrays, first.op, true);
    // Never an unhandled rejection: settle() awaits it.
    result.catch(() => undefined);
    this.deferred.push({ result, check: (rows) => this.checkRun(t, lane, run, exact, rows) });
  }

  private checkRun(t: TargetTable, lane: Lane, run: Entry[], exact: boolean, res: number): void {
    const first = run[0];
    if (!first) return;
    if (exact && res !== run.length) {
      if (!this.ctx.diagnose) throw new NeedsDiagnosis(`${lane} on ${describeRelation(t)}`);
      const op = first.op;
      throw new DivergenceError(
        `divergence: ${describeChange(op.change, op.xid, op.commitLsn)} found no row with ${describeKey(t.key, first.key)} on the target`,
        { table: op.change.relation, change: op.change, xid: op.xid, commitLsn: op.commitLsn, key: describeKey(t.key, first.key) },
      );
    }
  }

  /** One change, one statement. */
  private async single(t: TargetTable, op: PlannedOp): Promise<void> {
    const c = op.change;
    if (c.kind === 'insert') {
      const cols = writable(t, c.newRow);
      await this.exec(insertRows(t, cols.map((v) => col(t, v.name, cols)), op.mode === 'idempotent' ? t.key : undefined), cols.map((v) => [v.value]), op);
      return;
    }
    const keyed = isKeyed(t, c);
    // Old values to find the row by: the key when the target has it, else every old column given.
    const matchRow = keyed ? pick(c.kind === 'update' && c.oldKey.length === 0 ? c.newRow : c.oldKey, t.key) : c.oldKey;
    const match = matchColumns(t, matchRow);
    const matchValues = matchRow.map((v) => v.value);
    if (match.some((m) => m.nullOrSpecial)) {
      await this.settle();
      await assertUnambiguous(this.ctx, t, match, matchValues, op);
    }
    if (c.kind === 'delete') {
      const n = await this.exec(deleteOneRow(t, match), matchValues, op);
      if (n === 0 && op.mode === 'exact') throw this.divergence(op, 'found no row to delete', matchRow);
      return;
    }
    const set = writable(t, c.newRow).filter((v) => !t.columns.get(v.name)?.identityAlways);
    if (op.mode === 'exact') {
      const n = await this.exec(updateOneRow(t, set.map((v) => col(t, v.name, set)), match), [...set.map((v) => v.value), ...matchValues], op);
      if (n === 0) throw this.divergence(op, 'found no row to update', matchRow);
      return;
    }
    await this.idempotentUpdate(t, op, c, matchRow, set);
  }

  /**
   * Key-based update before the consistency point, when the new row is not whole (unchanged
   * TOAST) or the key changed: keep the target's row (and its TOAST values) when it exists, else
   * insert the new row, reading missing values from the source by key.
   */
  private async idempotentUpdate(t: TargetTable, op: PlannedOp, c: UpdateChange, oldKeyRow: ColumnValue[], set: ColumnValue[]): Promise<void> {
    const newKeyRow = pick(c.newRow, t.key);
    const keyCols = newKeyRow.map((v) => col(t, v.name, newKeyRow));
    const setCols = set.map((v) => col(t, v.name, set));
    const newKeyValues = newKeyRow.map((v) => v.value);
    if (keyChanged(t, c)) {
      const existsNew = (await this.exec(rowExists(t, keyCols), newKeyValues, op)) > 0;
      const oldMatch = oldKeyRow.map((v) => col(t, v.name, oldKeyRow));
      if (existsNew) {
        await this.exec(deleteOneRow(t, oldMatch), oldKeyRow.map((v) => v.value), op);
        await this.exec(updateOneRow(t, setCols, keyCols), [...set.map((v) => v.value), ...newKeyValues], op);
        return;
      }
      const moved = await this.exec(updateOneRow(t, setCols, oldMatch), [...set.map((v) => v.value), ...oldKeyRow.map((v) => v.value)], op);
      if (moved > 0) return;
    } else {
      const n = await this.exec(updateOneRow(t, setCols, keyCols), [...set.map((v) => v.value), ...newKeyValues], op);
      if (n > 0) return;
    }
    // The row is on neither key: insert it whole.
    const row = [...writable(t, c.newRow)];
    const missing = [...t.columns.values()].filter((tc) => !tc.generated && !row.some((v) => v.name === tc.name)).map((tc) => tc.name);
    if (missing.length > 0) {
      const found = await readSourceByKey(this.ctx, t, [newKeyRow], missing);
      const values = found.get(keyText(newKeyValues));
      if (!values) {
        // Gone from the source too: a later change in the WAL deletes it (or moves its key) again.
        this.ctx.counters.vanishedRows++;
        return;
      }
      missing.forEach((name, j) => row.push({ name, type: t.columns.get(name)?.type ?? '', value: values[j] ?? null }));
    }
    await this.exec(insertRows(t, row.map((v) => col(t, v.name, row)), t.key), row.map((v) => [v.value]), op);
  }

  private divergence(op: PlannedOp, what: string, matchRow: ColumnValue[]): DivergenceError {
    const key = matchRow.map((v) => `${v.name}=${v.value ?? 'NULL'}`).join(', ');
    return new DivergenceError(`divergence: ${describeChange(op.change, op.xid, op.commitLsn)} ${what} with ${key} on the target`, {
      table: op.change.relation,
      change: op.change,
      xid: op.xid,
      commitLsn: op.commitLsn,
      key,
    });
  }

  /**
   * Runs one statement; returns the affected row count. Errors carry the change (diagnose mode
   * names it exactly). Unless `deferred`, earlier deferred statements are settled first, so their
   * failure is the one reported (not the "transaction is aborted" that follows it).
   */
  private async exec(stmt: Statement, values: unknown[], op: { change: RowChange | TruncateChange; xid: string; commitLsn: string; mode?: PlannedOp['mode'] }, deferred = false): Promise<number> {
    // A statement whose result is used waits for the deferred ones first: their failure is the
    // one to report, and nothing may be sent after it (it could run after a ROLLBACK).
    if (!deferred) await this.settle();
    await this.ctx.beforeStatement?.();
    this.ctx.counters.statements++;
    this.wrote = true;
    const target = this.ctx.target;
    const sent = serially(target, () => (stmt.name ? target.query({ name: stmt.name, text: stmt.text, values }) : target.query(stmt.text)));
    try {
      const res = await sent;
      return res.rowCount ?? 0;
    } catch (err) {
      const change = op.change;
      const table = change.kind === 'truncate' ? change.relations[0] : change.relation;
      // Exact replay of an insert (or a key change) found the row already there: the target diverged.
      if (this.ctx.diagnose && sqlstateOf(err) === '23505' && 'mode' in op && op.mode === 'exact' && change.kind !== 'truncate') {
        const detail = String((err as { detail?: unknown }).detail ?? '');
        const key = /^Key \((.*)\)=\((.*)\) already exists\.?$/.exec(detail);
        throw new DivergenceError(`divergence: ${describeChange(change, op.xid, op.commitLsn)} conflicts with a row already on the target: ${detail || (err as Error).message}`, {
          table: change.relation,
          change,
          xid: op.xid,
          commitLsn: op.commitLsn,
          ...(key ? { key: `${key[1]}=${key[2]}` } : {}),
        });
      }
      throw classifyApplyError(err, { change, xid: op.xid, commitLsn: op.commitLsn, ...(table ? { table } : {}) });
    }
  }
}
