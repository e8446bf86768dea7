/**
 * Verification ahead of cutover, over HTTP through the host: while a database waits for cutover
 * its tables are compared (dbDetails.tablesVerifiedAhead counts them), so cutover reads again only
 * the tables changed since — and a write made directly on the target after its table was verified
 * still fails the cutover, naming the table, as a full verification at cutover would.
 */
import { describe, expect, inject, it } from 'vitest';
import { sql } from '../support/databases';
import { http, useHost, waitFor } from '../support/host';
import { FIXTURE_SQL, expectTargetEqualsSource, getMigration, migrationBody, migrationUrl, useDatabases, waitForState } from '../support/e2e';

const source = inject('source');
const target = inject('target');
const host = useHost();
const dbs = useDatabases(source, target);

const GUARDS = `SELECT c.relname AS t FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid WHERE g.tgname = 'pgferry_count_writes' ORDER BY 1`;

/** PUT an Online migration of a fresh fixture database; resolves once every table is verified ahead. */
async function readyAndVerifiedAhead(label: string, name: string): Promise<string> {
  const db = await dbs.create(label, FIXTURE_SQL);
  const put = await http(migrationUrl(host, 'tgt', name), { method: 'PUT', body: migrationBody(source, target, [db]) });
  expect(put.status, put.text).toBe(201);
  await waitForState(host, 'tgt', name, 'WaitingForUserAction', 'WaitingForCutoverTrigger');
  const details = await waitFor(`${name}: every table verified ahead`, async () => {
    const d = (await getMigration(host, 'tgt', name)).properties.currentStatus.currentSubStateDetails.dbDetails[db];
    return d && d.tablesVerifiedAhead === d.fullLoadTotalTables ? d : undefined;
  }, 120_000, 300);
  expect(details.tablesVerifiedAhead).toBe(5);
  // Every copied table is guarded, and the partitioned parent the two partitions are written through.
  expect((await sql(target, db, GUARDS)).rows.map((r: { t: string }) => r.t)).toEqual(['accounts', 'audit', 'events', 'metrics', 'metrics_a', 'metrics_b']);
  return db;
}

async function cutOver(name: string): Promise<void> {
  const patch = await http(migrationUrl(host, 'tgt', name), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } });
  expect(patch.status, patch.text).toBe(200);
}

describe('verification ahead of cutover', () => {
  it('cutover reads again only the tables changed since they were verified, and the target equals the source', async () => {
    const db = await readyAndVerifiedAhead('ahead_ok', 'ahead1');
    await sql(source, db, `INSERT INTO accounts (name, balance) SELECT 'late ' || g, g FROM generate_series(1, 50) g`);
    await cutOver('ahead1');
    const done = await waitForState(host, 'tgt', 'ahead1', 'Succeeded', 'Completed');
    const final = done.properties.currentStatus.currentSubStateDetails.dbDetails[db];
    expect(final?.migrationOperation).toBe('Completed: 5 table(s) verified (4 ahead of cutover, unchanged since)');
    await expectTargetEqualsSource(source, target, db);
    expect((await sql(target, db, GUARDS)).rows).toEqual([]);
  }, 300_000);

  it('a write made directly on the target after its table was verified ahead fails the cutover, naming the table', async () => {
    const db = await readyAndVerifiedAhead('ahead_tamper', 'ahead2');
    // Through the partitioned parent, by a session that is not pgferry's.
    await sql(target, db, `UPDATE metrics SET v = -1 WHERE id = 10`);
    await cutOver('ahead2');
    const failed = await waitForState(host, 'tgt', 'ahead2', 'Failed');
    const d = failed.properties.currentStatus.currentSubStateDetails.dbDetails[db];
    expect(d?.migrationState).toBe('Failed');
    expect(d?.message).toMatch(/^verification of \S+ found 1 table\(s\) that differ: public\.metrics_a \(source \d+ rows, target \d+\)$/);
    // A database that ends otherwise than by cutover keeps no guard on the user's tables.
    expect((await sql(target, db, GUARDS)).rows).toEqual([]);
  }, 300_000);
});
