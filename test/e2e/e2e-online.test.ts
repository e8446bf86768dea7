/**
 * End to end over HTTP: the built app in the offline host migrates a database Online while the
 * source keeps changing, waits for cutover, cuts over (by PATCH, and by the Durable raiseEvent
 * API as `az rest` would), and the target equals the source with no slot left behind.
 */
import { describe, expect, it, inject } from 'vitest';
import { sql } from '../support/databases';
import { http, startHost, useHost } from '../support/host';
import { FIXTURE_SQL, expectTargetEqualsSource, migrationBody, migrationUrl, slotsOn, startWriter, useDatabases, waitForState } from '../support/e2e';

const source = inject('source');
const target = inject('target');
const azurite = inject('azurite');
const host = useHost();
const dbs = useDatabases(source, target);
const fixtureDb = (label: string) => dbs.create(label, FIXTURE_SQL);
/** The replication origins on the target (cluster-wide) among `names`. */
const originsNamed = async (names: string[]) => (await sql(target, 'postgres', 'SELECT roname FROM pg_replication_origin WHERE roname = ANY($1::text[]) ORDER BY roname', [names])).rows.map((r: { roname: string }) => r.roname);

describe('Online migration over HTTP', () => {
  it('copies, streams changes during the copy, waits for cutover, cuts over on PATCH, and the target equals the source', async () => {
    const db = await fixtureDb('e2eonline');
    const put = await http(migrationUrl(host, 'tgt', 'online1'), { method: 'PUT', body: migrationBody(source, target, [db]) });
    expect(put.status, put.text).toBe(201);
    expect(put.text).not.toContain(source.password);
    const writer = startWriter(source, db);

    const waiting = await waitForState(host, 'tgt', 'online1', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    expect(waiting.properties.currentStatus.currentSubStateDetails.validationDetails?.status).not.toBe('Failed');
    const details = waiting.properties.currentStatus.currentSubStateDetails.dbDetails[db];
    expect(details?.migrationState).toBe('WaitingForCutoverTrigger');
    expect(details?.fullLoadCompletedTables).toBe(5);
    expect(details?.decodingPlugin).toBe('pgoutput');

    expect(await writer.stop()).toBeGreaterThan(0);
    const patch = await http(migrationUrl(host, 'tgt', 'online1'), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } });
    expect(patch.status, patch.text).toBe(200);

    const done = await waitForState(host, 'tgt', 'online1', 'Succeeded', 'Completed');
    const final = done.properties.currentStatus.currentSubStateDetails.dbDetails[db];
    expect(final?.migrationState).toBe('Succeeded');
    // Changes written during the copy were replayed by CDC, not just copied.
    expect((final?.cdcInsertCounter ?? 0) + (final?.cdcUpdateCounter ?? 0)).toBeGreaterThan(0);
    expect(final?.appliedChanges).toBeGreaterThan(0);
    expect(done.properties.endedOn).toBeDefined();
    await expectTargetEqualsSource(source, target, db);
    expect(await slotsOn(source, db)).toEqual([]);
  }, 300_000);

  it('cuts over through the Durable raiseEvent API (az rest) at non-zero lag, and leaves no replication origin', async () => {
    const db = await fixtureDb('e2eraise');
    expect((await http(migrationUrl(host, 'tgt', 'raise1'), { method: 'PUT', body: migrationBody(source, target, [db]) })).status).toBe(201);
    await waitForState(host, 'tgt', 'raise1', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    // Replay records its position in a replication origin named like the slot (a superuser target).
    const slots = (await slotsOn(source, db)).filter((s) => !s.startsWith('publication:'));
    expect(slots).toHaveLength(1);
    expect(await originsNamed(slots)).toEqual(slots);
    // Writes right before the cutover: the drain must apply them.
    for (let i = 0; i < 20; i++) await sql(source, db, `INSERT INTO accounts (name) VALUES ('late ${i}')`);
    const raise = await http(`${host.url}/runtime/webhooks/durabletask/instances/${encodeURIComponent('pgferry:tgt:raise1')}/raiseEvent/cutover`, { method: 'POST', body: {} });
    expect(raise.status, raise.text).toBe(202);
    await waitForState(host, 'tgt', 'raise1', 'Succeeded', 'Completed');
    await expectTargetEqualsSource(source, target, db);
    const late = await sql(target, db, `SELECT count(*)::int AS n FROM accounts WHERE name LIKE 'late %'`);
    expect(late.rows[0]).toEqual({ n: 20 });
    expect(await slotsOn(source, db)).toEqual([]);
    expect(await originsNamed(slots)).toEqual([]);
  }, 300_000);

  it('a cutover raised through raiseEvent before the databases caught up is refused on the resource, never queued', async () => {
    const db = await fixtureDb('e2eearly');
    expect((await http(migrationUrl(host, 'tgt', 'early1'), { method: 'PUT', body: migrationBody(source, target, [db]) })).status).toBe(201);
    // Raised at once: validation or the copy is running, as PATCH would answer 409 now.
    const raise = await http(`${host.url}/runtime/webhooks/durabletask/instances/${encodeURIComponent('pgferry:tgt:early1')}/raiseEvent/cutover`, { method: 'POST', body: {} });
    expect(raise.status, raise.text).toBe(202);
    const waiting = await waitForState(host, 'tgt', 'early1', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    expect(waiting.properties.rejectedRequest?.message).toMatch(/^cutover raised as an event at .* was refused: cutover is possible once every database waits for it/);
    expect(waiting.properties.triggerCutover).toBe('False');
    // It stays waiting: the early event did not cut over by itself once catch-up ended.
    await new Promise((r) => setTimeout(r, 3_000));
    const still = (await http(migrationUrl(host, 'tgt', 'early1'))).json<typeof waiting>();
    expect(still.properties.currentStatus.state).toBe('WaitingForUserAction');
    expect(still.properties.currentStatus.currentSubStateDetails.dbDetails[db]?.migrationState).toBe('WaitingForCutoverTrigger');
    // The same request once it is ready is accepted.
    const again = await http(`${host.url}/runtime/webhooks/durabletask/instances/${encodeURIComponent('pgferry:tgt:early1')}/raiseEvent/cutover`, { method: 'POST', body: {} });
    expect(again.status, again.text).toBe(202);
    await waitForState(host, 'tgt', 'early1', 'Succeeded', 'Completed');
    await expectTargetEqualsSource(source, target, db);
  }, 300_000);

  it('with PGFERRY_DECODER=wal2json the slot uses wal2json (format-version 2) and the result is the same', async () => {
    const wal2jsonHost = await startHost({ storage: azurite.connectionString, env: { PGFERRY_DECODER: 'wal2json' } });
    const db = await fixtureDb('e2ew2j');
    expect((await http(migrationUrl(wal2jsonHost, 'tgt', 'w2j'), { method: 'PUT', body: migrationBody(source, target, [db]) })).status).toBe(201);
    const writer = startWriter(source, db);
    const waiting = await waitForState(wal2jsonHost, 'tgt', 'w2j', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    expect(waiting.properties.currentStatus.currentSubStateDetails.dbDetails[db]?.decodingPlugin).toBe('wal2json');
    await writer.stop();
    expect((await http(migrationUrl(wal2jsonHost, 'tgt', 'w2j'), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } })).status).toBe(200);
    await waitForState(wal2jsonHost, 'tgt', 'w2j', 'Succeeded', 'Completed');
    await expectTargetEqualsSource(source, target, db);
    expect(await slotsOn(source, db)).toEqual([]);
  }, 300_000);
});
