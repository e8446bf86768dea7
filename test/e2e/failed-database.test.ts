/**
 * One database of a two-database Online migration fails, end to end over HTTP (docs/api.md "When
 * a database fails"). Polling the resource all along: the migration never says WaitingForUserAction
 * while the failed database is Failed; its dbDetails show Failed with the error and the migration's
 * error names it at once; a cutover naming only the failed database is refused, one for all cuts
 * over the healthy database; the migration ends Failed with each database's own state, and no slot
 * of either is left on the source. Two real failures: a slot dropped while streaming (after the
 * migration was ready), and a target database that is in the way and cannot be replaced (before
 * any copy).
 */
import { describe, expect, it, inject, onTestFinished } from 'vitest';
import { sql } from '../support/databases';
import { dropSlotWhileStreaming, undroppableOnTarget } from '../support/failing-database';
import { http, useHost, waitFor, type Host } from '../support/host';
import { expectTargetEqualsSource, getMigration, migrationBody, migrationUrl, slotsOn, useDatabases, waitForState } from '../support/e2e';
import type { MigrationResource } from '../../shared/model/migration-resource';

const source = inject('source');
const target = inject('target');
const host = useHost();
const dbs = useDatabases(source, target);
const SERVER = 'faileddb';

const FIXTURE = `
  CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, qty int);
  CREATE TABLE notes (id int PRIMARY KEY, body text);
  INSERT INTO items (name, qty) SELECT 'item ' || g, g % 10 FROM generate_series(1, 2000) g;
  INSERT INTO notes SELECT g, repeat('n', g % 50) FROM generate_series(1, 300) g;`;

interface Sample {
  state: string;
  subState: string;
  error?: string | undefined;
  dbStates: Record<string, string>;
}

/** GETs the migration every 100 ms until stopped: what a user polling the grid would have seen. */
function poll(h: Host, name: string): { samples: Sample[]; stop(): Promise<Sample[]> } {
  const samples: Sample[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      // A host stopped under a failing test ends the polling, not the process.
      const r = await http(migrationUrl(h, SERVER, name)).catch(() => undefined);
      if (!r) break;
      if (r.status === 200) {
        const s = r.json<MigrationResource>().properties.currentStatus;
        samples.push({
          state: s.state, subState: s.currentSubStateDetails.currentSubState, error: s.error,
          dbStates: Object.fromEntries(Object.values(s.currentSubStateDetails.dbDetails).map((d) => [d.databaseName, d.migrationState])),
        });
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
  return { samples, stop: async () => { on = false; await loop; return samples; } };
}

const patch = (name: string, properties: Record<string, unknown>) => http(migrationUrl(host, SERVER, name), { method: 'PATCH', body: { properties } });

/** Waits until dbDetails[db] is Failed and returns that first view. */
const untilFailed = (name: string, db: string) => waitFor(`${db} Failed`, async () => {
  const m = await getMigration(host, SERVER, name);
  return m.properties.currentStatus.currentSubStateDetails.dbDetails[db]?.migrationState === 'Failed' ? m : undefined;
}, 120_000, 100);

/** Waits until every database still running waits for cutover (the migration itself stays InProgress). */
const untilHealthyWaits = (name: string, db: string) => waitFor(`${db} WaitingForCutoverTrigger`, async () => {
  const m = await getMigration(host, SERVER, name);
  return m.properties.currentStatus.currentSubStateDetails.dbDetails[db]?.migrationState === 'WaitingForCutoverTrigger' ? m : undefined;
}, 180_000, 200);

/** The checks every scenario ends with: refused, then accepted cutover; Failed with per-database states; no slot left. */
async function cutOverTheHealthyOne(name: string, good: string, bad: string, cause: RegExp): Promise<void> {
  const onlyFailed = await patch(name, { triggerCutover: 'True', dbsToTriggerCutoverOn: [bad] });
  expect(onlyFailed.status, onlyFailed.text).toBe(409);
  expect(onlyFailed.text).toContain(`nothing to cut over: ${bad} is not running`);
  // As `az … migration update --cutover` sends it: every database of dbsToMigrate; the failed one is skipped.
  const all = await patch(name, { triggerCutover: 'True', dbsToTriggerCutoverOn: [good, bad] });
  expect(all.status, all.text).toBe(200);

  const done = await waitForState(host, SERVER, name, 'Failed', 'Completed');
  const s = done.properties.currentStatus;
  expect(s.currentSubStateDetails.dbDetails[good]?.migrationState).toBe('Succeeded');
  expect(s.currentSubStateDetails.dbDetails[bad]?.migrationState).toBe('Failed');
  expect(s.currentSubStateDetails.dbDetails[bad]?.message).toMatch(cause);
  expect(s.error).toContain(`${bad}: `);
  expect(s.error).toMatch(cause);
  expect(s.error).toContain(`Succeeded: ${good}`);
  expect(done.properties.endedOn).toBeDefined();
  await expectTargetEqualsSource(source, target, good);
  expect(await slotsOn(source, good)).toEqual([]);
  expect(await slotsOn(source, bad)).toEqual([]);
}

describe('a database that fails while the others run', () => {
  it('slot dropped while streaming: shown Failed at once, never ready for cutover, the other cut over, ends Failed', async () => {
    const [good, bad] = await Promise.all([dbs.create('fd_good', FIXTURE), dbs.create('fd_bad', FIXTURE)]);
    const put = await http(migrationUrl(host, SERVER, 'slotgone'), { method: 'PUT', body: migrationBody(source, target, [good, bad]) });
    expect(put.status, put.text).toBe(201);
    await waitForState(host, SERVER, 'slotgone', 'WaitingForUserAction', 'WaitingForCutoverTrigger');

    const watcher = poll(host, 'slotgone');
    await dropSlotWhileStreaming(source, bad);
    const seen = await untilFailed('slotgone', bad);
    const s = seen.properties.currentStatus;
    // The first view that shows the failed database already says the migration is not ready.
    expect(s.state).toBe('InProgress');
    expect(s.currentSubStateDetails.currentSubState).toBe('WaitingForCutoverTrigger');
    expect(s.error).toMatch(new RegExp(`^Database ${bad} failed: .*replication slot .* does not exist`));
    expect(s.error).toContain(`the other databases (${good}) keep running`);
    expect(s.currentSubStateDetails.dbDetails[bad]?.message).toMatch(/replication slot .* does not exist/);
    expect(s.currentSubStateDetails.dbDetails[good]?.migrationState).toBe('WaitingForCutoverTrigger');

    // The healthy database keeps replicating meanwhile, and the migration stays not ready.
    await sql(source, good, `INSERT INTO items (name, qty) SELECT 'after ' || g, 1 FROM generate_series(1, 50) g; DELETE FROM notes WHERE id <= 5;`);
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await getMigration(host, SERVER, 'slotgone')).properties.currentStatus.state).toBe('InProgress');

    await cutOverTheHealthyOne('slotgone', good, bad, /replication slot .* does not exist/);
    const samples = await watcher.stop();
    const whileFailed = samples.filter((x) => x.dbStates[bad] === 'Failed');
    expect(whileFailed.length).toBeGreaterThan(10);
    expect(whileFailed.filter((x) => x.state === 'WaitingForUserAction')).toEqual([]);
    expect(whileFailed.every((x) => x.error?.includes(bad))).toBe(true);
  }, 300_000);

  it('a target database in the way that cannot be replaced (no validation): Failed before any copy, the migration never ready, the other cut over', async () => {
    const [good, bad] = await Promise.all([dbs.create('fd_good2', FIXTURE), dbs.create('fd_taken', FIXTURE)]);
    onTestFinished(await undroppableOnTarget(target, bad));
    const put = await http(migrationUrl(host, SERVER, 'taken'), { method: 'PUT', body: migrationBody(source, target, [good, bad], { option: 'Migrate', overwrite: true }) });
    expect(put.status, put.text).toBe(201);
    const watcher = poll(host, 'taken');

    const seen = await untilFailed('taken', bad);
    expect(seen.properties.currentStatus.error).toMatch(new RegExp(`^Database ${bad} failed: prepare target database failed: cannot drop a template database`));
    const waiting = await untilHealthyWaits('taken', good);
    expect([waiting.properties.currentStatus.state, waiting.properties.currentStatus.currentSubStateDetails.currentSubState]).toEqual(['InProgress', 'WaitingForCutoverTrigger']);
    // Still not ready a few watch rounds later (the stored row says the same as the resource).
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await getMigration(host, SERVER, 'taken')).properties.currentStatus.state).toBe('InProgress');

    await cutOverTheHealthyOne('taken', good, bad, /cannot drop a template database/);
    const samples = await watcher.stop();
    // From the first poll to the end, the migration never said it was ready.
    expect(samples.filter((x) => x.state === 'WaitingForUserAction')).toEqual([]);
    // The target database that was in the way is untouched.
    expect((await sql(target, bad, `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows[0]).toEqual({ n: 1 });
  }, 300_000);
});
