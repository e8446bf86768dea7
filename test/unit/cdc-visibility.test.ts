/** Replay semantics relative to the copy: snapshots, 32→64-bit xids, LSN order, slot names. */
import { describe, expect, it } from 'vitest';
import { compareLsn, drainedTo, formatLsn, maxLsn, normalizeLsn, parseLsn } from '../../shared/cdc/lsn';
import { slotNameFor } from '../../shared/cdc/slot';
import { ReplayPlanner, isVisible, parseSnapshot, tableKey, widenXid, type CopySnapshotMap } from '../../shared/cdc/apply/visibility';

describe('LSNs', () => {
  it.each([
    ['0/0', 0n],
    ['0/16B3748', 0x16b3748n],
    ['1/0', 1n << 32n],
    ['FFFFFFFF/FFFFFFFF', (1n << 64n) - 1n],
  ])('%s ↔ %s', (text, value) => {
    expect(parseLsn(text)).toBe(value);
    expect(formatLsn(value)).toBe(text);
  });
  it('orders numerically, not as text', () => {
    expect(compareLsn('0/9', '0/10')).toBe(-1);
    expect(compareLsn('1/0', '0/FFFFFFFF')).toBe(1);
    expect(compareLsn('0/a', '0/A')).toBe(0);
    expect(maxLsn('0/9', '0/10')).toBe('0/10');
    expect(normalizeLsn('00/0a')).toBe('0/A');
  });
  it.each(['', '0', '0/', 'x/1', '123456789/0'])('rejects %j', (bad) => {
    expect(() => parseLsn(bad)).toThrow(RangeError);
  });
  it('a drain to the end position is done only by a caught-up batch that began once the source flushed past it', () => {
    expect(drainedTo('0/100', '0/100', true)).toBe(true);
    expect(drainedTo('0/100', '1/0', true)).toBe(true);
    expect(drainedTo('0/100', '0/FF', true)).toBe(false); // commits before the end may not be decodable yet
    expect(drainedTo('0/100', '1/0', false)).toBe(false); // more was waiting
  });
});

describe('snapshots and xids', () => {
  it('parses pg_current_snapshot() text', () => {
    expect(parseSnapshot('10:20:12,15')).toEqual({ xmin: 10n, xmax: 20n, xip: new Set([12n, 15n]) });
    expect(parseSnapshot('7:7:')).toEqual({ xmin: 7n, xmax: 7n, xip: new Set() });
    expect(() => parseSnapshot('7-7')).toThrow(RangeError);
  });
  it('widens a 32-bit xid to the epoch of the snapshot, across wraparound', () => {
    const epoch5 = 5n << 32n;
    expect(widenXid(100, epoch5 + 200n)).toBe(epoch5 + 100n);
    // Just before the wrap the reference is high; a small xid belongs to the next epoch.
    expect(widenXid(3, epoch5 + 0xfffffff0n)).toBe((6n << 32n) + 3n);
    // Just after the wrap, a large xid belongs to the previous epoch.
    expect(widenXid(0xfffffff0, (6n << 32n) + 5n)).toBe(epoch5 + 0xfffffff0n);
    expect(widenXid('4294967295', 4294967296n + 10n)).toBe(4294967295n);
  });
  it('decides visibility: committed before xmin, not in progress below xmax, never at or past xmax', () => {
    const s = parseSnapshot(`${(2n << 32n) + 100n}:${(2n << 32n) + 110n}:${(2n << 32n) + 105n}`);
    expect(isVisible(s, 99)).toBe(true);
    expect(isVisible(s, 104)).toBe(true);
    expect(isVisible(s, 105)).toBe(false);
    expect(isVisible(s, 110)).toBe(false);
    expect(isVisible(s, 4000000000)).toBe(true); // previous epoch: long committed
  });
});

describe('replay planner', () => {
  const copy: CopySnapshotMap = {
    [tableKey('public', 'single')]: { snapshots: ['100:110:105'], endLsn: '0/500', singleChunk: true, hasKey: false },
    [tableKey('public', 'multi')]: { snapshots: ['100:110:105', '120:130:'], endLsn: '0/900', singleChunk: false, hasKey: true },
  };
  const p = new ReplayPlanner(copy);
  it('takes the highest chunk end LSN as the consistency point', () => {
    expect(p.consistencyLsn).toBe('0/900');
    expect(p.isPastConsistency('0/900')).toBe(false);
    expect(p.isPastConsistency('0/901')).toBe(true);
  });
  it('single-chunk tables: visible → skip, otherwise exact, whatever the LSN', () => {
    expect(p.modeFor('public', 'single', '99', '0/100')).toBe('skip');
    expect(p.modeFor('public', 'single', '105', '0/100')).toBe('exact');
    expect(p.modeFor('public', 'single', '111', '0/100')).toBe('exact');
  });
  it('multi-chunk tables: visible in all → skip, in some → idempotent, none → idempotent until the consistency point', () => {
    expect(p.modeFor('public', 'multi', '99', '0/100')).toBe('skip');
    expect(p.modeFor('public', 'multi', '115', '0/950')).toBe('idempotent'); // visible in chunk 2 only
    expect(p.modeFor('public', 'multi', '140', '0/800')).toBe('idempotent');
    expect(p.modeFor('public', 'multi', '140', '0/901')).toBe('exact');
  });
  it('tables whose names differ only by where the dot falls keep their own rules', () => {
    const dotted = new ReplayPlanner({
      [tableKey('a.b', 'c')]: { snapshots: ['100:110:'], endLsn: '0/500', singleChunk: true, hasKey: true },
      [tableKey('a', 'b.c')]: { snapshots: ['100:110:105', '120:130:'], endLsn: '0/900', singleChunk: false, hasKey: true },
    });
    expect(dotted.modeFor('a.b', 'c', '105', '0/100')).toBe('skip');
    expect(dotted.modeFor('a', 'b.c', '105', '0/100')).toBe('idempotent');
    expect(tableKey('a.b', 'c')).not.toBe(tableKey('a', 'b.c'));
  });
  it('tables the copy does not know are exact', () => {
    expect(p.modeFor('public', 'later', '1', '0/1')).toBe('exact');
    expect(new ReplayPlanner().isPastConsistency('0/1')).toBe(true);
  });
});

describe('slot names', () => {
  it('are lower-case [a-z0-9_], at most 63 bytes, prefixed, and hashed for uniqueness', () => {
    const n = slotNameFor('Mig-1', 'Sales DB');
    expect(n).toMatch(/^pgferry_mig_1_sales_db_[0-9a-f]{8}$/);
    const long = slotNameFor('m'.repeat(80), 'Bäckerei-Ω'.repeat(10));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9_]+$/);
  });
  it('differ whenever the pair differs, even when the readable parts collide', () => {
    expect(slotNameFor('x_y', 'z')).not.toBe(slotNameFor('x', 'y_z'));
    expect(slotNameFor('a-b', 'db')).not.toBe(slotNameFor('a_b', 'db'));
    expect(slotNameFor('M', 'db')).not.toBe(slotNameFor('m', 'db'));
    expect(slotNameFor('m', 'db')).toBe(slotNameFor('m', 'db'));
  });
});
