import { describe, expect, it } from 'vitest';
import { balancedSplitBytes, buildPlan, chunkOfPlanItem, chunkPlanItems, copyUnits, groupable, keyRanges, planChunks, storedPlanOrder, type SplitFacts } from '../../shared/copy/plan';
import { rangePredicate, sourceCopySql, targetCopySql } from '../../shared/copy/copy-chunk';
import { keysOf } from '../../shared/copy/tables';
import { lsnValue, maxLsn, visibleInSnapshotExpr, xminFilterUsable } from '../../shared/copy/snapshot';
import { parseCopyChunk, type BaseSnapshot, type ColumnInfo, type CopyChunk, type Inventory, type SourceTable } from '../../shared/copy/types';

const col = (name: string, type = 'integer', over: Partial<ColumnInfo> = {}): ColumnInfo => ({
  name,
  type,
  generated: false,
  identity: null,
  notNull: false,
  binarySafe: true,
  ...over,
});

let nextOid = 1000;
function table(name: string, over: Partial<SourceTable> = {}): SourceTable {
  return {
    schema: 'public',
    table: name,
    oid: nextOid++,
    relfilenode: 5000,
    kind: 'table',
    partitionOf: null,
    unlogged: false,
    columns: [col('id', 'bigint', { notNull: true }), col('v', 'text')],
    replicaIdentity: 'default',
    replicationKey: ['id'],
    hasKey: true,
    chunkKey: { column: 'id', type: 'bigint', notNull: true, isReplicationKey: true },
    estimatedBytes: 8192,
    pages: 1,
    estimatedRows: 10,
    ...over,
  };
}

const BASE = { snapshot: '100:105:101,103', lsn: '0/16B3748', xmax: '105' };
function inventory(tables: SourceTable[], base: BaseSnapshot = BASE): Inventory {
  return { serverVersionNum: 150008, major: 15, encoding: 'UTF8', base, tables, largeObjects: { count: 0 } };
}
const MB = 1024 * 1024;

describe('keyRanges', () => {
  it('cuts [min, max] into contiguous ranges, open at both ends', () => {
    expect(keyRanges('id', 1n, 100n, 4)).toEqual([
      { kind: 'key', column: 'id', from: null, to: '26' },
      { kind: 'key', column: 'id', from: '26', to: '51' },
      { kind: 'key', column: 'id', from: '51', to: '76' },
      { kind: 'key', column: 'id', from: '76', to: null },
    ]);
  });
  it('never makes more ranges than keys, and handles the bigint extremes', () => {
    expect(keyRanges('id', 5n, 6n, 10)).toHaveLength(2);
    expect(keyRanges('id', 7n, 7n, 10)).toEqual([{ kind: 'key', column: 'id', from: null, to: null }]);
    const r = keyRanges('id', -(2n ** 63n), 2n ** 63n - 1n, 3);
    expect(r.map((x) => (x.kind === 'key' ? [x.from, x.to] : []))).toEqual([
      [null, '-3074457345618258603'],
      ['-3074457345618258603', '3074457345618258602'],
      ['3074457345618258602', null],
    ]);
  });
});

describe('buildPlan', () => {
  const settings = { planId: 'mig1/db', splitBytes: 10 * MB, maxChunksPerTable: 8 };

  it('gives tables whose names differ only by where the dot falls different chunk ids', () => {
    const plan = buildPlan(inventory([table('c', { schema: 'a.b' }), table('b.c', { schema: 'a' })]), new Map(), settings);
    const ids = planChunks(plan).map((c) => c.id);
    expect(new Set(ids).size).toBe(2);
  });
  it('orders tables largest first and keeps small tables whole', () => {
    const plan = buildPlan(inventory([table('small'), table('big', { estimatedBytes: 5 * MB }), table('mid', { estimatedBytes: 2 * MB })]), new Map(), settings);
    expect(plan.tables.map((t) => t.table)).toEqual(['big', 'mid', 'small']);
    expect(plan.tables.every((t) => t.chunks.length === 1 && t.chunks[0]?.range.kind === 'all' && t.chunks[0]?.chunkCount === 1)).toBe(true);
    expect(plan.tables[0]?.chunks[0]?.id).toBe('mig1/db:"public"."big":0');
  });

  it('splits by the integer replication key without a filter', () => {
    const t = table('big', { estimatedBytes: 35 * MB });
    const plan = buildPlan(inventory([t]), new Map<number, SplitFacts>([[t.oid, { min: '1', max: '4000', pages: 4480 }]]), settings);
    const chunks = plan.tables[0]?.chunks ?? [];
    expect(plan.tables[0]?.split).toBe('key');
    expect(chunks).toHaveLength(4);
    expect(chunks.every((c) => c.baseSnapshot === undefined && c.chunkCount === 4)).toBe(true);
    expect(chunks.map((c) => c.id)).toEqual([0, 1, 2, 3].map((i) => `mig1/db:"public"."big":${i}`));
  });

  it('adds a NULL chunk for a nullable unique key, and filters by the base snapshot when it is not the replication key', () => {
    const t = table('nuk', {
      estimatedBytes: 25 * MB,
      replicationKey: ['code'],
      chunkKey: { column: 'uk', type: 'integer', notNull: false, isReplicationKey: false },
    });
    const plan = buildPlan(inventory([t]), new Map([[t.oid, { min: '-50', max: '50', pages: 3000 }]]), settings);
    const chunks = plan.tables[0]?.chunks ?? [];
    expect(chunks.map((c) => c.range.kind)).toEqual(['key', 'key', 'key', 'keyNull']);
    expect(chunks.every((c) => c.baseSnapshot === BASE.snapshot)).toBe(true);
  });

  it('splits keyed tables without an integer key by heap pages, with the filter and the rewrite guard', () => {
    const t = table('uuids', { estimatedBytes: 30 * MB, chunkKey: null, relfilenode: 777 });
    const plan = buildPlan(inventory([t]), new Map([[t.oid, { min: null, max: null, pages: 3840 }]]), settings);
    const chunks = plan.tables[0]?.chunks ?? [];
    expect(chunks.map((c) => c.range)).toEqual([
      { kind: 'ctid', fromPage: 0, toPage: 1280 },
      { kind: 'ctid', fromPage: 1280, toPage: 2560 },
      { kind: 'ctid', fromPage: 2560, toPage: null },
    ]);
    expect(chunks.every((c) => c.baseSnapshot === BASE.snapshot && c.relfilenode === 777)).toBe(true);
  });

  it('never splits a table without a key, however big', () => {
    const t = table('nokey', { estimatedBytes: 500 * MB, hasKey: false, replicationKey: null, chunkKey: null });
    const plan = buildPlan(inventory([t]), new Map([[t.oid, { min: null, max: null, pages: 64000 }]]), settings);
    expect(plan.tables[0]).toMatchObject({ split: 'none', note: expect.stringContaining('no primary key') });
    expect(plan.tables[0]?.chunks).toHaveLength(1);
  });

  it('from a standby (its lock table does not show the primary\'s subtransactions), splits only by the integer replication key', () => {
    const a = table('intpk', { estimatedBytes: 30 * MB });
    const b = table('uuids', { estimatedBytes: 30 * MB, chunkKey: null });
    const facts = new Map([a, b].map((t) => [t.oid, { min: '1', max: '1000', pages: 3840 }]));
    const plan = buildPlan(inventory([a, b], { ...BASE, standby: true }), facts, settings);
    expect(plan.tables.map((t) => [t.table, t.split])).toEqual([
      ['intpk', 'key'],
      ['uuids', 'none'],
    ]);
  });
  it('on a wrapped xid counter, splits only by the integer replication key', () => {
    const wrapped = { ...BASE, xmax: String(2n ** 32n + 5n) };
    const a = table('intpk', { estimatedBytes: 30 * MB });
    const b = table('uuids', { estimatedBytes: 30 * MB, chunkKey: null });
    const c = table('nuk', { estimatedBytes: 30 * MB, chunkKey: { column: 'uk', type: 'integer', notNull: false, isReplicationKey: false } });
    const facts = new Map([a, b, c].map((t) => [t.oid, { min: '1', max: '1000', pages: 3840 }]));
    const plan = buildPlan(inventory([a, b, c], wrapped), facts, settings);
    expect(plan.tables.map((t) => [t.table, t.split])).toEqual([
      ['intpk', 'key'],
      ['nuk', 'none'],
      ['uuids', 'none'],
    ]);
  });

  it('caps the chunks per table, splits by row count too, and excludes generated columns', () => {
    const t = table('rows', {
      estimatedBytes: 1 * MB,
      estimatedRows: 95_000_000,
      columns: [col('id', 'bigint', { notNull: true }), col('g', 'integer', { generated: true, binarySafe: false })],
    });
    const plan = buildPlan(inventory([t]), new Map([[t.oid, { min: '1', max: '95000000', pages: 128 }]]), { ...settings, splitRows: 10_000_000 });
    expect(plan.tables[0]?.chunks).toHaveLength(8);
    expect(plan.tables[0]?.columns).toEqual(['id']);
    expect(plan.tables[0]?.chunks[0]?.binarySafe).toBe(true);
  });

  it('round-trips through the store rows', () => {
    const t = table('big', { estimatedBytes: 35 * MB });
    const plan = buildPlan(inventory([t]), new Map([[t.oid, { min: '1', max: '4000', pages: 4480 }]]), settings);
    const items = chunkPlanItems(plan);
    expect(items.map((i) => i.chunkNo)).toEqual([0, 1, 2, 3]);
    expect(items.map((i) => chunkOfPlanItem(JSON.parse(JSON.stringify(i))))).toEqual(planChunks(plan));
  });
});

describe('balancedSplitBytes', () => {
  it('cuts a table that would copy alone into shares of the database for two passes of the lanes, within 64 MiB and the setting', () => {
    // 850 MB, of which one 400 MB table: chunks of at most 850 / 8 ≈ 106 MB, so that table travels in four.
    const db = inventory([table('accounts', { estimatedBytes: 400 * MB }), table('events', { estimatedBytes: 150 * MB }), table('rest', { estimatedBytes: 300 * MB })]);
    expect(balancedSplitBytes(db, 1024 * MB, 4)).toBe(Math.ceil((850 * MB) / 8));
    const plan = buildPlan(db, new Map([[db.tables[0]!.oid, { min: '1', max: '3000000', pages: 51200 }]]), { planId: 'p', splitBytes: balancedSplitBytes(db, 1024 * MB, 4) });
    expect(plan.tables.find((t) => t.table === 'accounts')?.chunks).toHaveLength(4);
    // Never below 64 MiB however small the database; never above the setting however large.
    expect(balancedSplitBytes(inventory([table('a', { estimatedBytes: 10 * MB })]), 1024 * MB, 4)).toBe(64 * MB);
    expect(balancedSplitBytes(inventory([table('a', { estimatedBytes: 1024 * 1024 * MB })]), 1024 * MB, 4)).toBe(1024 * MB);
  });
});

describe('copyUnits (small tables travel together)', () => {
  const settings = { planId: 'mig1/db', splitBytes: 10 * MB, maxChunksPerTable: 8 };
  const smalls = (n: number, bytes = 8192) => [...Array(n).keys()].map((i) => table(`s${String(i).padStart(4, '0')}`, { estimatedBytes: bytes }));

  it('packs the small whole tables into groups and leaves every chunk of a split table a unit of its own', () => {
    const big = table('big', { estimatedBytes: 35 * MB });
    const plan = buildPlan(inventory([big, ...smalls(300)]), new Map<number, SplitFacts>([[big.oid, { min: '1', max: '4000', pages: 4480 }]]), settings);
    const chunks = planChunks(plan);
    const units = copyUnits(chunks);
    // The 4 chunks of the big table, then 300 small tables spread over 4 groups of 75 (one per lane).
    expect(units.slice(0, 4)).toEqual([[0], [1], [2], [3]]);
    expect(units.slice(4).map((u) => u.length)).toEqual([75, 75, 75, 75]);
    expect(units.flat()).toEqual([...chunks.keys()]);
    expect(units.slice(4).every((u) => u.every((i) => groupable(chunks[i] as CopyChunk)))).toBe(true);
  });

  it('bounds a group by its table count and by its estimated bytes', () => {
    const byCount = copyUnits(planChunks(buildPlan(inventory(smalls(2000)), new Map(), settings)));
    expect(byCount).toHaveLength(10);
    expect(byCount.every((u) => u.length === 200)).toBe(true);
    const byBytes = copyUnits(planChunks(buildPlan(inventory(smalls(40, 10 * MB)), new Map(), settings)));
    // 64 MiB per group: 6 tables of 10 MiB each.
    expect(byBytes.map((u) => u.length)).toEqual([6, 6, 6, 6, 6, 6, 4]);
    expect(copyUnits(planChunks(buildPlan(inventory(smalls(10)), new Map(), settings)), { tables: 3, spread: 1 }).map((u) => u.length)).toEqual([3, 3, 3, 1]);
  });

  it('keeps alone a table over a quarter of the group bound, a split chunk, and a chunk with a base-snapshot filter', () => {
    const mid = table('mid', { estimatedBytes: 20 * MB });
    const plan = buildPlan(inventory([mid, ...smalls(8)]), new Map(), settings);
    expect(copyUnits(planChunks(plan))).toEqual([[0], [1, 2], [3, 4], [5, 6], [7, 8]]);
    const whole = planChunks(plan)[1] as CopyChunk;
    expect(groupable(whole)).toBe(true);
    expect(groupable({ ...whole, chunkCount: 2 })).toBe(false);
    expect(groupable({ ...whole, range: { kind: 'ctid', fromPage: 0, toPage: null } })).toBe(false);
    expect(groupable({ ...whole, baseSnapshot: BASE.snapshot })).toBe(false);
  });

  it('gives the same units for the same stored plan (a unit index means the same in every process) and none for an empty plan', () => {
    const chunks = planChunks(buildPlan(inventory(smalls(57)), new Map(), settings));
    const items = chunkPlanItems(buildPlan(inventory(smalls(57)), new Map(), settings)).map(chunkOfPlanItem);
    expect(copyUnits(items)).toEqual(copyUnits(chunks));
    expect(copyUnits([])).toEqual([]);
  });

  it('reads the stored rows back in one copy order, whatever order the store lists them in', () => {
    const big = table('big', { estimatedBytes: 35 * MB });
    const plan = buildPlan(inventory([...smalls(6), big]), new Map<number, SplitFacts>([[big.oid, { min: '1', max: '4000', pages: 4480 }]]), settings);
    const items = chunkPlanItems(plan);
    // Table Storage lists rows by key (table name, then chunk number): not the copy order.
    const listed = [...items].sort((a, b) => `${a.table}:${a.chunkNo}`.localeCompare(`${b.table}:${b.chunkNo}`)).reverse();
    const ordered = storedPlanOrder(listed);
    expect(ordered.map((i) => `${i.table}:${i.chunkNo}`)).toEqual(items.map((i) => `${i.table}:${i.chunkNo}`));
    expect(copyUnits(ordered.map(chunkOfPlanItem))).toEqual(copyUnits(planChunks(plan)));
  });
});

describe('keysOf', () => {
  const cols = [col('code', 'text', { notNull: true }), col('n', 'integer', { notNull: true }), col('m', 'bigint'), col('s', 'smallint', { notNull: true })];
  it('prefers the primary key, then the replica identity index, then NOT NULL, then nullable', () => {
    const idx = (columns: string[], primary = false, replident = false) => ({ columns, primary, replident });
    expect(keysOf(cols, [idx(['m']), idx(['n']), idx(['code'], true)], 'd')).toEqual({
      replicationKey: ['code'],
      hasKey: true,
      chunkKey: { column: 'n', type: 'integer', notNull: true, isReplicationKey: false },
    });
    expect(keysOf(cols, [idx(['m']), idx(['s'], false, true), idx(['n'])], 'i').chunkKey).toEqual({
      column: 's',
      type: 'smallint',
      notNull: true,
      isReplicationKey: true,
    });
    expect(keysOf(cols, [idx(['m'])], 'd')).toEqual({
      replicationKey: null,
      hasKey: false,
      chunkKey: { column: 'm', type: 'bigint', notNull: false, isReplicationKey: false },
    });
    expect(keysOf(cols, [idx(['n', 's'], true)], 'f')).toEqual({ replicationKey: ['n', 's'], hasKey: true, chunkKey: null });
  });
});

describe('COPY statements', () => {
  const chunk: CopyChunk = {
    schema: 'My "Schema"',
    table: 'T',
    id: 'p:x:0',
    chunkNo: 0,
    chunkCount: 3,
    oid: 42,
    columns: ['id', 'Odd "col"'],
    binarySafe: true,
    range: { kind: 'key', column: 'id', from: '-5', to: '10' },
    estimatedRows: 1,
    estimatedBytes: 1,
  };

  it('renders range predicates', () => {
    expect(rangePredicate({ kind: 'all' })).toBeUndefined();
    expect(rangePredicate({ kind: 'key', column: 'id', from: null, to: '7' })).toBe(`"id" < '7'::int8`);
    expect(rangePredicate({ kind: 'key', column: 'id', from: '7', to: null })).toBe(`"id" >= '7'::int8`);
    expect(rangePredicate({ kind: 'key', column: 'id', from: null, to: null })).toBe(`"id" IS NOT NULL`);
    expect(rangePredicate({ kind: 'keyNull', column: 'k"k' })).toBe(`"k""k" IS NULL`);
    expect(rangePredicate({ kind: 'ctid', fromPage: 0, toPage: 10 })).toBe(`ctid < '(10,0)'::pg_catalog.tid`);
    expect(rangePredicate({ kind: 'ctid', fromPage: 10, toPage: null })).toBe(`ctid >= '(10,0)'::pg_catalog.tid`);
    expect(() => rangePredicate({ kind: 'key', column: 'id', from: '1; DROP TABLE x', to: null })).toThrow(/not an integer/);
  });

  it('renders source and target COPY, quoting every identifier', () => {
    expect(sourceCopySql(chunk, 15, true)).toBe(
      `COPY (SELECT "id", "Odd ""col""" FROM ONLY "My ""Schema"""."T" WHERE "id" >= '-5'::int8 AND "id" < '10'::int8) TO STDOUT WITH (FORMAT binary)`,
    );
    expect(sourceCopySql({ ...chunk, range: { kind: 'all' } }, 15, false)).toBe(`COPY "My ""Schema"""."T" ("id", "Odd ""col""") TO STDOUT`);
    expect(sourceCopySql({ ...chunk, range: { kind: 'all' }, baseSnapshot: '10:20:12' }, 12, false)).toContain(
      `WHERE pg_catalog.txid_visible_in_snapshot(xmin::text::bigint, '10:20:12'::pg_catalog.txid_snapshot)`,
    );
    expect(targetCopySql(chunk, true, true)).toBe(`COPY "My ""Schema"""."T" ("id", "Odd ""col""") FROM STDIN WITH (FORMAT binary, FREEZE)`);
    expect(targetCopySql(chunk, false, false)).toBe(`COPY "My ""Schema"""."T" ("id", "Odd ""col""") FROM STDIN`);
    expect(targetCopySql({ ...chunk, columns: [] }, false, true)).toBe(`COPY "My ""Schema"""."T" FROM STDIN WITH (FREEZE)`);
  });

  it('refuses a snapshot that is not one', () => {
    expect(() => visibleInSnapshotExpr(15, `1:2:'; DROP`)).toThrow(/not a snapshot/);
  });
});

describe('parseCopyChunk rejects bad stored chunks', () => {
  const good: CopyChunk = {
    schema: 's',
    table: 't',
    id: 'p:s.t:0',
    chunkNo: 0,
    chunkCount: 1,
    oid: 1,
    columns: ['a'],
    binarySafe: false,
    range: { kind: 'all' },
    estimatedRows: 0,
    estimatedBytes: 0,
  };
  it('accepts a good one', () => expect(parseCopyChunk(good)).toEqual(good));
  it.each([
    ['a bound that is not a number', { range: { kind: 'key', column: 'id', from: '1 OR 1=1', to: null } }],
    ['a negative page', { range: { kind: 'ctid', fromPage: -1, toPage: null } }],
    ['an unknown range kind', { range: { kind: 'sample' } }],
    ['a bad snapshot', { baseSnapshot: "1:2:3'" }],
    ['an extra property', { extra: true }],
    ['an empty column name', { columns: [''] }],
    ['a missing id', { id: undefined }],
  ])('%s', (_, patch) => {
    expect(() => parseCopyChunk({ ...good, ...patch })).toThrow();
  });
});

describe('snapshot helpers', () => {
  it('compares LSNs numerically', () => {
    expect(lsnValue('1/0') > lsnValue('0/FFFFFFFF')).toBe(true);
    expect(maxLsn(['0/16B3748', '1/0', '0/FFFFFFFF'])).toBe('1/0');
    expect(maxLsn([])).toBeNull();
    expect(() => lsnValue('nope')).toThrow();
  });
  it('uses the xmin filter only while the xid counter has not wrapped', () => {
    expect(xminFilterUsable(BASE)).toBe(true);
    expect(xminFilterUsable({ ...BASE, xmax: String(2n ** 32n) })).toBe(false);
  });
});
