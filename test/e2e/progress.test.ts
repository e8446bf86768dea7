/**
 * Live copy progress over HTTP (issue #18, "progress that stalls"): one table big enough that its
 * single chunk streams for several seconds. While it copies, GET must show rows and bytes
 * advancing at least every 2 s (not 0 until the chunk ends, then everything), a percent of the
 * estimated size, a time estimate, and the table among the running tables. Meanwhile `pgferry
 * watch` draws bars on a (fake) terminal and plain lines when piped, and the portal's details
 * page shows a bar for the database and one for the running table.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, inject } from 'vitest';
import { chromium, type Page } from 'playwright-core';
import { ROOT, http, useHost } from '../support/host';
import { main } from '../../cli/main';
import type { Io } from '../../cli/commands/context';
import { migrationBody, migrationUrl, useDatabases, waitForState } from '../support/e2e';
import type { DbMigrationStatus, MigrationResource } from '../../shared/model/migration-resource';

const source = inject('source');
const target = inject('target');
const host = useHost();
const dbs = useDatabases(source, target);
const SERVER = 'progress';
/** Big enough that its one chunk streams for several seconds even on an idle machine (2M narrow rows took 2.9 s). */
const ROWS = 3_000_000;

const FIXTURE = `
  CREATE TABLE big (id bigint PRIMARY KEY, n int NOT NULL, label text NOT NULL);
  INSERT INTO big SELECT g, g % 1000, md5(g::text) || ' row ' || g FROM generate_series(1, ${ROWS}) g;
  ANALYZE big;`;

interface Sample {
  at: number;
  d: DbMigrationStatus;
}

/** How often the test polls; the gaps it measures are at most this much longer than the real ones. */
const POLL_MS = 200;
const SHOTS = join(ROOT, 'test', 'artifacts', 'screenshots');

/** `pgferry watch` in process until the migration ends; what it printed. */
async function watchOutput(name: string, tty: boolean): Promise<string> {
  let screen = '';
  const io: Io = { out: (t) => { screen += `${t}\n`; }, err: (t) => { screen += `${t}\n`; }, write: (raw) => { screen += raw; }, isTTY: tty, columns: 160 };
  await main(['watch', '--server', SERVER, '--name', 'live', '--interval', '0.5'], io, { env: { PGFERRY_URL: host.url } });
  return screen;
}

/** The portal's details page of the migration, polled until it showed a bar for the running table (or the copy ended). */
async function portalBars(page: Page): Promise<{ database: string; table: string } | undefined> {
  await page.goto(`${host.url}/api/portal/#/servers/${SERVER}/migrations/live`);
  for (let i = 0; i < 600; i++) {
    const table = page.locator('#det-dbs tr.running-tables li[data-table="public.big"]');
    if ((await table.count()) > 0) {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, 'progress-details.png'), fullPage: true });
      return {
        database: (await page.locator('#det-dbs [data-col="progress"]').first().textContent()) ?? '',
        table: (await table.textContent()) ?? '',
      };
    }
    if ((await page.locator('#det-status [data-state]').first().textContent().catch(() => '')) === 'Succeeded') return undefined;
    await new Promise((res) => setTimeout(res, 100));
  }
  return undefined;
}

describe('copy progress', () => {
  it('advances rows and bytes every 2 s while a big table streams, with percent and a time estimate', async () => {
    const db = await dbs.create('progress', FIXTURE);
    const put = await http(migrationUrl(host, SERVER, 'live'), { method: 'PUT', body: migrationBody(source, target, [db], { mode: 'Offline', option: 'Migrate' }) });
    expect(put.status, put.text).toBeLessThan(300);

    const userDataDir = mkdtempSync(join(tmpdir(), 'pgferry-chromium-'));
    const browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'], viewport: { width: 1600, height: 700 }, locale: 'en-US', timezoneId: 'UTC',
    });
    const portal = portalBars(await browser.newPage()).finally(async () => {
      await browser.close();
      rmSync(userDataDir, { recursive: true, force: true });
    });
    const terminal = watchOutput('live', true);
    const piped = watchOutput('live', false);

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

    // watch on a terminal: a bar for the database and one for the running table, redrawn in place.
    const screen = await terminal;
    expect(screen).toMatch(/^ {4}\[#+-*\] \d+\.\d% of ~[\d.]+ MiB, ~\d+(s|m \d+s) left$/m);
    expect(screen).toMatch(/^ {6}\[#+-*\] \d+\.\d% public\.big: [\d,]+ of ~[\d,]+ rows, [\d.]+ (KiB|MiB)$/m);
    // Piped: plain lines, no bars or cursor movement, the percent rising.
    const lines = await piped;
    expect(lines).not.toContain(String.fromCharCode(27));
    expect(lines).not.toMatch(/\[#/);
    const printed = [...lines.matchAll(/rows [\d,]+ \((\d+\.\d)% of ~/g)].map((m) => Number(m[1]));
    expect(printed.length).toBeGreaterThan(1);
    expect(printed).toEqual([...printed].sort((a, b) => a - b));

    // The portal showed both bars while the table was copied.
    const bars = await portal;
    expect(bars, 'the details page showed the running table').toBeDefined();
    expect(bars?.database).toMatch(/^\d+\.\d% of ~[\d.]+ MiB/);
    expect(bars?.table).toMatch(/^public\.big\d+\.\d% · [\d,]+ of ~[\d,]+ rows · /);
  }, 360_000);
});
