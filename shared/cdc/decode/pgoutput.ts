/**
 * pgoutput (protocol version 1) → SourceTransaction. Each peek row is one binary message:
 * Begin 'B', Commit 'C', Origin 'O', Relation 'R', Type 'Y', Insert 'I', Update 'U',
 * Delete 'D', Truncate 'T', Message 'M'. Values arrive in text form, so nothing is lost.
 *
 * Relation messages describe a table (columns, type OIDs, which columns form the replica
 * identity) and are sent once per decoding session before the table's first change: each peek is
 * a new session, so they are re-sent; a decoder instance must live for one read session (a
 * streaming reader would keep it for the connection's life).
 *
 * Old rows: 'K' carries the replica identity columns only (the others are sent as nulls and are
 * dropped here), 'O' the whole old row (REPLICA IDENTITY FULL). An update without an old row did
 * not change its key: the key is taken from the new row. A new-row column marked 'u' is an
 * unchanged TOAST value; when the old row is whole ('O') its value is known and filled in.
 */
import { TransactionAssembler } from './assembler';
import type { Change, ColumnValue, RelationRef, SourceTransaction } from '../change';
import { formatLsn } from '../lsn';
import type { PeekRow, TypeNames } from './peek-row';
import { MessageReader, pgTimestampToIso, type RepeatCache } from './pgoutput-message';

export interface RelationColumn {
  name: string;
  /** Part of the replica identity (flags bit 1). */
  key: boolean;
  typeOid: number;
  typmod: number;
}

export interface RelationInfo {
  oid: number;
  schema: string;
  table: string;
  /** relreplident: 'd' default, 'n' nothing, 'f' full, 'i' index. */
  replicaIdentity: string;
  columns: RelationColumn[];
  /** Names of the replica identity columns. */
  keyNames: ReadonlySet<string>;
  /** Per column: its last value, reused when repeated. */
  repeat: RepeatCache[];
  /** Shared by every change of this relation (cheap identity lookups downstream). */
  ref: RelationRef;
}

/** The marker of an unchanged TOAST value ('u') in a decoded tuple. */
const UNCHANGED: unique symbol = Symbol('unchanged TOAST');
/** A tuple column as sent: null ('n'), unchanged TOAST ('u'), or its text ('t'). */
type TupleValue = string | null | typeof UNCHANGED;

export class PgoutputDecoder extends TransactionAssembler {
  readonly relations = new Map<number, RelationInfo>();
  /** Type OIDs met that `types` could not name (values got type ''); the reader resolves them. */
  readonly missingTypeOids = new Set<number>();

  constructor(private readonly types: TypeNames = new Map()) {
    super();
  }

  push(rows: readonly PeekRow[]): SourceTransaction[] {
    const done: SourceTransaction[] = [];
    for (const row of rows) {
      const data = typeof row.data === 'string' ? Buffer.from(row.data.replace(/^\\x/, ''), 'hex') : row.data;
      const txn = this.message(data);
      if (txn) done.push(txn);
    }
    return done;
  }

  /** One reader serves every message. */
  private readonly reader = new MessageReader();

  /** Decodes one message (the buffer may be reused afterwards); returns the transaction it committed. */
  decodeMessage(data: Buffer): SourceTransaction | undefined {
    return this.message(data);
  }

  private message(data: Buffer): SourceTransaction | undefined {
    const r = this.reader.reset(data);
    const tag = String.fromCharCode(r.byte());
    switch (tag) {
      case 'B': {
        r.uint64(); // final_lsn (start of the commit record); the Commit message has the end
        const ts = r.int64();
        const xid = r.uint32();
        this.open = { xid: String(xid), commitLsn: '', commitTime: pgTimestampToIso(ts), changes: [] };
        return undefined;
      }
      case 'C': {
        r.byte(); // flags
        r.uint64(); // commit_lsn
        const end = r.uint64();
        const ts = r.int64();
        const txn = this.requireOpen(tag);
        txn.commitLsn = formatLsn(end);
        txn.commitTime = pgTimestampToIso(ts);
        this.open = undefined;
        return txn;
      }
      case 'R':
        this.relation(r);
        return undefined;
      case 'I': {
        const rel = this.rel(r.uint32());
        r.byte(); // 'N'
        this.add({ kind: 'insert', relation: ref(rel), newRow: this.newTuple(r, rel, undefined, undefined) });
        return undefined;
      }
      case 'U': {
        const rel = this.rel(r.uint32());
        let marker = String.fromCharCode(r.byte());
        let old: TupleValue[] | undefined;
        if (marker === 'K' || marker === 'O') {
          old = this.tuple(r, rel);
          marker = String.fromCharCode(r.byte());
        }
        if (marker !== 'N') throw new Error(`pgoutput: update of ${rel.schema}.${rel.table} without a new tuple`);
        const whole = old !== undefined && rel.replicaIdentity === 'f';
        const unchangedToast: string[] = [];
        const newRow = this.newTuple(r, rel, whole ? old : undefined, unchangedToast);
        let oldKey: ColumnValue[];
        if (old) oldKey = this.columns(rel, old, whole);
        else {
          // No old row: the key did not change; share the new row's key values.
          oldKey = new Array<ColumnValue>(rel.keyNames.size);
          let k = 0;
          if (newRow.length === rel.columns.length) {
            for (let i = 0; i < rel.columns.length; i++) if ((rel.columns[i] as RelationColumn).key) oldKey[k++] = newRow[i] as ColumnValue;
          } else {
            for (const v of newRow) if (rel.keyNames.has(v.name)) oldKey[k++] = v;
          }
          if (k < oldKey.length) oldKey.length = k;
        }
        this.add({ kind: 'update', relation: ref(rel), oldKey, newRow, unchangedToast });
        return undefined;
      }
      case 'D': {
        const rel = this.rel(r.uint32());
        const marker = String.fromCharCode(r.byte());
        const old = this.tuple(r, rel);
        const whole = marker === 'O';
        this.add({ kind: 'delete', relation: ref(rel), oldKey: this.columns(rel, old, whole) });
        return undefined;
      }
      case 'T': {
        const n = r.int32();
        const options = r.byte();
        const relations: RelationRef[] = [];
        for (let i = 0; i < n; i++) relations.push(ref(this.rel(r.uint32())));
        this.add({ kind: 'truncate', relations, cascade: (options & 1) !== 0, restartIdentity: (options & 2) !== 0 });
        return undefined;
      }
      default:
        // 'Y' (type), 'O' (origin), 'M' (message): nothing to apply; types resolve by OID.
        return undefined;
    }
  }

  private relation(r: MessageReader): void {
    const oid = r.uint32();
    const schema = r.cstring() || 'pg_catalog';
    const table = r.cstring();
    const replicaIdentity = String.fromCharCode(r.byte());
    const n = r.int16();
    const columns: RelationColumn[] = [];
    for (let i = 0; i < n; i++) {
      const flags = r.byte();
      const name = r.cstring();
      const typeOid = r.uint32();
      const typmod = r.int32();
      columns.push({ name, key: (flags & 1) !== 0, typeOid, typmod });
    }
    const keyNames = new Set(columns.filter((c) => c.key).map((c) => c.name));
    const repeat = columns.map((): RepeatCache => ({ bytes: undefined, str: '', hits: 0, misses: 0 }));
    this.relations.set(oid, { oid, schema, table, replicaIdentity, columns, keyNames, repeat, ref: { schema, table } });
  }

  private rel(oid: number): RelationInfo {
    const rel = this.relations.get(oid);
    if (!rel) throw new Error(`pgoutput: change for relation ${oid} before its Relation message`);
    return rel;
  }

  private tuple(r: MessageReader, rel: RelationInfo): TupleValue[] {
    const n = r.int16();
    if (n !== rel.columns.length) throw new Error(`pgoutput: ${rel.schema}.${rel.table} tuple has ${n} columns, relation ${rel.columns.length}`);
    const values = new Array<TupleValue>(n);
    for (let i = 0; i < n; i++) {
      const kind = r.byte();
      if (kind === 0x74 /* t */) values[i] = r.text(r.int32());
      else if (kind === 0x6e /* n */) values[i] = null;
      else if (kind === 0x75 /* u */) values[i] = UNCHANGED;
      else throw new Error(`pgoutput: column kind '${String.fromCharCode(kind)}' (binary mode is not requested)`);
    }
    return values;
  }

  /**
   * Decodes a new tuple straight into column values (no intermediate array). An unchanged TOAST
   * value ('u') is taken from `old` when the old row is whole, else named in `unchangedToast`.
   */
  private newTuple(r: MessageReader, rel: RelationInfo, old: TupleValue[] | undefined, unchangedToast: string[] | undefined): ColumnValue[] {
    const n = r.int16();
    const cols = rel.columns;
    if (n !== cols.length) throw new Error(`pgoutput: ${rel.schema}.${rel.table} tuple has ${n} columns, relation ${cols.length}`);
    // Sized up front: held until written, so no spare capacity.
    const out = new Array<ColumnValue>(n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const col = cols[i] as RelationColumn;
      const kind = r.byte();
      if (kind === 0x74 /* t */) out[k++] = this.value(col, r.cachedText(r.int32(), rel.repeat[i] as RepeatCache));
      else if (kind === 0x6e /* n */) out[k++] = this.value(col, null);
      else if (kind === 0x75 /* u */) {
        const o = old?.[i];
        if (o !== undefined && o !== UNCHANGED) out[k++] = this.value(col, o);
        else if (unchangedToast) unchangedToast.push(col.name);
      } else throw new Error(`pgoutput: column kind '${String.fromCharCode(kind)}' (binary mode is not requested)`);
    }
    if (k < n) out.length = k;
    return out;
  }

  /** The values of an old tuple: every column when `whole`, else the replica identity. */
  private columns(rel: RelationInfo, row: TupleValue[], whole: boolean): ColumnValue[] {
    const out: ColumnValue[] = [];
    const cols = rel.columns;
    for (let i = 0; i < cols.length; i++) {
      const col = cols[i] as RelationColumn;
      const v = row[i] as TupleValue;
      if (v !== UNCHANGED && (whole || col.key)) out.push(this.value(col, v));
    }
    return out;
  }

  private value(col: RelationColumn, v: string | null): ColumnValue {
    let type = this.types.get(col.typeOid);
    if (type === undefined) {
      this.missingTypeOids.add(col.typeOid);
      type = '';
    }
    return { name: col.name, type, value: v, typeOid: col.typeOid };
  }

  private add(change: Change): void {
    this.requireOpen(change.kind).changes.push(change);
  }

  private requireOpen(what: string): SourceTransaction {
    if (!this.open) throw new Error(`pgoutput: ${what} message outside a transaction`);
    return this.open;
  }
}

function ref(rel: RelationInfo): RelationRef {
  return rel.ref;
}

export function decodePgoutput(rows: readonly PeekRow[], types?: TypeNames): SourceTransaction[] {
  return new PgoutputDecoder(types).push(rows);
}
