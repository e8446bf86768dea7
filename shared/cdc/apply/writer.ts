/**
 * Writes the changes of one target transaction (one or more whole source transactions).
 *
 * Changes are queued per table and each table's queue is cut into runs of consecutive changes of
 * the same shape, each run one statement (apply-sql.ts):
 *  - insert (exact) ............ INSERT … SELECT FROM unnest
 *  - upsert (idempotent insert, or update carrying the whole row) … INSERT … ON CONFLICT (pk) DO UPDATE
 *  - update (exact, key unchanged) … UPDATE … FROM unnest WHERE pk = …; the affected row count
 *    must equal the number of rows, else the target diverged
 *  - delete ...................... DELETE … USING unnest WHERE pk = …; exact: counted likewise
 *  - single: everything else, one statement per change (REPLICA IDENTITY FULL / keyless tables
 *    via ctid … LIMIT 1, key changes, idempotent updates lacking TOAST values …)
 * Queues of different tables are written one after the other, not interleaved: with
 * session_replication_role = replica no foreign key or trigger observes the order across
 * tables, while unique indexes (per table) see every table's own changes in source order. Without
 * replica mode the writer keeps the source order (a queue is flushed when the table changes).
 * A multi-row UPDATE is only used when the table has no unique index besides its key: a single
 * statement checks uniqueness row by row, so a swap of unique values across rows would fail.
 * Consecutive updates of one key in a run collapse into one (later values win).
 *
 * In diagnose mode every change is its own statement, in order: the applier re-runs a failed
 * batch that way (rolled back) to name the exact change that fails.
 */
import type { ClientBase } from 'pg';
import type { ColumnValue, DeleteChange, InsertChange, TruncateChange, UpdateChange } from '../change';
import { deleteOneRow, deleteRowsByKey, insertRows, rowExists, selectByKey, truncate, updateOneRow, updateRowsByKey, type Col, type Statement } from './apply-sql';
import { CdcApplyError, DivergenceError, classifyApplyError, describeChange, describeRelation } from '../errors';
import type { TargetTable, TargetTables } from './target-tables';
import { sqlstateOf } from '../../pg/retryable';
import { serially } from '../serial';

export type RowChange = InsertChange | UpdateChange | DeleteChange;

export interface PlannedOp {
  change: RowChange;
  mode: 'idempotent' | 'exact';
  xid: string;
  commitLsn: string;
}

export interface ApplyCounters {
  inserts: number;
  updates: number;
  deletes: number;
  truncates: number;
  statements: number;
  /** Rows read from the source by key (unchanged TOAST of absent rows, wal2json's ambiguous nulls). */
  sourceReads: number;
  /** Idempotent updates whose row existed nowhere (deleted on the source since): skipped. */
  vanishedRows: number;
}

export function newCounters(): ApplyCounters {
  return { inserts: 0, updates: 0, deletes: 0, truncates: 0, statements: 0, sourceReads: 0, vanishedRows: 0 };
}

export interface WriterContext {
  target: ClientBase;
  /** For by-key reads of current values. */
  source: ClientBase;
  tables: TargetTables;
  /** Rows per multi-row statement. */
  statementRows: number;
  /** One statement per change, in source order (to name a failing change). */
  diagnose: boolean;
  /** Queue per table and write table by table (needs session_replication_role = replica). */
  reorder: boolean;
  counters: ApplyCounters;
  /** Fault injection (tests): called before every statement. */
  beforeStatement?: () => void | Promise<void>;
}

/** A multi-row statement affected fewer rows than it should: re-run in diagnose mode to name the change. */
export class NeedsDiagnosis extends Error {
  constructor(what: string) {
    super(`row count mismatch in ${what}`);
    this.name = 'NeedsDiagnosis';
  }
}

type Lane = 'insert' | 'upsert' | 'update' | 'delete' | 'single';

interface Planned {
  lane: Lane;
  /** Changes with equal lane and signature share one statement. */
  sig: string;
  entry: Entry;
}

interface Entry {
  op: PlannedOp;
  /** Columns written (insert/upsert/update), in statement order. */
  row: ColumnValue[];
  /** Key values (update/delete/upsert), text, in key order. */
  key: Array<string | null>;
}

/** A map key for a key tuple; single-column keys (the usual case) skip JSON. */
const keyText = (key: Array<string | null>): string => (key.length === 1 ? (key[0] === null ? '\u0000' : `=${key[0]}`) : JSON.stringify(key));

export class TxnWriter {
  private readonly queues = new Map<TargetTable, PlannedOp[]>();
  private lastTable: TargetTable | undefined;
  /** Whether anything was written in this transaction. */
  wrote = false;
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
    await this.resolveUnresolved(t, ops);
    const limit = this.ctx.diagnose ? 1 : this.ctx.statementRows;
    let i = 0;
    let pending: Planned | undefined;
    while (i < ops.length || pending) {
      const first = pending ?? this.plan(t, ops[i++] as PlannedOp);
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
        const next = this.plan(t, ops[i] as PlannedOp);
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

  /** Lane, shape signature and statement entry of one change, computed once. */
  private plan(t: TargetTable, op: PlannedOp): Planned {
    const lane = this.laneOf(t, op);
    const c = op.change;
    if (lane === 'single') return { lane, sig: '', entry: { op, row: [], key: [] } };
    if (c.kind === 'delete') return { lane, sig: sigOf(lane, op.mode, -1), entry: { op, row: [], key: keyValues(t, c.oldKey) } };
    const row = writable(t, c.newRow);
    const key = lane === 'insert' ? NO_KEY : keyValues(t, c.kind === 'update' && c.oldKey.length > 0 ? c.oldKey : c.newRow);
    return { lane, sig: sigOf(lane, op.mode, shapeOf(t, row)), entry: { op, row, key } };
  }

  private count(kind: RowChange['kind']): void {
    if (kind === 'insert') this.ctx.counters.inserts++;
    else if (kind === 'update') this.ctx.counters.updates++;
    else this.ctx.counters.deletes++;
  }

  /** Whether the change carries the whole target key as old values. */
  private keyed(t: TargetTable, change: UpdateChange | DeleteChange): boolean {
    if (t.key.length === 0) return false;
    const src = change.oldKey.length > 0 ? change.oldKey : change.kind === 'update' ? change.newRow : [];
    return t.key.every((k) => src.some((c) => c.name === k));
  }

  private laneOf(t: TargetTable, op: PlannedOp): Lane {
    const c = op.change;
    if (op.mode === 'idempotent' && t.key.length === 0) {
      throw new CdcApplyError(
        `${describeRelation(c.relation)} has no primary key on the target, which idempotent replay (a table copied in several chunks) needs`,
        'SchemaMismatch',
        false,
        { table: c.relation, change: c, xid: op.xid, commitLsn: op.commitLsn },
      );
    }
    if (c.kind === 'insert') return op.mode === 'exact' ? 'insert' : t.otherUnique ? 'single' : 'upsert';
    if (!this.keyed(t, c)) return 'single';
    if (c.kind === 'delete') return 'delete';
    if (keyChanged(t, c)) return 'single';
    if (op.mode === 'idempotent') return isWholeRow(t, c.newRow) && !t.otherUnique ? 'upsert' : 'single';
    return t.otherUnique ? 'single' : 'update';
  }

  private async writeRun(t: TargetTable, lane: Lane, run: Entry[]): Promise<void> {
    const first = run[0];
    if (!first) return;
    const keyCols = t.key.map((k) => col(t, k, first.op.change.kind === 'delete' ? first.op.change.oldKey : first.row));
    let stmt: Statement;
    let arrays: string[];
    // Every row of a run has the same columns in the same order (same signature): go by position.
    // Each column travels as one text[] literal built here (no per-value escaping pass in node-pg).
    const column = (j: number) => {
      let out = '{';
      for (let i = 0; i < run.length; i++) {
        if (i > 0) out += ',';
        out += arrayElement((run[i] as Entry).row[j]?.value ?? null);
      }
      return `${out}}`;
    };
    const keyColumn = (j: number) => {
      let out = '{';
      for (let i = 0; i < run.length; i++) {
        if (i > 0) out += ',';
        out += arrayElement((run[i] as Entry).key[j] ?? null);
      }
      return `${out}}`;
    };
    if (lane === 'insert' || lane === 'upsert') {
      const cols = first.row.map((v) => col(t, v.name, first.row));
      stmt = insertRows(t, cols, lane === 'upsert' ? t.key : undefined);
      arrays = cols.map((_, j) => column(j));
    } else if (lane === 'update') {
      const setIdx: number[] = [];
      first.row.forEach((v, j) => {
        if (!t.key.includes(v.name) && !t.columns.get(v.name)?.identityAlways) setIdx.push(j);
      });
      stmt = updateRowsByKey(t, keyCols, setIdx.map((j) => col(t, (first.row[j] as ColumnValue).name, first.row)));
      arrays = [...keyCols.map((_, j) => keyColumn(j)), ...setIdx.map((j) => column(j))];
    } else {
      stmt = deleteRowsByKey(t, keyCols);
      arrays = keyCols.map((_, j) => keyColumn(j));
    }
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
    const keyed = this.keyed(t, c);
    // Old values to find the row by: the key when the target has it, else every old column given.
    const matchRow = keyed ? pick(c.kind === 'update' && c.oldKey.length === 0 ? c.newRow : c.oldKey, t.key) : c.oldKey;
    const match = matchRow.map((v) => col(t, v.name, matchRow));
    const matchValues = matchRow.map((v) => v.value);
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
      const found = await this.readSource(t, newKeyRow, missing);
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

  /**
   * wal2json cannot tell NULL from NaN/±Infinity: read such values from the source by key, in
   * one query per table. A row already gone from the source is removed again later in the WAL; it
   * gets NULL (or NaN where the column is NOT NULL, so the value must have been a special one).
   */
  private async resolveUnresolved(t: TargetTable, ops: PlannedOp[]): Promise<void> {
    if (!ops.some((o) => o.change.kind !== 'delete' && o.change.unresolved !== undefined)) return;
    const pending = ops.filter((o) => o.change.kind !== 'delete' && (o.change.unresolved?.length ?? 0) > 0);
    if (pending.length === 0) return;
    const canRead = t.key.length > 0;
    const cols = [...new Set(pending.flatMap((o) => (o.change.kind !== 'delete' ? (o.change.unresolved ?? []) : [])))];
    const found = canRead
      ? await this.readSourceMany(t, pending.map((o) => pick((o.change as InsertChange | UpdateChange).newRow, t.key)), cols)
      : new Map<string, Array<string | null>>();
    for (const o of pending) {
      const c = o.change as InsertChange | UpdateChange;
      const keyRow = pick(c.newRow, t.key);
      const values = canRead ? found.get(keyText(keyRow.map((v) => v.value))) : undefined;
      for (const name of c.unresolved ?? []) {
        const j = cols.indexOf(name);
        const tc = t.columns.get(name);
        const value = values ? (values[j] ?? null) : tc?.notNull ? 'NaN' : null;
        c.newRow.push({ name, type: tc?.type ?? '', value });
      }
      delete c.unresolved;
    }
  }

  private async readSource(t: TargetTable, keyRow: ColumnValue[], cols: string[]): Promise<Map<string, Array<string | null>>> {
    return this.readSourceMany(t, [keyRow], cols);
  }

  private async readSourceMany(t: TargetTable, keyRows: ColumnValue[][], cols: string[]): Promise<Map<string, Array<string | null>>> {
    const first = keyRows[0] ?? [];
    const keyCols = t.key.map((k) => col(t, k, first));
    const stmt = selectByKey(t.schema, t.table, keyCols, cols);
    const arrays = keyCols.map((_, j) => keyRows.map((r) => pick(r, t.key)[j]?.value ?? null));
    const source = this.ctx.source;
    const { rows } = await serially(source, () => source.query<string[]>({ name: stmt.name, text: stmt.text, values: arrays, rowMode: 'array' }));
    this.ctx.counters.sourceReads += rows.length;
    const out = new Map<string, Array<string | null>>();
    for (const r of rows) out.set(keyText(r.slice(0, keyCols.length)), r.slice(keyCols.length));
    return out;
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

  /** Runs one statement; returns the affected row count. Errors carry the change (diagnose mode names it exactly). */
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

/** Column lists seen per table, so a run's signature is a small number, not the names. */
const shapes = new WeakMap<TargetTable, string[][]>();

/** The id of this row's column list (same names, same order) within its table. */
function shapeOf(t: TargetTable, row: ColumnValue[]): number {
  let list = shapes.get(t);
  if (!list) shapes.set(t, (list = []));
  outer: for (let i = 0; i < list.length; i++) {
    const names = list[i] as string[];
    if (names.length !== row.length) continue;
    for (let j = 0; j < names.length; j++) if (names[j] !== (row[j] as ColumnValue).name) continue outer;
    return i;
  }
  list.push(row.map((v) => v.name));
  return list.length - 1;
}

/** Columns of a row that are written: those the target has, minus generated ones. */
function writable(t: TargetTable, row: ColumnValue[]): ColumnValue[] {
  let generated = false;
  for (const v of row) {
    const tc = t.columns.get(v.name);
    if (!tc || tc.generated) {
      generated = true;
      break;
    }
  }
  if (!generated) return row;
  const out: ColumnValue[] = [];
  for (const v of row) {
    const tc = t.columns.get(v.name);
    if (!tc) {
      throw new CdcApplyError(`column ${JSON.stringify(v.name)} of ${describeRelation(t)} does not exist on the target`, 'SchemaMismatch', false, { table: t });
    }
    if (!tc.generated) out.push(v);
  }
  return out;
}

function isWholeRow(t: TargetTable, row: ColumnValue[]): boolean {
  const names = new Set(row.map((v) => v.name));
  for (const tc of t.columns.values()) if (!tc.generated && !names.has(tc.name)) return false;
  return true;
}

function pick(row: ColumnValue[], names: string[]): ColumnValue[] {
  return names.map((n) => row.find((v) => v.name === n) ?? { name: n, type: '', value: null });
}

function keyValues(t: TargetTable, row: ColumnValue[]): Array<string | null> {
  const key = t.key;
  const out = new Array<string | null>(key.length);
  for (let k = 0; k < key.length; k++) {
    const name = key[k];
    let value: string | null = null;
    for (let i = 0; i < row.length; i++) {
      const v = row[i] as ColumnValue;
      if (v.name === name) {
        value = v.value;
        break;
      }
    }
    out[k] = value;
  }
  return out;
}

const NO_KEY: Array<string | null> = [];

/** Run signatures, interned: lane × mode × shape id (no string built per change). */
const sigs = new Map<string, string[]>();
function sigOf(lane: Lane, mode: PlannedOp['mode'], shape: number): string {
  const k = `${lane}|${mode}`;
  let list = sigs.get(k);
  if (!list) sigs.set(k, (list = []));
  return (list[shape + 1] ??= `${k}|${shape}`);
}

/** One element of a text[] literal: NULL, or the value double-quoted with \ and " escaped. */
function arrayElement(v: string | null): string {
  if (v === null) return 'NULL';
  if (v.indexOf('"') < 0 && v.indexOf('\\') < 0) return `"${v}"`;
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function keyChanged(t: TargetTable, c: UpdateChange): boolean {
  if (c.oldKey.length === 0) return false;
  return t.key.some((k) => {
    const o = c.oldKey.find((v) => v.name === k);
    const n = c.newRow.find((v) => v.name === k);
    return o !== undefined && n !== undefined && o.value !== n.value;
  });
}


/** The cast type of a column: the target's own, else what the decoder reported. */
function col(t: TargetTable, name: string, row: ColumnValue[]): Col {
  const type = t.columns.get(name)?.type || row.find((v) => v.name === name)?.type || 'text';
  return { name, type };
}

function describeKey(key: string[], values: Array<string | null>): string {
  return key.map((k, i) => `${k}=${values[i] ?? 'NULL'}`).join(', ');
}
