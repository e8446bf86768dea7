/**
 * The portal in a fallback window (fallbackAfterCutover), in a real browser: after cutover the
 * details page shows Succeeded /
 * ReplicatingToSource, each database's way back (retained WAL, applied changes, conflicts — a row
 * written on the source directly is named), and the two endings; Fall back to source goes through
 * its confirmation and the page follows it to FellBackToSource, with both buttons gone.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { sql } from '../support/databases';
import { ROOT, http, useHost } from '../support/host';
import { FIXTURE_SQL, migrationBody, migrationUrl, useDatabases, waitForState } from '../support/e2e';

const source = inject('source');
const target = inject('target');
const SERVER = 'portal-fb';
const SHOTS = join(ROOT, 'test', 'artifacts', 'screenshots');
const SLOW = { timeout: 60_000 };
const MIGRATION = { timeout: 180_000 };
const host = useHost({ functionKey: randomBytes(24).toString('base64url') });
const dbs = useDatabases(source, target);
let context: BrowserContext;
let userDataDir = '';

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  userDataDir = mkdtempSync(join(tmpdir(), 'pgferry-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    viewport: { width: 1366, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

describe('portal: fallback window', () => {
  it('shows the way back and its conflicts, and falls back through the confirmation', async () => {
    const db = await dbs.create('portal_fb', FIXTURE_SQL);
    const body = migrationBody(source, target, [db]);
    const put = await http(migrationUrl(host, SERVER, 'fb-portal'), { method: 'PUT', body: { properties: { ...body.properties, fallbackAfterCutover: 'True' } } });
    expect(put.status, put.text).toBe(201);
    await waitForState(host, SERVER, 'fb-portal', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    expect((await http(migrationUrl(host, SERVER, 'fb-portal'), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } })).status).toBe(200);
    await waitForState(host, SERVER, 'fb-portal', 'Succeeded', 'ReplicatingToSource');
    await sql(source, db, `UPDATE accounts SET name = 'kept on the source' WHERE id = 3`);
    await sql(target, db, `UPDATE accounts SET name = 'target' WHERE id = 3; INSERT INTO accounts (name) VALUES ('from the target')`);

    const page = await context.newPage();
    await page.goto(`${host.url}/api/portal/#/servers/${SERVER}/migrations/fb-portal`);
    await page.getByLabel('Function key').fill(host.functionKey ?? '');
    await page.getByLabel('Function key').press('Tab');
    await page.goto(`${host.url}/api/portal/#/servers/${SERVER}/migrations/fb-portal`);
    await expect.poll(() => page.locator('#det-status').textContent(), SLOW).toContain('ReplicatingToSource');
    const row = page.locator(`#det-fallback-table tr[data-db="${db}"]`);
    await expect.poll(() => page.locator(`#det-reverse li.conflict[data-db="${db}"]`).count(), SLOW).toBe(1);
    expect(await page.locator('#det-reverse li.conflict').textContent()).toContain('update on "public"."accounts" (id=3)');
    expect(await row.getAttribute('data-state')).toBe('Replicating');
    expect(await page.locator('#det-cutover-advice').textContent()).toContain('you can still go back');
    expect(await page.locator('#det-finalize').isEnabled()).toBe(true);
    expect(await page.locator('#det-cutover').isHidden()).toBe(true);
    await shot(page, 'fallback-window');

    // The conflicting row is made to match the target's, then the page falls back.
    await sql(source, db, `UPDATE accounts SET name = 'target' WHERE id = 3`);
    await page.getByRole('button', { name: 'Fall back to source' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('stop the application’s writes to the target');
    await dialog.getByRole('button', { name: 'Fall back to source' }).click();
    await expect.poll(() => page.locator('#det-status').textContent(), MIGRATION).toContain('FellBackToSource');
    expect(await page.locator('#det-cutover-advice').textContent()).toContain('the source is ready for the application again');
    expect(await page.locator('button#det-fallback').isHidden()).toBe(true);
    expect(await page.locator('#det-finalize').isHidden()).toBe(true);
    expect(await page.locator(`#det-fallback-table tr[data-db="${db}"]`).getAttribute('data-state')).toBe('FellBack');
    await shot(page, 'fallback-done');
    const back = await sql(source, db, `SELECT count(*)::int AS n FROM accounts WHERE name = 'from the target'`);
    expect(back.rows[0]).toEqual({ n: 1 });
    await page.close();
  }, 400_000);
});

async function shot(page: import('playwright-core').Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
