/**
 * Live copy progress over HTTP (issue #18, "progress that stalls"): one table big enough that its
 * single chunk streams for several seconds. While it copies, GET must show rows and bytes
 * advancing at least every 2 s (not 0 until the chunk ends, then everything), a percent of the
 * estimated size, a time estimate, and the table among the running tables.
 */
import { describe, expect, it, inject } from 'vitest';
import { http, useHost } from '../support/host';
import { migrationBody, migrationUrl, useDatabases, waitForState } from '../support/e2e';
import type { DbMigrationStatus, MigrationResource } from '../../shared/model/migration-resource';

const source = inject('source');
const target = inject('target');
const host = useHost();
const dbs = useDatabases(source, target);
const SERVER = 'progress';
const ROWS = 2_000_000;

const FIXTURE = `
  CREATE TABLE big (id bigint PRIMARY KEY, n int NOT NULL, label text NOT NULL);
  INSERT INTO big SELECT g, g % 1000, 'row ' || g FROM generate_series(1, ${ROWS}) g;
  ANALYZE big;`;

interface Sample {
  at: number;
  d: DbMigrationStatus;
}

/** How often the test polls; the gaps it measures are at most this much longer than the real ones. */
const POLL_MS = 200;

describe('copy progress', () => {
  it('advances rows and bytes every 2 s while a big table streams, with percent and a time estimate', async () => {
    const db = await dbs.create('progress', FIXTURE);
    const put = await http(migrationUrl(host, SERVER, 'live'), { method: 'PUT', body: migrationBody(source, target, [db], { mode: 'Offline', option: 'Migrate' }) });
    expect(put.status, put.text).toBeLessThan(300);

    const samples: Sample[] = [];
    let on = true;
    const polling = (async () => {
      while (on) {
        const r = await http(migrationUrl(host, SERVER, 'live')).catch(() => undefined);
        const d = r?.status === 200 ? r.json<MigrationResource>().properties.currentStatus.currentSubStateDetails.dbDetails[db] : undefined;
        if (d) samples.push({ at: Date.now(), d });
        await new Promise((res) => setTimeout(res, POLL_MS));
      }
    })();
    await waitForState(host, SERVER, 'live', 'Succeeded', undefined, 300_000).finally(async () => {
      on = false;
      await polling;
    });

    // The copy window: from the first sample showing rows until the one showing all of them.
    const first = samples.findIndex((s) => (s.d.fullLoadRowsCopied ?? 0) > 0);
    const last = samples.findIndex((s) => (s.d.fullLoadRowsCopied ?? 0) >= ROWS);
    expect(first, 'rows were seen mid-copy').toBeGreaterThanOrEqual(0);
    expect(last).toBeGreaterThan(first);
    // Starts at the last sample before any rows showed (the copy may have begun just after it).
    const window = samples.slice(Math.max(0, first - 1), last + 1);
    const copySeconds = (samples[last]!.at - window[0]!.at) / 1000;
    expect(copySeconds, 'the copy must take several seconds for this test to mean anything').toBeGreaterThan(3);

    // Rows and bytes change at least every 2 s (plus one poll interval) across the whole window.
    let changedAt = window[0]!.at;
    let maxGap = 0;
    for (let i = 1; i < window.length; i++) {
      const [a, b] = [window[i - 1]!.d, window[i]!.d];
      if (b.fullLoadRowsCopied !== a.fullLoadRowsCopied) {
        maxGap = Math.max(maxGap, window[i]!.at - changedAt);
        changedAt = window[i]!.at;
        expect(b.fullLoadRowsCopied!).toBeGreaterThan(a.fullLoadRowsCopied!);
        expect(b.fullLoadBytesCopied!).toBeGreaterThan(a.fullLoadBytesCopied!);
      }
    }
    expect(maxGap, `rows stalled for ${maxGap} ms (copy took ${copySeconds} s)`).toBeLessThanOrEqual(2_000 + POLL_MS + 300);

    // Mid-copy: a percent between 0 and 100, a time estimate, and the table among the running ones.
    const mid = window.filter((s) => (s.d.fullLoadRowsCopied ?? 0) > 0 && (s.d.fullLoadRowsCopied ?? 0) < ROWS);
    expect(mid.length).toBeGreaterThan(1);
    for (const s of mid) {
      expect(s.d.fullLoadPercent).toBeGreaterThan(0);
      expect(s.d.fullLoadPercent).toBeLessThan(100);
      expect(s.d.fullLoadEstimatedRows).toBeGreaterThan(ROWS * 0.9);
      expect(s.d.fullLoadEstimatedBytes).toBeGreaterThan(0);
      expect(s.d.fullLoadRunningTables).toEqual([
        expect.objectContaining({ schemaName: 'public', tableName: 'big', rowsCopied: s.d.fullLoadRowsCopied, percent: expect.any(Number) }),
      ]);
    }
    expect(mid.some((s) => (s.d.fullLoadSecondsRemaining ?? -1) > 0), 'a time estimate mid-copy').toBe(true);
    const percents = mid.map((s) => s.d.fullLoadPercent!);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));

    // Done: everything copied, 100 %, no estimate left, no running table.
    const end = samples.at(-1)!.d;
    expect(end.fullLoadRowsCopied).toBe(ROWS);
    expect(end.fullLoadPercent).toBe(100);
    expect(end.fullLoadSecondsRemaining).toBeUndefined();
    expect(end.fullLoadRunningTables).toEqual([]);
  }, 360_000);
});
