/**
 * The service's other paths end to end over HTTP: Validate only, a failing validation, Offline,
 * cancel (during copy and during CDC), eight databases at once, two migrations on one target,
 * a taken name, the list and the name check.
 */
import { describe, expect, it, inject } from 'vitest';
import { http, useHost } from '../support/host';
import { FIXTURE_SQL, databaseExists, expectTargetEqualsSource, getMigration, migrationBody, migrationUrl, slotsOn, startWriter, useDatabases, waitForState } from '../support/e2e';
import type { MigrationResource } from '../../shared/model/migration-resource';

const source = inject('source');
const target = inject('target');
const host = useHost();
const dbs = useDatabases(source, target);
const db = (label: string, fixture = FIXTURE_SQL) => dbs.create(label, fixture);

async function put(server: string, name: string, body: unknown): Promise<number> {
  const r = await http(migrationUrl(host, server, name), { method: 'PUT', body });
  if (r.status !== 201) throw new Error(`PUT ${name}: ${r.status} ${r.text}`);
  return r.status;
}

describe('validation options', () => {
  it('Validate only reports the checks and copies nothing', async () => {
    const d = await db('e2evalidate');
    await put('flows', 'validate-only', migrationBody(source, target, [d], { option: 'Validate' }));
    const m = await waitForState(host, 'flows', 'validate-only', 'Succeeded', 'Completed');
    const v = m.properties.currentStatus.currentSubStateDetails.validationDetails;
    expect(v?.serverLevelValidationDetails.map((i) => i.type)).toEqual(['AuthenticationAndConnectivityValidation', 'SourceVersionValidation', 'ServerParametersValidation']);
    expect(v?.dbLevelValidationDetails[0]?.databaseName).toBe(d);
    expect(m.properties.currentStatus.currentSubStateDetails.dbDetails[d]).toMatchObject({ migrationState: 'Succeeded', migrationOperation: 'Validated' });
    expect(await databaseExists(target, d)).toBe(false);
    expect(await slotsOn(source, d)).toEqual([]);
  }, 120_000);

  it('ValidateAndMigrate with a failing check ends ValidationFailed with the code and fix, and copies nothing', async () => {
    const d = await db('e2evfail', `${FIXTURE_SQL} CREATE TABLE no_key (a int, b text); INSERT INTO no_key VALUES (1, 'x');`);
    await put('flows', 'validate-fails', migrationBody(source, target, [d]));
    const m = await waitForState(host, 'flows', 'validate-fails', 'ValidationFailed', 'Completed');
    const schema = m.properties.currentStatus.currentSubStateDetails.validationDetails?.dbLevelValidationDetails[0]?.summary.find((i) => i.type === 'SchemaValidation');
    expect(schema?.state).toBe('Failed');
    const msg = schema?.messages.find((x) => x.code === '603916');
    expect(msg?.message).toContain('"public"."no_key"');
    expect(msg?.fix).toContain('ALTER TABLE "public"."no_key" REPLICA IDENTITY FULL;');
    // No database is left looking busy on a finished migration.
    expect(m.properties.currentStatus.currentSubStateDetails.dbDetails[d]?.migrationState).toBe('Failed');
    expect(await databaseExists(target, d)).toBe(false);
    expect(await slotsOn(source, d)).toEqual([]);
  }, 120_000);
});

describe('Offline', () => {
  it('copies schema and data, verifies, and finishes Succeeded without waiting for cutover', async () => {
    const d = await db('e2eoffline');
    await put('flows', 'offline1', migrationBody(source, target, [d], { mode: 'Offline' }));
    const m = await waitForState(host, 'flows', 'offline1', 'Succeeded', 'Completed');
    expect(m.properties.migrationMode).toBe('Offline');
    expect(m.properties.currentStatus.currentSubStateDetails.dbDetails[d]?.fullLoadCompletedTables).toBe(5);
    await expectTargetEqualsSource(source, target, d);
    expect(await slotsOn(source, d)).toEqual([]);
  }, 120_000);

  it('eight databases in one migration all arrive', async () => {
    const eight = await Promise.all(Array.from({ length: 8 }, (_, i) => db(`e2e8_${i}`, `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, ${500 * (i + 1)}) g;`)));
    await put('flows', 'eight', migrationBody(source, target, eight, { mode: 'Offline' }));
    const m = await waitForState(host, 'flows', 'eight', 'Succeeded', 'Completed', 240_000);
    expect(Object.keys(m.properties.currentStatus.currentSubStateDetails.dbDetails).sort()).toEqual([...eight].sort());
    for (const d of eight) await expectTargetEqualsSource(source, target, d);
  }, 300_000);
});

describe('cancel', () => {
  it('cancel during CDC ends Canceled, drops the slot and leaves the target as it was', async () => {
    const d = await db('e2ecancelcdc');
    await put('flows', 'cancel-cdc', migrationBody(source, target, [d]));
    await waitForState(host, 'flows', 'cancel-cdc', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    const r = await http(migrationUrl(host, 'flows', 'cancel-cdc'), { method: 'PATCH', body: { properties: { cancel: 'True' } } });
    expect(r.status, r.text).toBe(200);
    const m = await waitForState(host, 'flows', 'cancel-cdc', 'Canceled', 'Completed');
    expect(m.properties.currentStatus.currentSubStateDetails.dbDetails[d]?.migrationState).toBe('Canceled');
    expect(await slotsOn(source, d)).toEqual([]);
    expect(await databaseExists(target, d)).toBe(true);
    const again = await http(migrationUrl(host, 'flows', 'cancel-cdc'), { method: 'PATCH', body: { properties: { cancel: 'True' } } });
    expect(again.status).toBe(409);
    expect(again.text).toContain('Canceled');
  }, 180_000);

  it('cancel (DELETE) during the copy stops it, Canceled, no slot left', async () => {
    const many = Array.from({ length: 40 }, (_, i) => `CREATE TABLE t${i} (id int PRIMARY KEY, v text); INSERT INTO t${i} SELECT g, repeat('y', 200) FROM generate_series(1, 20000) g;`).join('\n');
    const d = await db('e2ecancelcopy', many);
    await put('flows', 'cancel-copy', migrationBody(source, target, [d]));
    await waitForState(host, 'flows', 'cancel-copy', 'InProgress', 'MigratingData');
    const del = await http(migrationUrl(host, 'flows', 'cancel-copy'), { method: 'DELETE' });
    expect(del.status, del.text).toBe(200);
    const m = await waitForState(host, 'flows', 'cancel-copy', 'Canceled', 'Completed');
    const details = m.properties.currentStatus.currentSubStateDetails.dbDetails[d];
    expect(details?.migrationState).toBe('Canceled');
    expect(details?.fullLoadCompletedTables ?? 0).toBeLessThan(40);
    expect(await slotsOn(source, d)).toEqual([]);
  }, 180_000);
});

describe('names and lists', () => {
  it('two migrations run at once on one target, a PUT on a taken name updates it or is refused with 409, and the list is newest first', async () => {
    const [a, b] = [await db('e2etwo_a'), await db('e2etwo_b')];
    await put('pair', 'first', migrationBody(source, target, [a]));
    await put('pair', 'second', migrationBody(source, target, [b]));
    // ARM's PUT is create-or-update: the same body again changes nothing (200); one that would
    // make the name another migration (other databases) is refused, naming it.
    const again = await http(migrationUrl(host, 'pair', 'first'), { method: 'PUT', body: migrationBody(source, target, [a]) });
    expect(again.status, again.text).toBe(200);
    const dup = await http(migrationUrl(host, 'pair', 'first'), { method: 'PUT', body: migrationBody(source, target, [b]) });
    expect(dup.status).toBe(409);
    expect(dup.json<{ error: { message: string } }>().error.message).toContain('first');
    expect(dup.json<{ error: { message: string } }>().error.message).toContain('properties.dbsToMigrate cannot change');
    const check = await http(`${host.api}/flexibleServers/pair/checkMigrationNameAvailability`, { method: 'POST', body: { name: 'first', type: 'Microsoft.DBforPostgreSQL/flexibleServers/migrations' } });
    expect(check.json()).toMatchObject({ nameAvailable: false, reason: 'AlreadyExists' });
    const writerA = startWriter(source, a);
    await Promise.all([
      waitForState(host, 'pair', 'first', 'WaitingForUserAction', 'WaitingForCutoverTrigger'),
      waitForState(host, 'pair', 'second', 'WaitingForUserAction', 'WaitingForCutoverTrigger'),
    ]);
    await writerA.stop();
    const list = await http(`${host.api}/flexibleServers/pair/migrations?migrationListFilter=Active`);
    expect(list.json<{ value: MigrationResource[] }>().value.map((m) => m.name)).toEqual(['second', 'first']);
    for (const n of ['first', 'second']) {
      expect((await http(migrationUrl(host, 'pair', n), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } })).status).toBe(200);
    }
    await Promise.all([waitForState(host, 'pair', 'first', 'Succeeded'), waitForState(host, 'pair', 'second', 'Succeeded')]);
    await expectTargetEqualsSource(source, target, a);
    await expectTargetEqualsSource(source, target, b);
    const active = await http(`${host.api}/flexibleServers/pair/migrations`);
    expect(active.json<{ value: MigrationResource[] }>().value).toEqual([]);
    const all = await http(`${host.api}/flexibleServers/pair/migrations?migrationListFilter=All`);
    expect(all.json<{ value: MigrationResource[] }>().value.map((m) => m.name)).toEqual(['second', 'first']);
    expect((await getMigration(host, 'pair', 'first')).properties.currentStatus.state).toBe('Succeeded');
  }, 300_000);
});
