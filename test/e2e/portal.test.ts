/**
 * The portal page in headless Chromium against the real service (offline host, real PostgreSQL,
 * function keys enforced): the whole wizard, the grid, the details tabs, cutover to Succeeded,
 * cancel, a failed Test connection with its reason, a 400 shown next to its field — and not one
 * request leaves 127.0.0.1. Screenshots of each tab go to test/artifacts/screenshots/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject, onTestFinished } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { sql } from '../support/databases';
import { ROOT, http, useHost, waitFor } from '../support/host';
import { useDatabases } from '../support/e2e';
import { undroppableOnTarget } from '../support/failing-database';
import type { MigrationResource } from '../../shared/model/migration-resource';

const source = inject('source');
const target = inject('target');
const SERVER = 'portal-tgt';
const SHOTS = join(ROOT, 'test', 'artifacts', 'screenshots');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];
/** Waits in the browser are generous: two shared cores, a real migration behind each step. */
const SLOW = { timeout: 60_000 };
const MIGRATION = { timeout: 180_000 };

const FIXTURE = `
  CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, city text);
  CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id bigint REFERENCES customers, total numeric(12,2));
  INSERT INTO customers (name, city) SELECT 'customer ' || g, 'city ' || (g % 17) FROM generate_series(1, 2000) g;
  INSERT INTO orders (customer_id, total) SELECT 1 + g % 2000, g * 0.5 FROM generate_series(1, 6000) g;`;

const host = useHost({ functionKey: randomBytes(24).toString('base64url') });
const dbs = useDatabases(source, target);
let context: BrowserContext;
let userDataDir: string;
const requests: string[] = [];
const pageErrors: string[] = [];
/** Console errors other than the browser's own note on a 4xx answer (the 401 before the key is entered). */
const consoleErrors: string[] = [];
let mainDb = '';
let cancelDb = '';
const extraDbs: string[] = [];

async function openPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
  });
  await page.goto(`${host.url}/api/portal/`);
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** The key box, then the target server: what a user does first. */
async function signIn(page: Page): Promise<void> {
  await page.getByLabel('Function key').fill(host.functionKey ?? '');
  await page.getByLabel('Function key').press('Tab');
  await page.getByLabel('Target server').fill(SERVER);
  await page.getByRole('button', { name: 'Open' }).click();
  await expect.poll(() => page.locator('#grid-body').textContent(), SLOW).not.toBe('');
}

/** A property of the element that has keyboard focus (a string expression: tests have no DOM types). */
function focused(page: Page, prop: 'id' | 'textContent'): Promise<unknown> {
  return page.evaluate(`document.activeElement && document.activeElement.${prop}`);
}

async function getMigration(name: string): Promise<MigrationResource> {
  const r = await http(`${host.api}/flexibleServers/${SERVER}/migrations/${name}`);
  expect(r.status, r.text).toBe(200);
  return r.json<MigrationResource>();
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  [mainDb, cancelDb] = await Promise.all([dbs.create('portal_main', FIXTURE), dbs.create('portal_cancel', FIXTURE)]);
  for (let i = 0; i < 8; i++) extraDbs.push(await dbs.create(`portal_extra${i}`));
  userDataDir = mkdtempSync(join(tmpdir(), 'pgferry-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1366, height: 768 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

describe('portal page', () => {
  it('is served by the app with a same-origin-only policy, and refuses paths outside web/', async () => {
    const page = await fetch(`${host.url}/api/portal/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const redirect = await fetch(`${host.url}/api/portal`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/api/portal/');
    const js = await fetch(`${host.url}/api/portal/js/app.js`);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    for (const bad of ['../package.json', '%2e%2e/package.json', '.eslintrc', 'js/../../package.json', 'nothing.html', 'index.ts']) {
      expect((await fetch(`${host.url}/api/portal/${bad}`)).status, bad).toBe(404);
    }
    // The API itself still wants the key.
    expect((await http(`${host.api}/flexibleServers/${SERVER}/migrations`, { key: null })).status).toBe(401);
  });

  it('asks for the function key, then shows a failed Test connection with its reason and fix', async () => {
    const page = await openPage();
    await page.getByLabel('Target server').fill(SERVER);
    await page.getByRole('button', { name: 'Open' }).click();
    await expect.poll(() => page.locator('#grid-error').textContent(), SLOW).toContain('function key');
    await signIn(page);

    await page.getByRole('button', { name: '+ Create' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Create migration' }).isVisible()).toBe(true);
    // Tabs are keyboard operable: arrow keys move between them.
    await page.getByRole('tab', { name: 'Setup' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('tab', { name: 'Connect to source' }).getAttribute('aria-selected')).toBe('true');
    await expect.poll(() => focused(page, 'textContent')).toBe('Connect to source');

    await page.locator('#wiz-src-host').fill(source.host);
    await page.locator('#wiz-src-port').fill(String(source.port));
    await page.locator('#wiz-src-user').fill(source.user);
    await page.locator('#wiz-src-password').fill(`${source.password}-wrong`);
    await page.getByRole('button', { name: 'Test connection' }).click();
    const result = page.locator('#wiz-src-result');
    await expect.poll(() => result.textContent(), SLOW).toContain('AuthenticationFailed');
    expect(await result.textContent()).toContain('Password authentication failed');
    expect(await result.textContent()).toContain('Fix: Check the user name and password');
    expect(await page.locator('#status').textContent()).toContain('AuthenticationFailed');
    await shot(page, '02-source-test-failed');
    await page.close();
  }, 120_000);

  it('runs the whole wizard, lists the migration, shows its details, cuts over and reaches Succeeded', async () => {
    const page = await openPage();
    await signIn(page);
    await shot(page, '00-grid-empty');
    await page.getByRole('button', { name: '+ Create' }).click();

    // Setup
    await page.getByLabel('Migration name').fill('portal-online-1');
    await expect.poll(() => page.locator('#wiz-name-check').textContent(), SLOW).toContain('portal-online-1 is available');
    expect(await page.getByLabel('Target server name').inputValue()).toBe(SERVER);
    await page.getByLabel('Source server type').selectOption('OnPremises');
    await page.getByRole('radio', { name: 'Validate and migrate' }).check();
    await page.getByRole('radio', { name: 'Online' }).check();
    await shot(page, '01-setup');
    // Every control of every wizard tab (all are in the page, hidden or not) has a label.
    const unlabelled = await page.evaluate(`[...document.querySelectorAll('input, select, textarea')]
      .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label')).map((el) => el.id || el.outerHTML)`);
    expect(unlabelled).toEqual([]);
    await page.getByRole('button', { name: 'Next : Connect to source' }).click();

    // Connect to source
    await page.getByLabel('Server name', { exact: true }).fill(source.host);
    await page.locator('#wiz-src-port').fill(String(source.port));
    await page.getByLabel('Server admin login name').fill(source.user);
    await page.locator('#wiz-src-password').fill(source.password);
    await page.locator('#wiz-src-ssl').selectOption('Prefer');
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => page.locator('#wiz-src-result').textContent(), SLOW).toContain('Connection successful');
    expect(await page.locator('#wiz-src-result').textContent()).toContain('SSL off');
    await shot(page, '02-source');
    await page.getByRole('button', { name: 'Next : Connect to target' }).click();

    // Connect to target: first by mistake the source's own address and login — its Test
    // connection succeeds (it is a server), the service refuses it later
    await page.getByLabel('Fully qualified domain name or IP').fill(target.host);
    await page.locator('#wiz-tgt-port').fill(String(source.port));
    await page.getByLabel('Admin username').fill(source.user);
    await page.locator('#wiz-tgt-password').fill(source.password);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => page.locator('#wiz-tgt-result').textContent(), SLOW).toContain('Connection successful');
    await page.getByRole('button', { name: 'Next : Select databases for migration' }).click();

    // Select databases: listed from the source with sizes, at most 8
    const box = (db: string) => page.getByRole('checkbox', { name: db, exact: true });
    await expect.poll(() => box(mainDb).count(), SLOW).toBe(1);
    const row = page.locator('#wiz-dbs tbody tr', { has: box(mainDb) });
    expect(await row.locator('td').nth(1).textContent()).toMatch(/\d+(\.\d)? (KiB|MiB)/);
    await box(mainDb).check();
    for (const db of extraDbs.slice(0, 7)) await box(db).check();
    expect(await page.locator('#wiz-dbs-count').textContent()).toBe('8 of at most 8 selected');
    expect(await box(extraDbs[7] as string).isDisabled()).toBe(true);
    for (const db of extraDbs.slice(0, 7)) await box(db).uncheck();
    expect(await box(extraDbs[7] as string).isDisabled()).toBe(false);
    expect(await page.locator('#wiz-dbs-count').textContent()).toBe('1 of at most 8 selected');
    // Overwrite drops target databases: it asks first.
    await page.getByLabel('Overwrite databases that already exist on the target').click();
    await page.getByRole('dialog').getByRole('button', { name: 'Overwrite' }).click();
    // The box takes the answer when the dialog's close event runs: a task queued after the click.
    await expect.poll(() => page.getByLabel('Overwrite databases that already exist on the target').isChecked(), SLOW).toBe(true);
    await shot(page, '04-databases');
    await page.getByRole('button', { name: 'Next : Summary' }).click();

    // Summary → Start: the service answers 400 naming the target address; the page puts it there
    const summary = page.locator('#wiz-summary');
    expect(await summary.textContent()).toContain('portal-online-1');
    expect(await summary.textContent()).toContain(mainDb);
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => page.locator('#wiz-errors').textContent(), SLOW).toContain('“Connect to target › Fully qualified domain name or IP” points at the source server');
    await shot(page, '05-summary-400');
    await page.getByRole('button', { name: 'Go to Connect to target' }).click();
    expect(await page.locator('#wiz-tgt-host').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#wiz-tgt-host-error').textContent()).toContain('points at the source server');
    await expect.poll(() => focused(page, 'id')).toBe('wiz-tgt-host');

    // Fix it, test the target (SSL on), and start for real
    await page.locator('#wiz-tgt-port').fill(String(target.port));
    await page.getByLabel('Admin username').fill(target.user);
    await page.locator('#wiz-tgt-password').fill(target.password);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => page.locator('#wiz-tgt-result').textContent(), SLOW).toContain('Connection successful');
    expect(await page.locator('#wiz-tgt-result').textContent()).toContain('SSL on');
    await shot(page, '03-target');
    await page.getByRole('tab', { name: 'Summary' }).click();
    expect(await summary.textContent()).toContain('Connection successful');
    await shot(page, '05-summary');
    await page.getByRole('button', { name: 'Start', exact: true }).click();

    // The grid has the new migration, newest first
    await expect.poll(() => page.url(), SLOW).toMatch(new RegExp(`#/servers/${SERVER}$`));
    const gridRow = page.locator('#grid-body tr[data-migration="portal-online-1"]');
    await expect.poll(() => gridRow.count(), SLOW).toBe(1);
    const cells = await gridRow.locator('th, td').allTextContents();
    expect(cells[0]).toBe('portal-online-1');
    expect(cells[2]).toBe('Online');
    expect(cells[3]).toBe('Validate and migrate');
    expect(cells[4]).toBe(`${source.host}:${source.port}`);
    expect(cells[5]).toBe('On-premises server');
    expect(cells[6]).toContain(mainDb);
    expect(await page.locator('#migrations-grid thead th').allTextContents()).toEqual(['Name', 'Status', 'Migration mode', 'Migration type', 'Source server', 'Source server type', 'Databases', 'Duration', 'Start time']);
    await shot(page, '06-grid');

    // Details: wait for cutover to be offered
    await gridRow.getByRole('link', { name: 'portal-online-1' }).click();
    const cutover = page.locator('#det-cutover');
    await expect.poll(() => cutover.isEnabled(), MIGRATION).toBe(true);
    expect(await page.locator('#det-status [data-state]').first().textContent()).toBe('WaitingForUserAction');
    expect(await page.locator('#det-status').textContent()).toContain('WaitingForCutoverTrigger');
    expect(await page.locator('#det-cutover-advice').textContent()).toContain('stop writes to the source');
    await page.getByRole('tab', { name: 'Migration' }).click();
    const dbRow = page.locator(`#det-dbs tr[data-db="${mainDb}"]`);
    expect(await dbRow.locator('[data-state]').textContent()).toBe('WaitingForCutoverTrigger');
    expect(await dbRow.locator('[data-col="completed"]').textContent()).toBe('2');
    expect(await dbRow.locator('[data-col="rows"]').textContent()).toBe((8000).toLocaleString('en-US'));
    expect(await dbRow.locator('[data-col="latency"]').textContent()).toMatch(/^\d+(\.\d+)?$/);
    expect(await page.locator('#det-dbs thead').textContent()).toContain('Latency (minutes)');
    await shot(page, '08-details-migration');
    await page.getByRole('tab', { name: 'Validation' }).click();
    const checks = page.locator('#det-server-checks');
    expect(await checks.textContent()).toContain('AuthenticationAndConnectivityValidation');
    expect(await page.locator(`[id="det-db-checks-${mainDb}"]`).textContent()).toContain('SchemaValidation');
    await shot(page, '07-details-validation');

    // Writes stopped (none running); cut over through the confirmation dialog
    await cutover.click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('stop writes to the source');
    expect(await dialog.textContent()).toContain('Latency (minutes)');
    await shot(page, '09-cutover-dialog');
    await dialog.getByRole('button', { name: 'Cutover' }).click();
    await expect.poll(() => page.locator('#det-status [data-state]').first().textContent(), MIGRATION).toBe('Succeeded');
    await page.getByRole('tab', { name: 'Migration' }).click();
    expect(await dbRow.locator('[data-state]').textContent()).toBe('Succeeded');
    expect(await page.locator('#det-cutover').isHidden()).toBe(true);
    expect(await page.locator('#det-cutover-advice').textContent()).toContain('point your applications');
    expect(await page.locator('#det-cancel').isHidden()).toBe(true);
    await shot(page, '10-succeeded');
    expect((await getMigration('portal-online-1')).properties.currentStatus.state).toBe('Succeeded');
    const count = async (server: typeof source) => (await sql(server, mainDb, 'SELECT count(*)::int AS n FROM orders')).rows[0];
    expect(await count(target)).toEqual(await count(source));

    // Back in the grid (auto-refreshed), the migration shows Succeeded
    await page.locator('#det-back').click();
    await expect.poll(() => gridRow.locator('[data-state]').textContent(), SLOW).toBe('Succeeded');
    await page.close();
  }, 240_000);

  it('cancels another migration after a confirmation', async () => {
    const put = await http(`${host.api}/flexibleServers/${SERVER}/migrations/portal-cancel-1`, {
      method: 'PUT',
      body: {
        properties: {
          sourceDbServerResourceId: `${source.host}:${source.port}@${source.user}`,
          targetDbServerFullyQualifiedDomainName: `${target.host}:${target.port}`,
          secretParameters: { adminCredentials: { sourceServerPassword: source.password, targetServerPassword: target.password }, targetServerUsername: target.user },
          dbsToMigrate: [cancelDb],
          overwriteDbsInTarget: 'True',
          migrationMode: 'Online',
          migrationOption: 'Migrate',
          sslMode: 'Prefer',
        },
      },
    });
    expect(put.status, put.text).toBe(201);
    const page = await openPage();
    await signIn(page);
    await page.locator('#grid-body').getByRole('link', { name: 'portal-cancel-1' }).click();
    const cancel = page.getByRole('button', { name: 'Cancel migration' });
    await expect.poll(() => cancel.isVisible(), SLOW).toBe(true);
    await cancel.click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('does not drop or roll back anything on the target');
    // The safe choice has focus: Escape / "Keep running" leaves the migration alone.
    await expect.poll(() => focused(page, 'textContent')).toBe('Keep running');
    await dialog.getByRole('button', { name: 'Keep running' }).click();
    expect((await getMigration('portal-cancel-1')).properties.cancel).toBe('False');
    await cancel.click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel migration' }).click();
    await expect.poll(() => page.locator('#det-status [data-state]').first().textContent(), MIGRATION).toBe('Canceled');
    await expect.poll(() => cancel.isHidden(), SLOW).toBe(true);
    await shot(page, '11-canceled');
    await waitFor('Canceled in the API', async () => ((await getMigration('portal-cancel-1')).properties.currentStatus.state === 'Canceled' ? true : undefined));
    await page.close();
  }, 240_000);

  it('shows a failed database in the grid and the details at once, never "ready", and cuts over the healthy one', async () => {
    // A real failure: the second database is in the way on the target and cannot be replaced, and nothing validates first.
    const [good, bad] = await Promise.all([dbs.create('portal_good', FIXTURE), dbs.create('portal_taken', FIXTURE)]);
    onTestFinished(await undroppableOnTarget(target, bad));
    const put = await http(`${host.api}/flexibleServers/${SERVER}/migrations/portal-failed-1`, {
      method: 'PUT',
      body: {
        properties: {
          sourceDbServerResourceId: `${source.host}:${source.port}@${source.user}`,
          targetDbServerFullyQualifiedDomainName: `${target.host}:${target.port}`,
          secretParameters: { adminCredentials: { sourceServerPassword: source.password, targetServerPassword: target.password }, targetServerUsername: target.user },
          dbsToMigrate: [good, bad],
          overwriteDbsInTarget: 'True',
          migrationMode: 'Online',
          migrationOption: 'Migrate',
          sslMode: 'Prefer',
        },
      },
    });
    expect(put.status, put.text).toBe(201);
    const page = await openPage();
    await signIn(page);

    // The grid row says which database failed, beside a state that is not "ready".
    const row = page.locator('#grid-body tr[data-migration="portal-failed-1"]');
    await expect.poll(() => row.locator('.failed-dbs').textContent().catch(() => ''), SLOW).toBe(`1 database failed: ${bad}`);
    expect(await row.locator('[data-state]').first().textContent()).toBe('InProgress');
    await shot(page, '12-grid-failed-database');

    await row.getByRole('link', { name: 'portal-failed-1' }).click();
    const error = page.locator('#det-error');
    await expect.poll(() => error.textContent(), SLOW).toContain(`Database ${bad} failed: prepare target database failed: cannot drop a template database`);
    expect(await error.isVisible()).toBe(true);
    expect(await page.locator(`#det-dbs tr[data-db="${bad}"] [data-state]`).textContent()).toBe('Failed');
    expect(await page.locator('#det-dbs tr.db-message').textContent()).toContain(`${bad}: prepare target database failed: cannot drop a template database`);
    expect(await page.locator('#det-cutover-advice').textContent()).toContain(`Database ${bad} failed`);

    // Once the healthy database waits, Cutover is offered for it; the migration still is not "ready".
    const cutover = page.locator('#det-cutover');
    await expect.poll(() => cutover.isEnabled(), MIGRATION).toBe(true);
    expect(await page.locator('#det-status [data-state]').first().textContent()).toBe('InProgress');
    expect(await page.locator('#det-cutover-advice').textContent()).toContain('You can still cut over the other databases');
    await shot(page, '13-details-failed-database');
    await cutover.click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain(`Failed, not cut over: ${bad}.`);
    expect(await dialog.textContent()).toContain(`${good}: Latency (minutes)`);
    await dialog.getByRole('button', { name: 'Cutover' }).click();

    await expect.poll(() => page.locator('#det-status [data-state]').first().textContent(), MIGRATION).toBe('Failed');
    await expect.poll(() => page.locator(`#det-dbs tr[data-db="${good}"] [data-state]`).textContent(), SLOW).toBe('Succeeded');
    const final = (await getMigration('portal-failed-1')).properties.currentStatus;
    expect(final.currentSubStateDetails.dbDetails[good]?.migrationState).toBe('Succeeded');
    expect(final.currentSubStateDetails.dbDetails[bad]?.migrationState).toBe('Failed');
    expect(final.error).toContain(`Succeeded: ${good}`);
    await page.close();
  }, 240_000);

  it('made no request beyond 127.0.0.1 and raised no script error or CSP violation', () => {
    expect(requests.length).toBeGreaterThan(10);
    const outside = requests.filter((u) => {
      const url = new URL(u);
      return url.protocol !== 'data:' && url.hostname !== '127.0.0.1';
    });
    expect(outside).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
