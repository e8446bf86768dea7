import { describe, expect, it } from 'vitest';
import { copyProgress, summarizeCopyProgress, type ChunkProgressInput } from '../../shared/copy/progress';
import type { ChunkRecord } from '../../shared/store/chunks';

const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString();
const chunk = (table: string, state: ChunkProgressInput['state'], over: Partial<ChunkProgressInput> = {}): ChunkProgressInput => ({
  schema: 'public',
  table,
  state,
  estimatedBytes: 100,
  estimatedRows: 10,
  ...over,
});

describe('copyProgress', () => {
  it('derives table states from chunk states', () => {
    const p = copyProgress([
      chunk('queued', 'queued'),
      chunk('queued', 'queued'),
      chunk('loading', 'done', { rows: 10, bytes: 120, startedAt: at(0) }),
      chunk('loading', 'queued'),
      chunk('loading2', 'loading', { startedAt: at(1) }),
      chunk('done', 'done', { rows: 10, bytes: 90, startedAt: at(0) }),
      chunk('errored', 'done', { rows: 10, bytes: 100 }),
      chunk('errored', 'errored'),
    ], new Date(at(10)));
    expect(p).toMatchObject({
      fullLoadQueuedTables: 1,
      fullLoadLoadingTables: 2,
      fullLoadCompletedTables: 1,
      fullLoadErroredTables: 1,
      fullLoadTotalTables: 5,
      rowsCopied: 30,
      bytesCopied: 310,
    });
    expect(p.tables.find((t) => t.table === 'loading')).toMatchObject({ state: 'Loading', chunks: 2, chunksDone: 1, estimatedBytes: 200 });
  });

  it('estimates the time left from the throughput so far', () => {
    const p = copyProgress([chunk('a', 'done', { bytes: 100, startedAt: at(0) }), chunk('b', 'queued'), chunk('c', 'queued'), chunk('d', 'loading')], new Date(at(20)));
    expect(p.fraction).toBe(0.25);
    expect(p.etaSeconds).toBe(60);
    expect(p.bytesPerSecond).toBe(5);
  });

  it('takes the store\'s chunk rows as they are', () => {
    const stored: ChunkRecord[] = [{ schema: 's', table: 't', chunkNo: 0, range: null, state: 'done', attempts: 1, rows: 5, bytes: 50, endLsn: '0/1' }];
    const input: readonly ChunkProgressInput[] = stored;
    expect(copyProgress(input).fullLoadCompletedTables).toBe(1);
  });

  it('has no ETA before anything finished or after everything did', () => {
    expect(copyProgress([chunk('a', 'loading', { startedAt: at(0) })], new Date(at(5))).etaSeconds).toBeNull();
    expect(copyProgress([chunk('a', 'done', { startedAt: at(0), bytes: 1 })], new Date(at(5))).etaSeconds).toBeNull();
    expect(copyProgress([]).fullLoadTotalTables).toBe(0);
  });
});

describe('copyProgress while chunks stream', () => {
  it('counts a loading chunk as far as it got, capped below done, by rows when the estimate has them', () => {
    const p = copyProgress([
      chunk('big', 'loading', { rows: 5, bytes: 40, startedAt: at(0) }),
      chunk('big', 'done', { rows: 10, bytes: 90, startedAt: at(0) }),
      chunk('never', 'loading', { rows: 50, bytes: 20, estimatedRows: 0, startedAt: at(0) }),
    ], new Date(at(10)));
    expect(p.rowsCopied).toBe(65);
    expect(p.bytesCopied).toBe(150);
    const big = p.tables.find((t) => t.table === 'big');
    expect(big).toMatchObject({ state: 'Loading', rowsCopied: 15, fraction: 0.75 });
    // estimatedRows 0 (never analysed): bytes against estimated bytes.
    expect(p.tables.find((t) => t.table === 'never')?.fraction).toBeCloseTo(0.2);
    expect(p.fraction).toBeCloseTo((50 + 100 + 20) / 300);
    expect(p.etaSeconds).toBeGreaterThan(0);
  });

  it('never calls a loading chunk done, whatever its count says', () => {
    const p = copyProgress([chunk('a', 'loading', { rows: 1_000, bytes: 10_000, startedAt: at(0) })], new Date(at(10)));
    expect(p.fraction).toBe(0.99);
    expect(summarizeCopyProgress(p)).toMatchObject({ percent: 99, estimatedRows: 10, estimatedBytes: 100, runningTables: [{ tableName: 'a', percent: 99, rowsCopied: 1_000 }] });
  });

  it('summarises a finished copy as 100 % with no time left and no running table', () => {
    const s = summarizeCopyProgress(copyProgress([chunk('a', 'done', { rows: 10, bytes: 100, startedAt: at(0) })], new Date(at(5))));
    expect(s).toMatchObject({ percent: 100, secondsRemaining: null, runningTables: [] });
  });
});
