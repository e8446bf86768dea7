/**
 * wal2json format-version 2 → SourceTransaction. One JSON record per peek row, with the options
 * read/read-sql.ts passes: include-xids, include-timestamp, include-lsn, include-types,
 * include-type-oids, include-transaction (B/C records).
 *
 * Losslessness: wal2json prints int2/4/8, oid, float4/8 and numeric values as bare JSON numbers
 * (numeric-data-types-as-string only exists from 2.6; Debian ships 2.5), so JSON.parse would turn
 * 9223372036854775807 into 9223372036854776000. `parseRecord` quotes every bare number that
 * follows a `"value":` key before parsing. That rewrite cannot touch string contents: inside a
 * JSON string every `"` is escaped, so the text `"value":` followed by a digit can only be a key.
 *
 * Two more wal2json quirks are undone here:
 *  - bytea is printed as hex without its `\x` prefix (wal2json strips it): put it back;
 *  - NaN, Infinity and -Infinity of float4/float8/numeric are printed as `null`, exactly like SQL
 *    NULL. In a new row such a column is left out and named in `unresolved`; the applier reads
 *    its value from the source (apply/source-values.ts). In an old row (REPLICA IDENTITY FULL) it
 *    stays, marked `nullOrSpecial`: dropping it would let `(1, NULL)` match the row `(1, 1.5)`.
 *    pgoutput has no such loss.
 * Unchanged TOAST columns are simply absent from an update's "columns"; for REPLICA IDENTITY
 * FULL they are filled from the old row ("identity"), which has every value.
 */
import { TransactionAssembler } from './assembler';
import type { Change, ColumnValue, RelationRef, SourceTransaction, TruncateChange } from '../change';
import { normalizeLsn } from '../lsn';
import { OID, type PeekRow, type TypeNames } from './peek-row';

interface W2jColumn {
  name: string;
  type?: string;
  typeoid?: number;
  value: string | boolean | null;
}

interface W2jRecord {
  action: string;
  xid?: number;
  timestamp?: string;
  lsn?: string;
  nextlsn?: string;
  schema?: string;
  table?: string;
  columns?: W2jColumn[];
  identity?: W2jColumn[];
}

const BARE_VALUE = /"value":(-?[0-9][0-9.eE+-]*)/g;

/** JSON.parse with every bare `"value":` number kept as its exact text. */
export function parseRecord(text: string): W2jRecord {
  return JSON.parse(text.replace(BARE_VALUE, '"value":"$1"')) as W2jRecord;
}

/** "2026-11-27 11:29:03.855678+00" → "2026-11-27T11:29:03.855678+00:00" (ISO-8601). */
export function isoTimestamp(pg: string): string {
  const m = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d)(?::?(\d\d))?(?::?(\d\d))?$/.exec(pg);
  if (!m) return pg;
  return `${m[1]}T${m[2]}${m[3]}:${m[4] ?? '00'}`;
}

export class Wal2jsonDecoder extends TransactionAssembler {
  /** Type OIDs met that `types` could not name (values kept wal2json's own name, if any). */
  readonly missingTypeOids = new Set<number>();

  constructor(private readonly types: TypeNames = new Map()) {
    super();
  }

  /** Decodes rows in order; returns the transactions whose commit was among them. */
  push(rows: readonly PeekRow[]): SourceTransaction[] {
    const done: SourceTransaction[] = [];
    for (const row of rows) {
      const text = typeof row.data === 'string' ? row.data : row.data.toString('utf8');
      const rec = parseRecord(text);
      switch (rec.action) {
        case 'B':
          this.open = {
            xid: String(rec.xid ?? row.xid ?? ''),
            commitLsn: '',
            commitTime: isoTimestamp(rec.timestamp ?? ''),
            changes: [],
          };
          break;
        case 'C': {
          const txn = this.requireOpen(rec);
          txn.commitLsn = normalizeLsn(row.lsn || rec.nextlsn || '0/0');
          if (rec.timestamp) txn.commitTime = isoTimestamp(rec.timestamp);
          done.push(txn);
          this.open = undefined;
          break;
        }
        case 'I':
        case 'U':
        case 'D':
        case 'T':
          this.addChange(this.requireOpen(rec), rec);
          break;
        default:
          // 'M' (logical messages) and anything newer carry no row changes.
          break;
      }
    }
    return done;
  }

  private requireOpen(rec: W2jRecord): SourceTransaction {
    if (!this.open) throw new Error(`wal2json record "${rec.action}" outside a transaction (xid ${rec.xid ?? '?'})`);
    return this.open;
  }

  private addChange(txn: SourceTransaction, rec: W2jRecord): void {
    const relation = this.relationRef(rec.schema ?? 'public', rec.table ?? '');
    if (rec.action === 'T') {
      // wal2json prints one record per relation of a TRUNCATE; keep them one statement.
      const last = txn.changes[txn.changes.length - 1];
      if (last?.kind === 'truncate') last.relations.push(relation);
      else txn.changes.push({ kind: 'truncate', relations: [relation], cascade: false, restartIdentity: false } satisfies TruncateChange);
      return;
    }
    const unresolved: string[] = [];
    const newRow = (rec.columns ?? []).flatMap((c) => this.column(c, unresolved));
    const oldKey = (rec.identity ?? []).flatMap((c) => this.column(c, null));
    let change: Change;
    if (rec.action === 'I') {
      change = { kind: 'insert', relation, newRow };
    } else if (rec.action === 'D') {
      change = { kind: 'delete', relation, oldKey };
    } else {
      const present = new Set(newRow.map((c) => c.name));
      const unchangedToast: string[] = [];
      // A column absent from the new row is an unchanged TOAST value, so the old row's value is
      // the new one: with REPLICA IDENTITY FULL the old row ("identity") has every column.
      for (const old of oldKey) {
        if (!present.has(old.name) && !unresolved.includes(old.name)) newRow.push({ ...old });
      }
      change = { kind: 'update', relation, oldKey: oldKey.length > 0 ? oldKey : [], newRow, unchangedToast };
    }
    if (unresolved.length > 0 && change.kind !== 'delete') change.unresolved = unresolved;
    txn.changes.push(change);
  }

  private readonly refs = new Map<string, Map<string, RelationRef>>();

  /** One RelationRef per relation, shared by its changes (cheap identity lookups downstream). */
  private relationRef(schema: string, table: string): RelationRef {
    let bySchema = this.refs.get(schema);
    if (!bySchema) this.refs.set(schema, (bySchema = new Map()));
    let ref = bySchema.get(table);
    if (!ref) bySchema.set(table, (ref = { schema, table }));
    return ref;
  }

  /**
   * One column. A new-row value wal2json made unknowable is left out and named in `unresolved`;
   * an old-row one (`unresolved` null) is kept as null, marked `nullOrSpecial`.
   */
  private column(c: W2jColumn, unresolved: string[] | null): ColumnValue[] {
    const oid = c.typeoid;
    let value: string | null;
    let nullOrSpecial = false;
    if (c.value === null) {
      if (oid === OID.float4 || oid === OID.float8 || oid === OID.numeric) {
        if (unresolved) {
          unresolved.push(c.name);
          return [];
        }
        nullOrSpecial = true;
      }
      value = null;
    } else if (typeof c.value === 'boolean') {
      value = c.value ? 'true' : 'false';
    } else {
      value = String(c.value);
      if (oid === OID.bytea && !value.startsWith('\\x')) value = `\\x${value}`;
    }
    let type = oid !== undefined ? this.types.get(oid) : undefined;
    if (type === undefined) {
      if (oid !== undefined) this.missingTypeOids.add(oid);
      type = c.type ?? '';
    }
    const out: ColumnValue = oid !== undefined ? { name: c.name, type, value, typeOid: oid } : { name: c.name, type, value };
    if (nullOrSpecial) out.nullOrSpecial = true;
    return [out];
  }
}

/** Decodes a complete list of rows (fixtures, tests). */
export function decodeWal2json(rows: readonly PeekRow[], types?: TypeNames): SourceTransaction[] {
  return new Wal2jsonDecoder(types).push(rows);
}
