/**
 * A seed's data and workload as plain SQL, generated against a model of what the source holds
 * (the live keys of each table, the FULL table's `n` values, the large objects), so that every
 * statement succeeds on the source: multi-statement transactions, savepoints rolled back to or
 * released, whole transactions rolled back, primary-key updates, delete and re-insert of one key,
 * updates that leave a TOASTed column alone, upserts, TRUNCATE (with RESTART IDENTITY sometimes),
 * asynchronous commits, large objects (lo_from_bytea, lo_put, lo_unlink), nextval/setval.
 *
 * Pure: the same seed and stream give the same statements.
 */
import { quoteIdent } from '../../shared/pg/ident';
import { Prng } from './prng';
import type { Schema, Table } from './schema';
import { lit, literal, toastValue } from './values';

/** One source transaction: a single autocommit statement, or BEGIN … COMMIT/ROLLBACK. */
export interface Txn {
  statements: string[];
}

interface TableState {
  /** Live keys by their literal tuple joined with '|', each as its column literals. */
  keys: Map<string, string[]>;
  /** Keys deleted earlier, offered for re-insertion. */
  deleted: string[][];
  nextInt: number;
  /** The FULL table: how many rows hold each `n`. */
  fullN: Map<number, number>;
}

interface State {
  tables: Map<string, TableState>;
  /** Large objects by oid, with their size. */
  los: Map<number, number>;
  nextLo: number;
}

function clone(s: State): State {
  const tables = new Map<string, TableState>();
  for (const [k, t] of s.tables) tables.set(k, { keys: new Map(t.keys), deleted: [...t.deleted], nextInt: t.nextInt, fullN: new Map(t.fullN) });
  return { tables, los: new Map(s.los), nextLo: s.nextLo };
}

export class Workload {
  private state: State;
  private readonly r: Prng;

  constructor(private readonly schema: Schema, seed: number, stream: string, from?: Workload) {
    this.r = new Prng(seed, stream);
    this.state = from ? clone(from.state) : { tables: new Map(schema.tables.map((t) => [t.q, { keys: new Map(), deleted: [], nextInt: 1, fullN: new Map() }])), los: new Map(), nextLo: 40_000 };
  }

  /** Continues from this workload's model on a new stream (the next phase). */
  next(seed: number, stream: string): Workload {
    return new Workload(this.schema, seed, stream, this);
  }

  private ts(t: Table): TableState {
    return this.state.tables.get(t.q) as TableState;
  }

  // Keys ---------------------------------------------------------------------------------------

  private freshKey(t: Table): string[] {
    const s = this.ts(t);
    if (t.key !== 'int' && this.r.chance(0.3)) {
      const again = s.deleted.pop();
      if (again && !s.keys.has(again.join('|'))) return again;
    }
    s.nextInt += this.r.chance(0.2) ? this.r.int(2, 50) : 1;
    switch (t.key) {
      case 'int': return [String(s.nextInt)];
      case 'uuid': return [`${lit(this.r.uuid())}::uuid`];
      case 'text': return [lit(`${this.r.pick(['k', "o'k", 'ü-', 'K ', ''])}${s.nextInt}`)];
      case 'composite': return [String(this.r.int(-3, 3)), lit(`${this.r.word(2)}${s.nextInt}`)];
      default: throw new Error(`no explicit key for ${t.key}`);
    }
  }

  private liveKey(t: Table): string[] | undefined {
    const keys = [...this.ts(t).keys.values()];
    return keys.length === 0 ? undefined : this.r.pick(keys);
  }

  /** The WHERE clause naming one row (identity tables: the k-th row by id, if there is one). */
  private where(t: Table, key: string[] | undefined): string | undefined {
    if (t.key === 'identity-always' || t.key === 'identity-default') {
      return `id = (SELECT id FROM ${t.q} ORDER BY id LIMIT 1 OFFSET ${this.r.int(0, 25)})`;
    }
    if (!key) return undefined;
    return t.keyCols.map((c, i) => `${quoteIdent(c)} = ${key[i]}`).join(' AND ');
  }

  private isIdentity(t: Table): boolean {
    return t.key === 'identity-always' || t.key === 'identity-default';
  }

  // Rows ---------------------------------------------------------------------------------------

  private rowValues(t: Table, key: string[] | undefined, n: number): { cols: string[]; values: string[] } {
    const cols = [...(key ? t.keyCols : []), 'n', ...t.cols.map((c) => c.name)].map(quoteIdent);
    const values = [...(key ?? []), String(n), ...t.cols.map((c) => literal(this.r, c.kind, this.schema.types))];
    return { cols, values };
  }

  /** INSERT of 1..count rows (fresh or re-used keys; the FULL table gets duplicates of n, and sometimes of a whole row). */
  insert(t: Table, count = 1): string {
    const s = this.ts(t);
    const rows: Array<{ cols: string[]; values: string[] }> = [];
    for (let i = 0; i < count; i++) {
      if (t.key === 'full') {
        const n = this.r.int(0, 40);
        s.fullN.set(n, (s.fullN.get(n) ?? 0) + 1);
        const row = this.rowValues(t, undefined, n);
        rows.push(row);
        if (this.r.chance(0.15) && !t.toast) {
          s.fullN.set(n, (s.fullN.get(n) ?? 0) + 1);
          rows.push(row);
        }
      } else if (this.isIdentity(t)) {
        rows.push(this.rowValues(t, undefined, this.r.int(0, 1000)));
      } else {
        const key = this.freshKey(t);
        s.keys.set(key.join('|'), key);
        rows.push(this.rowValues(t, key, this.r.int(0, 1000)));
      }
    }
    const first = rows[0] as { cols: string[] };
    return `INSERT INTO ${t.q} (${first.cols.join(', ')}) VALUES ${rows.map((row) => `(${row.values.join(', ')})`).join(', ')}`;
  }

  private updatePayload(t: Table, where: string): string {
    const cols = t.cols.filter(() => this.r.chance(0.5));
    const sets = cols.map((c) => `${quoteIdent(c.name)} = ${literal(this.r, c.kind, this.schema.types)}`);
    if (sets.length === 0) sets.push(`n = n + ${this.r.int(1, 9)}`);
    return `UPDATE ${t.q} SET ${sets.join(', ')} WHERE ${where}`;
  }

  /** One statement on `t` (sometimes two: delete then re-insert of the same key). */
  tableOp(t: Table): string[] {
    return t.key === 'full' ? this.fullOp(t) : this.keyedOp(t);
  }

  private keyedOp(t: Table): string[] {
    const s = this.ts(t);
    const key = this.isIdentity(t) ? undefined : this.liveKey(t);
    const where = this.where(t, key);
    const op = this.r.weighted<string>([['insert', 4], ['insertMany', 1], ['update', 4], ['touch', 3], ['retoast', 1], ['pk', 2], ['delete', 2], ['reinsert', 2], ['upsert', 2], ['bulk', 0.5]]);
    if (!where || op === 'insert') return [this.insert(t)];
    switch (op) {
      case 'insertMany': return [this.insert(t, this.r.int(2, 15))];
      case 'update': return [this.updatePayload(t, where)];
      // Leaves the TOASTed column (if any) unchanged: the WAL carries it as "unchanged TOAST".
      case 'touch': return [`UPDATE ${t.q} SET n = n + 1 WHERE ${where}`];
      case 'retoast': return [t.toast ? `UPDATE ${t.q} SET ${quoteIdent(t.toast)} = ${toastValue(this.r)} WHERE ${where}` : `UPDATE ${t.q} SET n = n - 1 WHERE ${where}`];
      case 'pk': {
        if (this.isIdentity(t)) return [`UPDATE ${t.q} SET id = DEFAULT, n = n + 1 WHERE ${where}`];
        const to = this.freshKey(t);
        s.keys.delete((key as string[]).join('|'));
        s.keys.set(to.join('|'), to);
        return [`UPDATE ${t.q} SET ${t.keyCols.map((c, i) => `${quoteIdent(c)} = ${to[i]}`).join(', ')} WHERE ${where}`];
      }
      case 'delete':
        if (key) {
          s.keys.delete(key.join('|'));
          s.deleted.push(key);
        }
        return [`DELETE FROM ${t.q} WHERE ${where}`];
      case 'reinsert': {
        if (!key) return [`DELETE FROM ${t.q} WHERE ${where}`, this.insert(t)];
        const row = this.rowValues(t, key, this.r.int(0, 1000));
        return [`DELETE FROM ${t.q} WHERE ${where}`, `INSERT INTO ${t.q} (${row.cols.join(', ')}) VALUES (${row.values.join(', ')})`];
      }
      case 'upsert': {
        if (!key) return [this.insert(t)];
        const k = this.r.chance(0.6) ? key : this.freshKey(t);
        s.keys.set(k.join('|'), k);
        const row = this.rowValues(t, k, this.r.int(0, 1000));
        const set = t.cols.slice(0, 2).map((c) => `${quoteIdent(c.name)} = EXCLUDED.${quoteIdent(c.name)}`);
        return [`INSERT INTO ${t.q} (${row.cols.join(', ')}) VALUES (${row.values.join(', ')}) ON CONFLICT (${t.keyCols.map(quoteIdent).join(', ')}) DO UPDATE SET ${['n = EXCLUDED.n + 1', ...set].join(', ')}`];
      }
      default: return [`UPDATE ${t.q} SET n = n + 1`];
    }
  }

  private fullOp(t: Table): string[] {
    const s = this.ts(t);
    const ns = [...s.fullN.keys()];
    const op = this.r.weighted<string>([['insert', 4], ['update', 3], ['touch', 2], ['move', 2], ['delete', 2], ['deleteSome', 1]]);
    if (ns.length === 0 || op === 'insert') return [this.insert(t, this.r.int(1, 4))];
    const n = this.r.pick(ns);
    switch (op) {
      case 'update': return [this.updatePayload(t, `n = ${n}`)];
      case 'touch': {
        // Every row with this n moves to n + 100 and back: two versions of the same rows in one statement each.
        return [`UPDATE ${t.q} SET n = n + 100 WHERE n = ${n}`, `UPDATE ${t.q} SET n = n - 100 WHERE n = ${n + 100}`];
      }
      case 'move': {
        const to = this.r.int(0, 40);
        const count = s.fullN.get(n) ?? 0;
        s.fullN.delete(n);
        s.fullN.set(to, (s.fullN.get(to) ?? 0) + count);
        return [`UPDATE ${t.q} SET n = ${to} WHERE n = ${n}`];
      }
      case 'delete':
        s.fullN.delete(n);
        return [`DELETE FROM ${t.q} WHERE n = ${n}`];
      default:
        // One row of possibly several identical ones: the others must stay.
        if ((s.fullN.get(n) ?? 0) <= 1) s.fullN.delete(n);
        else s.fullN.set(n, (s.fullN.get(n) ?? 0) - 1);
        return [`DELETE FROM ${t.q} WHERE ctid = (SELECT ctid FROM ${t.q} WHERE n = ${n} LIMIT 1)`];
    }
  }

  // Other objects ------------------------------------------------------------------------------

  private truncate(): string {
    const tables = this.schema.tables.filter(() => this.r.chance(0.4));
    const t = tables.length > 0 ? tables : [this.r.pick(this.schema.tables)];
    for (const x of t) {
      const s = this.ts(x);
      s.keys.clear();
      s.fullN.clear();
    }
    return `TRUNCATE ${t.map((x) => x.q).join(', ')}${this.r.chance(0.3) ? ' RESTART IDENTITY' : ''}`;
  }

  private largeObject(): string {
    const los = [...this.state.los.keys()];
    const op = los.length === 0 ? 'create' : this.r.weighted<string>([['create', 3], ['put', 3], ['unlink', 1]]);
    const bytes = (n: number) => `'\\x${Array.from({ length: n }, () => this.r.int(0, 255).toString(16).padStart(2, '0')).join('')}'::bytea`;
    if (op === 'create') {
      const oid = this.state.nextLo++;
      const size = this.r.int(0, 3000);
      this.state.los.set(oid, size);
      return `SELECT lo_from_bytea(${oid}, ${size > 64 ? `decode(repeat(md5('${oid}'), ${Math.ceil(size / 32)}), 'hex')` : bytes(size)})`;
    }
    const oid = this.r.pick(los);
    if (op === 'unlink') {
      this.state.los.delete(oid);
      return `SELECT lo_unlink(${oid})`;
    }
    const size = this.state.los.get(oid) ?? 0;
    const offset = this.r.int(0, size + 100);
    const n = this.r.int(1, 40);
    this.state.los.set(oid, Math.max(size, offset + n));
    return `SELECT lo_put(${oid}, ${offset}, ${bytes(n)})`;
  }

  private sequenceOp(): string {
    const seq = lit(this.schema.sequence);
    if (this.r.chance(0.7)) return `SELECT nextval(${seq}::regclass)`;
    const [lo, hi] = this.schema.sequenceRange;
    return `SELECT setval(${seq}::regclass, ${this.r.int(lo, hi)}, ${this.r.chance(0.5)})`;
  }

  private anyOp(allowTruncate: boolean): string[] {
    const kind = this.r.weighted<string>([['table', 14], ['lo', 1.5], ['seq', 1.5], ['truncate', allowTruncate ? 0.3 : 0]]);
    if (kind === 'lo') return [this.largeObject()];
    if (kind === 'seq') return [this.sequenceOp()];
    if (kind === 'truncate') return [this.truncate()];
    return this.tableOp(this.r.pick(this.schema.tables));
  }

  // Transactions -------------------------------------------------------------------------------

  /** The initial rows: a few dozen per table, some large objects, the sequence moved on. */
  initialData(): string[] {
    const out: string[] = [];
    for (const t of this.schema.tables) {
      for (let left = this.r.int(5, 60); left > 0;) {
        const n = Math.min(left, this.r.int(1, 20));
        out.push(this.insert(t, n));
        left -= n;
      }
    }
    for (let i = this.r.int(0, 3); i > 0; i--) out.push(this.largeObject());
    out.push(this.sequenceOp());
    return out;
  }

  /** One transaction: autocommit, or BEGIN … with savepoints (rolled back to or released), COMMIT or ROLLBACK. */
  txn(): Txn {
    if (this.r.chance(0.25)) return { statements: this.anyOp(true) };
    const before = clone(this.state);
    const statements = ['BEGIN'];
    if (this.r.chance(0.35)) statements.push('SET LOCAL synchronous_commit = off');
    statements.push(...this.block(this.r.int(1, 6), 0));
    if (this.r.chance(0.08)) {
      this.state = before;
      statements.push('ROLLBACK');
    } else {
      statements.push('COMMIT');
    }
    return { statements };
  }

  /** `ops` operations, some inside a savepoint that is rolled back to or released. */
  private block(ops: number, depth: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < ops; i++) {
      if (depth < 2 && this.r.chance(0.2)) {
        const name = `sp${depth}_${i}`;
        const saved = clone(this.state);
        out.push(`SAVEPOINT ${name}`, ...this.block(this.r.int(1, 4), depth + 1));
        if (this.r.chance(0.5)) {
          this.state = saved;
          out.push(`ROLLBACK TO SAVEPOINT ${name}`);
          // Work after the rollback, still inside the savepoint: a subtransaction that commits.
          if (this.r.chance(0.5)) out.push(...this.anyOp(false));
        }
        out.push(`RELEASE SAVEPOINT ${name}`);
      } else {
        out.push(...this.anyOp(depth === 0));
      }
    }
    return out;
  }

  transactions(count: number): Txn[] {
    return Array.from({ length: count }, () => this.txn());
  }
}
