/**
 * Both decoders on messages captured from real servers (test/fixtures/cdc/capture.ts): the same
 * workload through wal2json (PG15) and pgoutput (PG15 and PG13) must decode to the same changes,
 * except where wal2json itself loses information (NaN/±Infinity → unresolved, unnamed TOAST).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ColumnValue, InsertChange, SourceTransaction, UpdateChange, DeleteChange, TruncateChange } from '../../shared/cdc/change';
import { decodePgoutput, PgoutputDecoder } from '../../shared/cdc/decode/pgoutput';
import { pgTimestampToIso } from '../../shared/cdc/decode/pgoutput-message';
import { decodeWal2json, isoTimestamp, parseRecord, Wal2jsonDecoder } from '../../shared/cdc/decode/wal2json';
import type { PeekRow } from '../../shared/cdc/decode/peek-row';

interface Fixture {
  plugin: 'wal2json' | 'pgoutput';
  major: number;
  types: Record<string, string>;
  rows: Array<{ lsn: string; xid: string | null; data: string }>;
}

function load(name: string): { rows: PeekRow[]; types: Map<number, string>; fx: Fixture } {
  const fx = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'cdc', `${name}.json`), 'utf8')) as Fixture;
  const rows = fx.rows.map((r) => ({ ...r, data: fx.plugin === 'pgoutput' ? Buffer.from(r.data, 'hex') : r.data }));
  return { rows, types: new Map(Object.entries(fx.types).map(([k, v]) => [Number(k), v])), fx };
}

function decode(name: string): SourceTransaction[] {
  const { rows, types, fx } = load(name);
  return fx.plugin === 'pgoutput' ? decodePgoutput(rows, types) : decodeWal2json(rows, types);
}

const val = (row: ColumnValue[], name: string) => row.find((c) => c.name === name)?.value;
const has = (row: ColumnValue[], name: string) => row.some((c) => c.name === name);

const FIXTURES = ['wal2json-pg15', 'pgoutput-pg15', 'pgoutput-pg13'] as const;

describe.each(FIXTURES)('decoder on %s', (name) => {
  const txns = decode(name);
  const isW2j = name.startsWith('wal2json');

  it('yields one transaction per source transaction, in commit order, with xid, commit LSN and time', () => {
    expect(txns).toHaveLength(12);
    for (const t of txns) {
      expect(t.xid).toMatch(/^\d+$/);
      expect(t.commitLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(Date.parse(t.commitTime)).not.toBeNaN();
      expect(t.commitTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    }
    const lsns = txns.map((t) => BigInt(`0x${t.commitLsn.replace('/', '').padStart(16, '0')}`));
    const parse = (l: string) => { const [hi, lo] = l.split('/'); return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`); };
    expect(txns.map((t) => parse(t.commitLsn))).toEqual([...txns.map((t) => parse(t.commitLsn))].sort((a, b) => (a < b ? -1 : 1)));
    expect(lsns.length).toBe(12);
  });

  it('keeps bigint, numeric extremes and special floats exactly', () => {
    const first = txns[0]?.changes[0] as InsertChange;
    expect(first.kind).toBe('insert');
    expect(val(first.newRow, 'id')).toBe('9223372036854775807');
    expect(val(first.newRow, 'n')).toBe(`0.${'0'.repeat(129)}1`);
    const second = txns[1]?.changes as InsertChange[];
    expect(val(second[0]!.newRow, 'id')).toBe('-9223372036854775807');
    expect(val(second[0]!.newRow, 'n')).toBe(`999${'0'.repeat(128)}`);
    expect(val(second[1]!.newRow, 'f8')).toBe('1.7976931348623157e+308');
    if (isW2j) {
      // wal2json prints NaN/±Infinity as null: such columns are left for the applier to read.
      expect(first.unresolved).toEqual(['f8', 'f4']);
      expect(has(first.newRow, 'f8')).toBe(false);
      expect(second[0]!.unresolved).toEqual(['f8', 'f4']);
      expect(second[1]!.unresolved).toEqual(['n']);
      expect(second[2]!.unresolved).toEqual(['n', 'f8', 'f4']);
    } else {
      expect(val(first.newRow, 'f8')).toBe('NaN');
      expect(val(first.newRow, 'f4')).toBe('-Infinity');
      expect(val(second[0]!.newRow, 'f8')).toBe('Infinity');
      expect(val(second[0]!.newRow, 'f4')).toBe('NaN');
      expect(val(second[1]!.newRow, 'n')).toBe('NaN');
      expect(val(second[2]!.newRow, 'n')).toBeNull();
      expect(first.unresolved).toBeUndefined();
    }
  });

  it('keeps text with quotes, backslashes, newlines, tabs and unicode; bytea, arrays, jsonb, enums, NULLs', () => {
    const row = (txns[0]?.changes[0] as InsertChange).newRow;
    expect(val(row, 's')).toBe(`quo"te's\nnew\\line \t ☃ 日本`);
    expect(val(row, 'by')).toBe('\\x00ff27');
    expect(val(row, 'arr')).toBe('{1,NULL,3}');
    expect(val(row, 'tarr')).toBe('{"a,b","c\\"d",NULL}');
    expect(val(row, 'j')).toBe('{"k": [1, 2.50], "q": "\\"x\\""}');
    expect(val(row, 'm')).toBe('happy');
    expect(['t', 'true']).toContain(val(row, 'bo'));
    expect(val(row, 'ts')).toBe('2026-01-02 03:04:05.123456+00');
    expect(val(row, 'big')).toBe('x'.repeat(3000));
    const nulls = (txns[1]?.changes[0] as InsertChange).newRow;
    for (const c of ['by', 'arr', 'j', 's', 'm', 'big', 'ts', 'bo']) expect(val(nulls, c)).toBeNull();
  });

  it('names types: built-ins unqualified, user types schema-qualified, with their OIDs', () => {
    const row = (txns[0]?.changes[0] as InsertChange).newRow;
    const typeOf = (n: string) => row.find((c) => c.name === n);
    expect(typeOf('id')).toMatchObject({ type: 'bigint', typeOid: 20 });
    expect(typeOf('n')).toMatchObject({ type: 'numeric', typeOid: 1700 });
    expect(typeOf('arr')).toMatchObject({ type: 'integer[]', typeOid: 1007 });
    expect(typeOf('m')?.type).toBe('public.mood');
    expect(typeOf('ts')?.type).toBe('timestamp with time zone');
  });

  it('leaves an unchanged TOAST column out of an update (pgoutput names it)', () => {
    const u = txns[2]?.changes[0] as UpdateChange;
    expect(u.kind).toBe('update');
    expect(val(u.newRow, 's')).toBe('changed');
    expect(has(u.newRow, 'big')).toBe(false);
    expect(u.unchangedToast).toEqual(isW2j ? [] : ['big']);
    expect(u.oldKey).toEqual([expect.objectContaining({ name: 'id', value: '9223372036854775807' })]);
  });

  it('gives the old key of a key-changing update and of a delete', () => {
    const u = txns[3]?.changes[0] as UpdateChange;
    expect(u.oldKey.map((c) => [c.name, c.value])).toEqual([['id', '2']]);
    expect(val(u.newRow, 'id')).toBe('3');
    const d = txns[4]?.changes[0] as DeleteChange;
    expect(d).toMatchObject({ kind: 'delete', relation: { schema: 'public', table: 'kinds' } });
    expect(d.oldKey.map((c) => [c.name, c.value])).toEqual([['id', '1']]);
  });

  it('gives whole old rows for REPLICA IDENTITY FULL, duplicates and NULLs included', () => {
    const ins = txns[5]?.changes as InsertChange[];
    expect(ins).toHaveLength(3);
    expect(ins[0]!.newRow).toEqual(ins[1]!.newRow);
    const u = txns[6]?.changes[0] as UpdateChange;
    expect(u.oldKey.map((c) => c.name)).toEqual(['a', 'b', 'big']);
    expect(val(u.oldKey, 'a')).toBe('1');
    expect(val(u.oldKey, 'big')).toBe('y'.repeat(3000));
    // The unchanged TOAST value is known from the old row, so the new row is whole.
    expect(val(u.newRow, 'big')).toBe('y'.repeat(3000));
    expect(val(u.newRow, 'a')).toBe('2');
    const d = txns[7]?.changes[0] as DeleteChange;
    expect(d.oldKey.map((c) => [c.name, c.value])).toEqual([['a', null], ['b', null], ['big', null]]);
  });

  it('decodes a TRUNCATE of several relations as one change', () => {
    const t = txns[9]?.changes as TruncateChange[];
    expect(t).toHaveLength(1);
    expect(t[0]!.relations).toEqual([{ schema: 'public', table: 'parent' }, { schema: 'public', table: 'child' }]);
    // pgoutput carries CASCADE / RESTART IDENTITY; wal2json does not.
    expect(t[0]!.restartIdentity).toBe(!isW2j);
    expect(t[0]!.cascade).toBe(!isW2j);
  });

  it('keeps odd identifiers and identity columns', () => {
    const odd = txns[11]?.changes[0] as InsertChange;
    expect(odd.relation).toEqual({ schema: 'public', table: 'Odd "Name"' });
    expect(odd.newRow.map((c) => [c.name, c.value])).toEqual([['Col 1', '1'], ['ü', 'ä']]);
    const idt = txns[10]?.changes as InsertChange[];
    expect(idt.map((c) => val(c.newRow, 'id'))).toEqual(['1', '2']);
  });

  it('decodes the same transactions when rows arrive in pages (state carried across pushes)', () => {
    const { rows, types, fx } = load(name);
    for (const page of [1, 3, 7]) {
      const dec = fx.plugin === 'pgoutput' ? new PgoutputDecoder(types) : new Wal2jsonDecoder(types);
      const out: SourceTransaction[] = [];
      for (let i = 0; i < rows.length; i += page) out.push(...dec.push(rows.slice(i, i + page)));
      expect(out).toEqual(txns);
      expect(dec.pendingChanges).toBe(0);
    }
  });
});

describe('wal2json and pgoutput agree', () => {
  it('on every value wal2json does not lose', () => {
    const a = decode('wal2json-pg15');
    const b = decode('pgoutput-pg15');
    expect(a.map((t) => [t.xid, t.commitLsn, t.commitTime])).toEqual(b.map((t) => [t.xid, t.commitLsn, t.commitTime]));
    const norm = (row: ColumnValue[]) =>
      row.filter((c) => c.name !== 'g').map((c) => [c.name, c.type, c.value === 'true' ? 't' : c.value === 'false' ? 'f' : c.value]).sort();
    a.forEach((t, i) => {
      t.changes.forEach((c, j) => {
        const o = b[i]!.changes[j]!;
        expect(c.kind).toBe(o.kind);
        if (c.kind === 'insert' && o.kind === 'insert') {
          const lost = new Set(c.unresolved ?? []);
          expect(norm(c.newRow)).toEqual(norm(o.newRow.filter((v) => !lost.has(v.name))));
        }
      });
    });
  });
  it('and pgoutput is identical on PostgreSQL 13 and 15 (apart from xids, LSNs and times)', () => {
    const strip = (ts: SourceTransaction[]) => ts.map((t) => t.changes);
    expect(strip(decode('pgoutput-pg13'))).toEqual(strip(decode('pgoutput-pg15')));
  });
});

describe('wal2json parsing', () => {
  it('keeps bare numbers after "value": as exact text and leaves strings alone', () => {
    const rec = parseRecord('{"action":"I","columns":[{"name":"a","value":9223372036854775807},{"name":"b","value":-1.5e-300},{"name":"c","value":"\\"value\\":1"},{"name":"d","value":true}]}');
    expect(rec.columns?.map((c) => c.value)).toEqual(['9223372036854775807', '-1.5e-300', '"value":1', true]);
  });
  it('converts timestamps to ISO-8601', () => {
    expect(isoTimestamp('2026-11-27 11:29:03.855678+00')).toBe('2026-11-27T11:29:03.855678+00:00');
    expect(isoTimestamp('2026-11-27 11:29:03+05:30')).toBe('2026-11-27T11:29:03+05:30');
  });
  it('refuses a change outside a transaction', () => {
    expect(() => decodeWal2json([{ lsn: '0/1', xid: '5', data: '{"action":"I","schema":"s","table":"t","columns":[]}' }])).toThrow(/outside a transaction/);
  });
  it('restores the \\x of bytea', () => {
    const [t] = decodeWal2json([
      { lsn: '0/1', xid: '5', data: '{"action":"B","xid":5,"timestamp":"2026-01-01 00:00:00+00"}' },
      { lsn: '0/2', xid: '5', data: '{"action":"I","xid":5,"schema":"s","table":"t","columns":[{"name":"b","typeoid":17,"value":"ff"},{"name":"e","typeoid":17,"value":""}]}' },
      { lsn: '0/3', xid: '5', data: '{"action":"C","xid":5,"timestamp":"2026-01-01 00:00:00+00"}' },
    ]);
    expect((t?.changes[0] as InsertChange).newRow.map((c) => c.value)).toEqual(['\\xff', '\\x']);
    expect(t?.commitLsn).toBe('0/3');
  });
});

describe('pgoutput parsing', () => {
  it('converts PostgreSQL-epoch microseconds to ISO-8601', () => {
    expect(pgTimestampToIso(0n)).toBe('2000-01-01T00:00:00.000000+00:00');
    expect(pgTimestampToIso(1_000_001n)).toBe('2000-01-01T00:00:01.000001+00:00');
    expect(pgTimestampToIso(-1n)).toBe('1999-12-31T23:59:59.999999+00:00');
  });
  it('refuses a change for a relation it has no Relation message for', () => {
    const begin = Buffer.alloc(21);
    begin.write('B', 0);
    const insert = Buffer.from([0x49, 0, 0, 0, 42, 0x4e, 0, 0]);
    expect(() => decodePgoutput([{ lsn: '0/1', xid: '1', data: begin }, { lsn: '0/2', xid: '1', data: insert }])).toThrow(/relation 42 before its Relation/);
  });
});
