/**
 * The portal points of issue #18 in headless Chromium against the real service (offline host,
 * real PostgreSQL, function keys enforced): field errors without a trailing "null", status
 * messages that leave with their view, no way past a failed or skipped Test connection, a
 * confirmation before Overwrite, messages in the form's words, a warning shown as a warning, a
 * waiting migration's way out (issue #19) and a cutover of some databases,
 * how long validation took, no retained WAL once the slot is gone, and a key field that says
 * it is required.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { http, useHost, waitFor } from '../support/host';
import { migrationBody, useDatabases } from '../support/e2e';
import { occupyOnTarget } from '../support/failing-database';
import type { MigrationResource } from '../../shared/model/migration-resource';

const source = inject('source');
const target = inject('target');
const SERVER = 'portal-issues';
const SLOW = { timeout: 60_000 };
const MIGRATION = { timeout: 180_000 };

/** Big enough (a few MB) that validation weighs the retained WAL of its slot. */
const FIXTURE = `
  CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, filler text);
  INSERT INTO items (name, filler) SELECT 'item ' || g, repeat('x', 200) FROM generate_series(1, 20000) g;`;

const host = useHost({ functionKey: randomBytes(24).toString('base64url') });
const dbs = useDatabases(source, target);
let context: BrowserContext;
let userDataDir: string;
const pageErrors: string[] = [];

async function openPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${host.url}/api/portal/`);
  return page;
}

async function signIn(page: Page): Promise<void> {
  await page.getByLabel('Function key').fill(host.functionKey ?? '');
  await page.getByLabel('Function key').press('Tab');
  await page.getByLabel('Target server').fill(SERVER);
  await page.getByRole('button', { name: 'Open' }).click();
  await expect.poll(() => page.locator('#grid-body').textContent(), SLOW).not.toBe('');
}

const url = (name: string) => `${host.api}/flexibleServers/${SERVER}/migrations/${name}`;

async function put(name: string, body: unknown): Promise<void> {
  const r = await http(url(name), { method: 'PUT', body });
  expect(r.status, r.text).toBe(201);
}

async function getMigration(name: string): Promise<MigrationResource> {
  const r = await http(url(name));
  expect(r.status, r.text).toBe(200);
  return r.json<MigrationResource>();
}

const stateOf = async (name: string) => (await getMigration(name)).properties.currentStatus;

/** Setup filled in and the source tab reached, with the source's connection typed but not tested. */
async function wizardAtSource(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: '+ Create' }).click();
  await page.getByLabel('Migration name').fill(name);
  await expect.poll(() => page.locator('#wiz-name-check').textContent(), SLOW).toContain(`${name} is available`);
  await page.getByRole('button', { name: 'Next : Connect to source' }).click();
  await page.locator('#wiz-src-host').fill(source.host);
  await page.locator('#wiz-src-port').fill(String(source.port));
  await page.locator('#wiz-src-user').fill(source.user);
  await page.locator('#wiz-src-password').fill(source.password);
}

const selectedTab = (page: Page) => page.locator('[role=tab][aria-selected=true]').textContent();

beforeAll(async () => {
  userDataDir = mkdtempSync(join(tmpdir(), 'pgferry-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1366, height: 768 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

describe('portal (issue #18)', () => {
  it('says the function key is required once the service refused a request without it', async () => {
    const page = await openPage();
    const hint = page.locator('#function-key-hint');
    expect(await hint.textContent()).not.toMatch(/optional/i);
    await page.getByLabel('Target server').fill(SERVER);
    await page.getByRole('button', { name: 'Open' }).click();
    await expect.poll(() => hint.textContent(), SLOW).toMatch(/^Required: this service enforces function keys/);
    expect(await page.locator('#function-key').getAttribute('aria-invalid')).toBe('true');
    await page.close();
  });

  it('shows field errors without "null", and the "needs attention" message leaves once the step is done', async () => {
    const page = await openPage();
    await signIn(page);
    await page.getByRole('button', { name: '+ Create' }).click();
    await page.getByRole('button', { name: 'Next : Connect to source' }).click();
    const error = page.locator('#wiz-name-error');
    await expect.poll(() => error.textContent()).toContain('Enter a migration name.');
    expect(await error.textContent()).not.toContain('null');
    expect(await page.locator('#status').textContent()).toContain('1 field needs attention');

    await page.getByLabel('Migration name').fill('attention-1');
    await page.getByRole('button', { name: 'Next : Connect to source' }).click();
    expect(await selectedTab(page)).toBe('Connect to source');
    expect(await page.locator('#status').textContent()).toBe('');
    await page.close();
  });

  it('does not go past a skipped or failed Test connection', async () => {
    const page = await openPage();
    await signIn(page);
    await wizardAtSource(page, 'tested-1');
    const next = page.getByRole('button', { name: 'Next : Connect to target' });
    const testError = page.locator('#wiz-src-test-error');

    // Skipped: the wizard stays and says why.
    await next.click();
    expect(await selectedTab(page)).toBe('Connect to source');
    expect(await testError.textContent()).toContain('Select Test connection');

    // Failed: still no way on.
    await page.locator('#wiz-src-password').fill(`${source.password}-wrong`);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => page.locator('#wiz-src-result').textContent(), SLOW).toContain('AuthenticationFailed');
    await next.click();
    expect(await selectedTab(page)).toBe('Connect to source');
    expect(await testError.textContent()).toContain('The last Test connection failed');

    // Succeeded for what is typed now: on to the target.
    await page.locator('#wiz-src-password').fill(source.password);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => page.locator('#wiz-src-result').textContent(), SLOW).toContain('Connection successful');
    expect(await testError.isHidden()).toBe(true);
    await next.click();
    expect(await selectedTab(page)).toBe('Connect to target');
    await page.close();
  });

  it('asks before Overwrite drops target databases, and names form fields, not API fields', async () => {
    const db = await dbs.create('portal_words', FIXTURE);
    const page = await openPage();
    await signIn(page);
    await wizardAtSource(page, 'words-1');
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => page.locator('#wiz-src-result').textContent(), SLOW).toContain('Connection successful');
    await page.getByRole('button', { name: 'Next : Connect to target' }).click();
    // The source again as the target: the service refuses it with a field path.
    await page.locator('#wiz-tgt-host').fill(source.host);
    await page.locator('#wiz-tgt-port').fill(String(source.port));
    await page.locator('#wiz-tgt-user').fill(source.user);
    await page.locator('#wiz-tgt-password').fill(source.password);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => page.locator('#wiz-tgt-result').textContent(), SLOW).toContain('Connection successful');
    await page.getByRole('button', { name: 'Next : Select databases for migration' }).click();
    const box = page.getByRole('checkbox', { name: db, exact: true });
    await expect.poll(() => box.count(), SLOW).toBe(1);
    await box.check();

    const overwrite = page.getByLabel('Overwrite databases that already exist on the target');
    await overwrite.click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('dropped — with all its data');
    expect(await dialog.textContent()).toContain(db);
    await dialog.getByRole('button', { name: 'Keep them' }).click();
    // The dialog's close event (and so the box's new state) is a task queued after the click.
    await expect.poll(() => dialog.count(), SLOW).toBe(0);
    expect(await overwrite.isChecked()).toBe(false);
    await overwrite.click();
    await page.getByRole('dialog').getByRole('button', { name: 'Overwrite' }).click();
    await expect.poll(() => overwrite.isChecked(), SLOW).toBe(true);
    await page.getByRole('button', { name: 'Next : Summary' }).click();
    expect(await page.locator('#wiz-overwrite-summary').textContent()).toContain('dropped, with their data');

    await page.getByRole('button', { name: 'Start', exact: true }).click();
    const errors = page.locator('#wiz-errors');
    await expect.poll(() => errors.textContent(), SLOW).toContain('points at the source server');
    const text = (await errors.textContent()) ?? '';
    expect(text).not.toMatch(/targetDbServerFullyQualifiedDomainName|properties\./);
    expect(text).toContain('“Connect to target › Fully qualified domain name or IP”');
    await page.getByRole('button', { name: 'Go to Connect to target' }).click();
    const fieldError = (await page.locator('#wiz-tgt-host-error').textContent()) ?? '';
    expect(fieldError).not.toMatch(/targetDbServerFullyQualifiedDomainName|null/);
    await page.close();
  }, 120_000);

  it('says what a waiting migration waits for, in the form\'s words, and releases it (Overwrite target databases, Start data migration); cuts over one database, then the other', async () => {
    const [db, other] = await Promise.all([dbs.create('portal_taken', FIXTURE), dbs.create('portal_next', FIXTURE)]);
    await occupyOnTarget(target, db);
    const body = migrationBody(source, target, [db, other], { overwrite: false });
    await put('taken-1', { properties: { ...body.properties, startDataMigration: 'False' } });
    const page = await openPage();
    await signIn(page);
    await page.goto(`${host.url}/api/portal/#/servers/${SERVER}/migrations/taken-1`);
    const advice = page.locator('#det-cutover-advice');
    await expect.poll(() => advice.textContent(), MIGRATION).toContain(`Waiting for overwrite confirmation: ${db} already exists on the target and is not empty`);
    // Validation's warning says it in the form's words.
    await page.getByRole('tab', { name: 'Validation' }).click();
    const checks = (await page.locator(`[id="det-db-checks-${db}"]`).textContent()) ?? '';
    expect(checks).toContain('“Overwrite databases that already exist on the target” is not selected');
    expect(checks).not.toContain('overwriteDbsInTarget');

    // The way out, behind a confirmation: overwrite, then start.
    const release = page.locator('#det-release');
    expect(await release.textContent()).toBe('Overwrite target databases');
    await release.click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('dropped, with all their data');
    await dialog.getByRole('button', { name: 'Overwrite target databases' }).click();
    await expect.poll(() => advice.textContent(), MIGRATION).toContain('Waiting to be started');
    await expect.poll(() => release.textContent(), SLOW).toBe('Start data migration');
    await release.click();
    await page.getByRole('dialog').getByRole('button', { name: 'Start data migration' }).click();

    // Ready: cut over one database now, the other later.
    const cutover = page.locator('#det-cutover');
    await expect.poll(() => cutover.isEnabled(), MIGRATION).toBe(true);
    expect(await release.isHidden()).toBe(true);
    await cutover.click();
    const cutDialog = page.getByRole('dialog');
    await cutDialog.getByLabel(other).uncheck();
    await cutDialog.getByRole('button', { name: 'Cutover' }).click();
    await expect.poll(() => page.locator(`#det-dbs tr[data-db="${db}"] [data-state]`).textContent(), MIGRATION).toBe('Succeeded');
    expect((await getMigration('taken-1')).properties.dbsToTriggerCutoverOn).toEqual([db]);
    await expect.poll(() => cutover.isEnabled(), MIGRATION).toBe(true);
    await cutover.click();
    const last = page.getByRole('dialog');
    expect(await last.getByRole('checkbox').count()).toBe(1);
    await last.getByRole('button', { name: 'Cutover' }).click();
    await expect.poll(() => page.locator('#det-status [data-state]').first().textContent(), MIGRATION).toBe('Succeeded');
    await page.close();
  }, 420_000);

  it('shows the unbounded retained WAL as a Warning and how long validation took', async () => {
    const db = await dbs.create('portal_validate', FIXTURE);
    await put('validate-1', migrationBody(source, target, [db], { option: 'Validate' }));
    await waitFor('validation done', async () => ((await stateOf('validate-1')).state === 'Succeeded' ? true : undefined), 120_000, 250);
    const page = await openPage();
    await signIn(page);
    await page.goto(`${host.url}/api/portal/#/servers/${SERVER}/migrations/validate-1`);
    const params = page.locator('#det-server-checks tr[data-check="ServerParametersValidation"]');
    await expect.poll(() => params.count(), SLOW).toBe(1);
    expect(await params.locator('td [data-state]').first().textContent()).toBe('Warning');
    const wal = params.locator('li.msg', { hasText: 'Retained WAL is not bounded' });
    expect(await wal.getAttribute('class')).toContain('warn');
    expect(await wal.textContent()).toMatch(/^Warning 603909: /);
    expect(await page.locator('#det-validation-times').textContent()).toMatch(/took (\d+(\.\d)?s)/);
    expect(await page.locator('#det-validation-times').textContent()).not.toContain('took 0s');
    await page.close();
  }, 180_000);

  it('drops a cancel message on another migration\'s page and when it no longer applies; no retained WAL once the slot is gone', async () => {
    const [db, other] = await Promise.all([dbs.create('portal_cancel', FIXTURE), dbs.create('portal_other', FIXTURE)]);
    await put('cancel-1', migrationBody(source, target, [db], { option: 'Migrate' }));
    await put('other-1', migrationBody(source, target, [other], { option: 'Validate' }));
    // Waiting for cutover: the slot holds WAL and the row says how much.
    await waitFor('retained WAL reported', async () => {
      const d = (await stateOf('cancel-1')).currentSubStateDetails.dbDetails[db];
      return d?.migrationState === 'WaitingForCutoverTrigger' && d.retainedWalBytes !== undefined ? true : undefined;
    }, 180_000, 500);

    const page = await openPage();
    await signIn(page);
    const status = page.locator('#status');
    const open = async (name: string) => {
      await page.goto(`${host.url}/api/portal/#/servers/${SERVER}/migrations/${name}`);
      await expect.poll(() => page.locator('#view-title').textContent(), SLOW).toBe(name);
    };

    // A message of one migration's page does not show on another's.
    await open('cancel-1');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => status.textContent(), SLOW).toBe('cancel-1 is WaitingForUserAction.');
    await open('other-1');
    expect(await status.textContent()).toBe('');

    // "Cancel requested" shows until the migration is Canceled, then leaves.
    await open('cancel-1');
    const cancel = page.getByRole('button', { name: 'Cancel migration' });
    await expect.poll(() => cancel.isVisible(), SLOW).toBe(true);
    await cancel.click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel migration' }).click();
    await expect.poll(() => status.textContent(), SLOW).toBe('Cancel requested for cancel-1.');
    await expect.poll(() => page.locator('#det-status [data-state]').first().textContent(), MIGRATION).toBe('Canceled');
    expect(await status.textContent()).toBe('');

    // The slot is gone: no retained WAL figure, in the page or the API.
    await page.getByRole('tab', { name: 'Migration' }).click();
    expect(await page.locator(`#det-dbs tr[data-db="${db}"] [data-col="wal"]`).textContent()).toBe('');
    expect((await stateOf('cancel-1')).currentSubStateDetails.dbDetails[db]?.retainedWalBytes).toBeUndefined();
    await page.close();
  }, 300_000);

  it('raised no script error', () => {
    expect(pageErrors).toEqual([]);
  });
});
