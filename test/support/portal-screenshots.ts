/**
 * The screenshots in docs/ (docs/portal.md): the wizard, the grid and the details page of a real
 * migration, taken in headless Chromium against the offline host and embedded PostgreSQL servers.
 *
 *   npm run build && npx vite-node test/support/portal-screenshots.ts
 *
 * Starts a source (logical) and a target, Azurite and the host; loads a sample database with a
 * table big enough that its copy runs for a while; creates the migration through the wizard; shots
 * the wizard's Summary, the grid, and the details page while the big table is being copied.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type Page } from 'playwright-core';
import { startCluster, type Cluster, type ServerInfo } from '../../emulator/local/cluster';
import { startAzurite, type Azurite } from '../../emulator/local/azurite';
import { startHost, type RunningHost } from '../../emulator/host';
import { projectRoot } from '../../emulator/local/root';

const DOCS = join(projectRoot(), 'docs');
const SERVER = 'pg-target-01';
const DB = 'shop';

async function sql(s: ServerInfo, db: string, text: string): Promise<void> {
  const c = new pg.Client({ host: s.host, port: s.port, user: s.user, password: s.password, database: db });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

async function until(page: Page, what: string, probe: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(100);
  }
}

async function shot(page: Page, file: string): Promise<void> {
  await page.screenshot({ path: join(DOCS, file), fullPage: true });
  console.log(`wrote docs/${file}`);
}

async function main(): Promise<void> {
  const started: Array<Cluster | Azurite> = [];
  let host: RunningHost | undefined;
  const userDataDir = mkdtempSync(join(tmpdir(), 'pgferry-shots-'));
  try {
    const [source, target, azurite] = await Promise.all([
      startCluster({ major: 17, logical: true, label: 'shotsrc' }),
      startCluster({ major: 17, label: 'shottgt' }),
      startAzurite(),
    ]);
    started.push(source, target, azurite);
    await sql(source.info, 'postgres', `CREATE DATABASE ${DB}`);
    await sql(source.info, DB, `
      CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, city text);
      CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, amount numeric(12,2), placed timestamptz NOT NULL);
      INSERT INTO customers (name, city) SELECT 'Customer ' || g, 'City ' || (g % 97) FROM generate_series(1, 50000) g;
      INSERT INTO orders SELECT g, 1 + g % 50000, (g % 10000) / 100.0, timestamptz '2025-01-01' + g * interval '1 minute' FROM generate_series(1, 4000000) g;
      ANALYZE;`);

    const key = randomBytes(24).toString('base64url');
    Object.assign(process.env, {
      AzureWebJobsStorage: azurite.info.connectionString,
      PGFERRY_SECRET_KEY: randomBytes(32).toString('base64'),
      PGFERRY_FUNCTION_KEY: key,
      PGFERRY_TABLE_PREFIX: 'Shots',
    });
    host = await startHost({ appDir: projectRoot(), port: 0, logLevel: 'warn' });

    const browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu'],
      viewport: { width: 1366, height: 768 },
      locale: 'en-US',
      timezoneId: 'UTC',
    });
    const page = await browser.newPage();
    await page.goto(`${host.url}/api/portal/`);
    await page.getByLabel('Function key').fill(key);
    await page.getByLabel('Function key').press('Tab');
    await page.getByLabel('Target server').fill(SERVER);
    await page.getByRole('button', { name: 'Open' }).click();
    await until(page, 'the grid', async () => ((await page.locator('#grid-body').textContent()) ?? '') !== '');

    // The wizard, through to its Summary.
    await page.getByRole('button', { name: '+ Create' }).click();
    await page.getByLabel('Migration name').fill('shop-online-1');
    await until(page, 'the name check', async () => ((await page.locator('#wiz-name-check').textContent()) ?? '').includes('available'));
    await page.getByRole('button', { name: 'Next : Connect to source' }).click();
    const connect = async (side: 'src' | 'tgt', s: ServerInfo) => {
      await page.locator(`#wiz-${side}-host`).fill(s.host);
      await page.locator(`#wiz-${side}-port`).fill(String(s.port));
      await page.locator(`#wiz-${side}-user`).fill(s.user);
      await page.locator(`#wiz-${side}-password`).fill(s.password);
      await page.locator(`#wiz-${side}-test`).click();
      await until(page, `${side} test`, async () => ((await page.locator(`#wiz-${side}-result`).textContent()) ?? '').includes('Connection successful'));
    };
    await connect('src', source.info);
    await page.getByRole('button', { name: 'Next : Connect to target' }).click();
    await connect('tgt', target.info);
    await page.getByRole('button', { name: 'Next : Select databases for migration' }).click();
    await until(page, 'the database list', async () => (await page.getByRole('checkbox', { name: DB, exact: true }).count()) === 1);
    await page.getByRole('checkbox', { name: DB, exact: true }).check();
    await page.getByRole('button', { name: 'Next : Summary' }).click();
    await shot(page, 'portal-wizard.png');
    await page.getByRole('button', { name: 'Start', exact: true }).click();

    // The grid with the new migration.
    const row = page.locator('#grid-body tr[data-migration="shop-online-1"]');
    await until(page, 'the grid row', async () => (await row.count()) === 1);
    await until(page, 'the copy bar in the grid', async () => (await row.locator('.grid-progress li').count()) > 0, 120_000);
    await shot(page, 'portal-grid.png');

    // The details page while the big table is copied.
    await row.getByRole('link', { name: 'shop-online-1' }).click();
    await page.getByRole('tab', { name: 'Migration' }).click();
    await until(page, 'a running table', async () => (await page.locator('#det-dbs tr.running-tables li[data-table="public.orders"]').count()) === 1);
    await page.waitForTimeout(4_000);
    await shot(page, 'portal-details.png');
    await browser.close();
  } finally {
    await host?.stop().catch(() => undefined);
    await Promise.allSettled(started.reverse().map((s) => s.stop()));
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
