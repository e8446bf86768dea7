/**
 * How the writer cuts a table's queue into statements (see writer.ts): the lane each change
 * takes, the shape signature that lets consecutive changes share one statement, and the one
 * multi-row statement (with its text[] columns) a run of same-shaped changes becomes. Pure: no I/O.
 *
 *  - insert (exact) ............ INSERT … SELECT FROM unnest
 *  - upsert (idempotent insert, or update carrying the whole row) … INSERT … ON CONFLICT (pk) DO UPDATE
 *  - update (exact, key unchanged) … UPDATE … FROM unnest WHERE pk = …
 *  - delete ...................... DELETE … USING unnest WHERE pk = …
 *  - single: everything else, one statement per change (REPLICA IDENTITY FULL / keyless tables
 *    via ctid … LIMIT 1, key changes, idempotent updates lacking TOAST values …)
 * A multi-row UPDATE is only used when the table has no unique index besides its key: a single
 * statement checks uniqueness row by row, so a swap of unique values across rows would fail.
 */
import type { ColumnValue, DeleteChange, UpdateChange } from '../change';
import { CdcApplyError, describeRelation } from '../errors';
import { deleteRowsByKey, insertRows, updateRowsByKey, type Col, type Statement } from './apply-sql';
import type { TargetTable } from './target-tables';
import type { PlannedOp } from './writer-context';

export type Lane = 'insert' | 'upsert' | 'update' | 'delete' | 'single';

export interface Planned {
  lane: Lane;
  /** Changes with equal lane and signature share one statement. */
  sig: string;
  entry: Entry;
}

export interface Entry {
  op: PlannedOp;
  /** Columns written (insert/upsert/update), in statement order. */
  row: ColumnValue[];
  /** Key values (update/delete/upsert), text, in key order. */
  key: Array<string | null>;
}

/** A map key for a key tuple; single-column keys (the usual case) skip JSON. */
export const keyText = (key: Array<string | null>): string => (key.length === 1 ? (key[0] === null ? '\u0000' : `=${key[0]}`) : JSON.stringify(key));

/** Lane, shape signature and statement entry of one change, computed once. */
export function planChange(t: TargetTable, op: PlannedOp): Planned {
  const lane = laneOf(t, op);
  const c = op.change;
  if (lane === 'single') return { lane, sig: '', entry: { op, row: [], key: [] } };
  if (c.kind === 'delete') return { lane, sig: sigOf(lane, op.mode, -1), entry: { op, row: [], key: keyValues(t, c.oldKey) } };
  const row = writable(t, c.newRow);
  const key = lane === 'insert' ? NO_KEY : keyValues(t, c.kind === 'update' && c.oldKey.length > 0 ? c.oldKey : c.newRow);
  return { lane, sig: sigOf(lane, op.mode, shapeOf(t, row)), entry: { op, row, key } };
}

/** Whether the change carries the whole target key as old values. */
export function isKeyed(t: TargetTable, change: UpdateChange | DeleteChange): boolean {
  if (t.key.length === 0) return false;
  const src = change.oldKey.length > 0 ? change.oldKey : change.kind === 'update' ? change.newRow : [];
  return t.key.every((k) => src.some((c) => c.name === k));
}

function laneOf(t: TargetTable, op: PlannedOp): Lane {
  const c = op.change;
  if (op.mode === 'idempotent' && t.key.length === 0) {
    throw new CdcApplyError(
      `${describeRelation(c.relation)} has no primary key or replica identity index on the target, which idempotent replay (a table copied in several chunks) needs`,
      'SchemaMismatch',
      false,
      { table: c.relation, change: c, xid: op.xid, commitLsn: op.commitLsn },
    );
  }
  if (c.kind === 'insert') return op.mode === 'exact' ? 'insert' : t.otherUnique ? 'single' : 'upsert';
  if (!isKeyed(t, c)) return 'single';
  if (c.kind === 'delete') return 'delete';
  if (keyChanged(t, c)) return 'single';
  if (op.mode === 'idempotent') return isWholeRow(t, c.newRow) && !t.otherUnique ? 'upsert' : 'single';
  return t.otherUnique ? 'single' : 'update';
}

/**
 * The statement of a run (every entry of one lane and signature) and its parameters: each column
 * travels as one text[] literal built here (no per-value escaping pass in node-pg).
 */
export function runStatement(t: TargetTable, lane: Exclude<Lane, 'single'>, run: Entry[], first: Entry): { stmt: Statement; arrays: string[] } {
  const keyCols = t.key.map((k) => col(t, k, first.op.change.kind === 'delete' ? first.op.change.oldKey : first.row));
  // Every row of a run has the same columns in the same order (same signature): go by position.
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
    return { stmt: insertRows(t, cols, lane === 'upsert' ? t.key : undefined), arrays: cols.map((_, j) => column(j)) };
  }
  if (lane === 'update') {
    const setIdx: number[] = [];
    first.row.forEach((v, j) => {
      if (!t.key.includes(v.name) && !t.columns.get(v.name)?.identityAlways) setIdx.push(j);
    });
    return {
      stmt: updateRowsByKey(t, keyCols, setIdx.map((j) => col(t, (first.row[j] as ColumnValue).name, first.row))),
      arrays: [...keyCols.map((_, j) => keyColumn(j)), ...setIdx.map((j) => column(j))],
    };
  }
  return { stmt: deleteRowsByKey(t, keyCols), arrays: keyCols.map((_, j) => keyColumn(j)) };
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
export function writable(t: TargetTable, row: ColumnValue[]): ColumnValue[] {
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

/** The named columns of a row, in the given order (NULL for one the row lacks). */
export function pick(row: ColumnValue[], names: string[]): ColumnValue[] {
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

/** Whether an update moves its row to another key. */
export function keyChanged(t: TargetTable, c: UpdateChange): boolean {
  if (c.oldKey.length === 0) return false;
  return t.key.some((k) => {
    const o = c.oldKey.find((v) => v.name === k);
    const n = c.newRow.find((v) => v.name === k);
    return o !== undefined && n !== undefined && o.value !== n.value;
  });
}

/** The cast type of a column: the target's own, else what the decoder reported. */
export function col(t: TargetTable, name: string, row: ColumnValue[]): Col {
  const type = t.columns.get(name)?.type || row.find((v) => v.name === name)?.type || 'text';
  return { name, type };
}

/** "id=1, region=eu" for a key and its values. */
export function describeKey(key: string[], values: Array<string | null>): string {
  return key.map((k, i) => `${k}=${values[i] ?? 'NULL'}`).join(', ');
}
