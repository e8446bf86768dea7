/**
 * The offline host killed with SIGKILL mid-copy and mid-CDC, then started again on the same task
 * hub and tables: every migration resumes from Table Storage and the target still equals the
 * source — nothing lost, nothing duplicated.
 */
import { describe, expect, it, inject } from 'vitest';
import { http, startHost, waitFor } from '../support/host';
import { FIXTURE_SQL, expectTargetEqualsSource, getMigration, migrationBody, migrationUrl, slotsOn, startWriter, useDatabases, waitForState } from '../support/e2e';

const source = inject('source');
const target = inject('target');
const azurite = inject('azurite');
const dbs = useDatabases(source, target);

describe('host killed and restarted', () => {
  it('mid-copy: the copy resumes, CDC catches up, cutover succeeds and the target equals the source', async () => {
    const tables = Array.from({ length: 30 }, (_, i) =>
      `CREATE TABLE big${i} (id int PRIMARY KEY, v text); INSERT INTO big${i} SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 25000) g;`).join('\n');
    const first = await startHost({ storage: azurite.connectionString });
    const db = await dbs.create('e2ekillcopy', `${FIXTURE_SQL}\n${tables}`);
    expect((await http(migrationUrl(first, 'restart', 'copy'), { method: 'PUT', body: migrationBody(source, target, [db]) })).status).toBe(201);
    const writer = startWriter(source, db);
    await waitFor('some tables copied', async () => {
      const m = await getMigration(first, 'restart', 'copy');
      const d = m.properties.currentStatus.currentSubStateDetails.dbDetails[db];
      return (d?.fullLoadCompletedTables ?? 0) >= 1 ? true : undefined;
    }, 120_000, 100);
    const before = (await getMigration(first, 'restart', 'copy')).properties.currentStatus.currentSubStateDetails.dbDetails[db];
    expect(before?.fullLoadCompletedTables ?? 0).toBeLessThan(35);

    const second = await first.restart();
    await waitForState(second, 'restart', 'copy', 'WaitingForUserAction', 'WaitingForCutoverTrigger', 240_000);
    await writer.stop();
    expect((await http(migrationUrl(second, 'restart', 'copy'), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } })).status).toBe(200);
    await waitForState(second, 'restart', 'copy', 'Succeeded', 'Completed');
    await expectTargetEqualsSource(source, target, db);
    expect(await slotsOn(source, db)).toEqual([]);
  }, 400_000);

  it('mid-CDC: replay resumes from the target-recorded position while the source keeps writing', async () => {
    const first = await startHost({ storage: azurite.connectionString });
    const db = await dbs.create('e2ekillcdc', FIXTURE_SQL);
    expect((await http(migrationUrl(first, 'restart', 'cdc'), { method: 'PUT', body: migrationBody(source, target, [db]) })).status).toBe(201);
    await waitForState(first, 'restart', 'cdc', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    const writer = startWriter(source, db);
    await new Promise((r) => setTimeout(r, 1500));
    const second = await first.restart();
    await new Promise((r) => setTimeout(r, 1500));
    const third = await second.restart();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await writer.stop()).toBeGreaterThan(0);
    expect((await http(migrationUrl(third, 'restart', 'cdc'), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } })).status).toBe(200);
    const done = await waitForState(third, 'restart', 'cdc', 'Succeeded', 'Completed');
    expect(done.properties.currentStatus.currentSubStateDetails.dbDetails[db]?.appliedChanges).toBeGreaterThan(0);
    await expectTargetEqualsSource(source, target, db);
    expect(await slotsOn(source, db)).toEqual([]);
  }, 400_000);
});
