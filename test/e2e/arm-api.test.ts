/**
 * The API as Azure users know it (issue #19), through the real host, with the real az CLI where
 * an Azure user would use it (`az rest --skip-authorization-header`):
 *   - ARM's api-version errors; full ARM ids from the settings;
 *   - the az CLI properties files of the docs (on-premises, Azure VM, on-premises online) sent
 *     as written, the target taken from the route (PGFERRY_TARGET_HOST), the mode the CLI's
 *     default (Offline) unless the file says otherwise, cutover with the az CLI's own PATCH;
 *   - PUT as create-or-update; every updatable property applied before the data migration and
 *     refused (409, named) after it; a finished migration changes only its tags;
 *   - the waiting substates and the PATCH that releases each: WaitingForDataMigrationScheduling,
 *     WaitingForTargetDBOverwriteConfirmation (az … update --overwrite-dbs), WaitingForDataMigrationWindow;
 *   - per-database cancel and cutover that add up, with CancelingRequestedDBMigrations.
 */
import { describe, expect, inject, it } from 'vitest';
import { http, useHost, waitFor } from '../support/host';
import { expectTargetEqualsSource, getMigration, migrationBody, migrationUrl, slotsOn, useDatabases, waitForState } from '../support/e2e';
import { occupyOnTarget } from '../support/failing-database';
import { azRest, fillPropertiesFile } from '../support/az-cli';
import { API_VERSIONS } from '../../shared/model/arm';
import type { MigrationResource } from '../../shared/model/migration-resource';

const source = inject('source');
const target = inject('target');
const SUBSCRIPTION = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const RG = 'rg-pgferry-tests';
const host = useHost({
  env: {
    // The local rig's target stands for every server name of the routes, as an explicit target host does outside Azure.
    PGFERRY_TARGET_HOST: `${target.host}:${target.port}`,
    PGFERRY_TARGET_USERNAME: target.user,
    PGFERRY_SUBSCRIPTION_ID: SUBSCRIPTION,
    PGFERRY_RESOURCE_GROUP: RG,
  },
});
const dbs = useDatabases(source, target);

const FIXTURE = `
  CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, qty int);
  INSERT INTO items (name, qty) SELECT 'item ' || g, g % 10 FROM generate_series(1, 1500) g;`;

const VERSION = '2025-08-01';
const armUrl = (server: string, name: string) => `${migrationUrl(host, server, name)}?api-version=${VERSION}`;
const patch = (server: string, name: string, properties: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  http(migrationUrl(host, server, name), { method: 'PATCH', body: { properties, ...extra } });
const errorOf = (text: string) => (JSON.parse(text) as { error: { code: string; message: string } }).error;
const subState = (m: MigrationResource) => m.properties.currentStatus.currentSubStateDetails.currentSubState;

/** A body without target: the route's server is the target (PGFERRY_TARGET_HOST), its login PGFERRY_TARGET_USERNAME. */
function routeTargetBody(dbList: string[], o: Parameters<typeof migrationBody>[3] = {}): { properties: Record<string, unknown> } {
  const { targetDbServerFullyQualifiedDomainName: _fqdn, secretParameters, ...rest } = migrationBody(source, target, dbList, o).properties;
  const { targetServerUsername: _user, ...secrets } = secretParameters;
  return { properties: { ...rest, secretParameters: secrets } };
}

describe('ARM request rules', () => {
  it('answers a missing or unknown api-version with ARM\'s error, on every ARM route, and accepts every version it implements', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', migrationUrl(host, 'armsrv', 'nope')],
      ['GET', `${host.api}/flexibleServers/armsrv/migrations`],
      ['PUT', migrationUrl(host, 'armsrv', 'nope'), routeTargetBody(['x'])],
      ['PATCH', migrationUrl(host, 'armsrv', 'nope'), { properties: { cancel: 'True' } }],
      ['DELETE', migrationUrl(host, 'armsrv', 'nope')],
      ['POST', `${host.api}/flexibleServers/armsrv/checkMigrationNameAvailability`, { name: 'x', type: 'Microsoft.DBforPostgreSQL/flexibleServers/migrations' }],
    ];
    for (const [method, url, body] of routes) {
      const missing = await http(url, { method, body, apiVersion: null });
      expect(missing.status, `${method} ${url}`).toBe(400);
      expect(errorOf(missing.text)).toEqual({ code: 'MissingApiVersionParameter', message: expect.stringContaining('The api-version query parameter (?api-version=) is required') });
      const unknown = await http(url, { method, body, apiVersion: '2022-05-01-preview' });
      expect(unknown.status).toBe(400);
      expect(errorOf(unknown.text).code).toBe('InvalidApiVersionParameter');
      expect(errorOf(unknown.text).message).toContain(API_VERSIONS.join(', '));
    }
    for (const v of API_VERSIONS) expect((await http(`${host.api}/flexibleServers/armsrv/migrations`, { apiVersion: v })).status, v).toBe(200);
  });
});

describe('the az CLI properties files of the docs, as written, through az rest', () => {
  it('on-premises (Offline, the CLI default), Azure VM, and on-premises online with the az CLI\'s own cutover PATCH', async () => {
    const [onprem, vm, online] = await Promise.all([dbs.create('az_onprem', FIXTURE), dbs.create('az_vm', FIXTURE), dbs.create('az_online', FIXTURE)]);
    const values = { host: source.host, port: source.port, user: source.user, sourcePassword: source.password, targetPassword: target.password, targetUser: target.user };
    const files: Array<[string, string, string]> = [['onpremises.json', 'azonprem', onprem], ['azure-vm.json', 'azvm', vm], ['onpremises-online.json', 'azonline', online]];
    const created = await Promise.all(files.map(([file, name, db]) => azRest('put', armUrl('pgflex-target', name), fillPropertiesFile(file, { ...values, dbs: [db] }))));
    for (const r of created) expect(r.code, r.stderr).toBe(0);
    const [m1, m2, m3] = created.map((r) => r.json<MigrationResource>());
    // The target is the route's server, the mode the CLI's default where the file names none.
    expect(m1?.id).toBe(`/subscriptions/${SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pgflex-target/migrations/azonprem`);
    expect(m1?.properties).toMatchObject({
      migrationMode: 'Offline', sourceType: 'OnPremises', overwriteDbsInTarget: 'True',
      targetDbServerFullyQualifiedDomainName: `${target.host}:${target.port}`,
      targetDbServerResourceId: `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pgflex-target`,
    });
    expect(m2?.properties).toMatchObject({ migrationMode: 'Offline', sourceType: 'AzureVM' });
    expect(m3?.properties.migrationMode).toBe('Online');
    expect(JSON.stringify(created.map((r) => r.stdout))).not.toContain(source.password);

    // What the CLI's list and check-name send.
    const list = await azRest('get', `${host.api}/flexibleServers/pgflex-target/migrations?migrationListFilter=All&api-version=${VERSION}`);
    expect(list.code, list.stderr).toBe(0);
    expect(list.json<{ value: MigrationResource[] }>().value.map((m) => m.name).sort()).toEqual(['azonline', 'azonprem', 'azvm']);
    const taken = await azRest('post', `${host.api}/flexibleServers/pgflex-target/checkMigrationNameAvailability?api-version=${VERSION}`, JSON.stringify({ name: 'azvm', type: 'Microsoft.DBforPostgreSQL/flexibleServers/migrations' }));
    expect(taken.json()).toMatchObject({ nameAvailable: false, reason: 'AlreadyExists' });

    await waitForState(host, 'pgflex-target', 'azonline', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    // `az postgres flexible-server migration update --cutover` (az 2.45) sends exactly this.
    const cut = await azRest('patch', armUrl('pgflex-target', 'azonline'), JSON.stringify({ properties: { triggerCutover: 'true', DBsToTriggerCutoverMigrationOn: [online] } }));
    expect(cut.code, cut.stderr).toBe(0);
    for (const [, name, db] of files) {
      await waitForState(host, 'pgflex-target', name, 'Succeeded', 'Completed', 240_000);
      await expectTargetEqualsSource(source, target, db);
    }
    // An error reaches az as ARM's error body.
    const refused = await azRest('patch', armUrl('pgflex-target', 'azonline'), JSON.stringify({ properties: { migrateRoles: 'True' } }));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('PropertyChangeNotAllowed');
  }, 420_000);
});

describe('PUT is create-or-update; PATCH applies each updatable property or refuses it by name', () => {
  it('waits in WaitingForDataMigrationScheduling until startDataMigration, takes changes before the data migration and refuses them after', async () => {
    const db = await dbs.create('arm_sched', FIXTURE);
    const body = routeTargetBody([db], { mode: 'Offline', option: 'Migrate' });
    body.properties.startDataMigration = 'False';
    const put = await http(migrationUrl(host, 'armsched', 'later'), { method: 'PUT', body });
    expect(put.status, put.text).toBe(201);
    const created = put.json<MigrationResource>();
    expect(created.properties.targetDbServerFullyQualifiedDomainName).toBe(`${target.host}:${target.port}`);
    await waitForState(host, 'armsched', 'later', 'InProgress', 'WaitingForDataMigrationScheduling');

    // The same PUT again changes nothing; a property fixed at creation is refused, named.
    const again = await http(migrationUrl(host, 'armsched', 'later'), { method: 'PUT', body });
    expect(again.status, again.text).toBe(200);
    expect(again.json<MigrationResource>().properties.migrationId).toBe(created.properties.migrationId);
    const fixed = await http(migrationUrl(host, 'armsched', 'later'), { method: 'PUT', body: { properties: { ...body.properties, sslMode: 'Require' } } });
    expect(fixed.status).toBe(409);
    expect(errorOf(fixed.text)).toMatchObject({ code: 'PropertyChangeNotAllowed', message: expect.stringContaining('properties.sslMode is "Prefer" and cannot change to "Require"') });
    // Updatable ones apply while it waits: the mode through a PUT, tags and the roles through a PATCH.
    const online = await http(migrationUrl(host, 'armsched', 'later'), { method: 'PUT', body: { properties: { ...body.properties, migrationMode: 'Online' } } });
    expect(online.status, online.text).toBe(200);
    expect(online.json<MigrationResource>().properties.migrationMode).toBe('Online');
    const roles = await patch('armsched', 'later', { migrateRoles: 'True' }, { tags: { owner: 'dba' } });
    expect(roles.status, roles.text).toBe(200);
    expect(roles.json<MigrationResource>().tags).toEqual({ owner: 'dba' });
    expect(roles.json<MigrationResource>().properties.migrateRoles).toBe('True');
    expect((await patch('armsched', 'later', { migrateRoles: 'False' })).json<MigrationResource>().properties.migrateRoles).toBe('False');
    // A location is kept once given; a migration cannot move.
    expect((await patch('armsched', 'later', {}, { location: 'westeurope' })).json<MigrationResource>().location).toBe('westeurope');
    const moved = await patch('armsched', 'later', {}, { location: 'eastus' });
    expect(moved.status).toBe(409);
    expect(errorOf(moved.text).message).toContain('location is "westeurope" and cannot change to "eastus"');
    // Never: other databases; pgferry cannot set up the source.
    const other = await patch('armsched', 'later', { dBsToMigrate: ['otherdb'] });
    expect(other.status).toBe(409);
    expect(errorOf(other.text).message).toContain('properties.dbsToMigrate cannot change');
    const setup = await patch('armsched', 'later', { setupLogicalReplicationOnSourceDbIfNeeded: 'True' });
    expect(setup.status).toBe(400);
    expect(setup.text).toContain('cannot change the source server');
    expect(subState(await getMigration(host, 'armsched', 'later'))).toBe('WaitingForDataMigrationScheduling');

    const start = await patch('armsched', 'later', { startDataMigration: 'True' });
    expect(start.status, start.text).toBe(200);
    await waitForState(host, 'armsched', 'later', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    // The data migration started: what it waited on can no longer change.
    for (const [field, value] of [['startDataMigration', 'False'], ['migrationMode', 'Offline'], ['overwriteDbsInTarget', 'False']] as const) {
      const late = await patch('armsched', 'later', { [field]: value });
      expect(late.status, field).toBe(409);
      expect(errorOf(late.text).message).toContain(`properties.${field} cannot change`);
    }
    expect((await patch('armsched', 'later', { triggerCutover: 'True' })).status).toBe(200);
    await waitForState(host, 'armsched', 'later', 'Succeeded', 'Completed');
    await expectTargetEqualsSource(source, target, db);

    // Ended: only tags change.
    const ended = await patch('armsched', 'later', { migrateRoles: 'True' });
    expect(ended.status).toBe(409);
    expect(errorOf(ended.text).message).toContain('has ended Succeeded; only tags can change');
    const tags = await patch('armsched', 'later', {}, { tags: { owner: 'ops' } });
    expect(tags.status, tags.text).toBe(200);
    expect(tags.json<MigrationResource>().tags).toEqual({ owner: 'ops' });
    expect((await http(migrationUrl(host, 'armsched', 'later'), { method: 'PUT', body })).status).toBe(409);
    // DELETE removes an ended migration (204): the name is free again.
    expect((await http(migrationUrl(host, 'armsched', 'later'), { method: 'DELETE' })).status).toBe(204);
    expect((await http(migrationUrl(host, 'armsched', 'later'))).status).toBe(404);
  }, 300_000);
});

describe('the other waiting substates and what releases them', () => {
  it('waits in WaitingForTargetDBOverwriteConfirmation (validation warns 603101) until az … update --overwrite-dbs', async () => {
    const db = await dbs.create('arm_overwrite', FIXTURE);
    await occupyOnTarget(target, db);
    const put = await http(migrationUrl(host, 'armover', 'taken'), { method: 'PUT', body: routeTargetBody([db], { mode: 'Offline', overwrite: false }) });
    expect(put.status, put.text).toBe(201);
    const waiting = await waitForState(host, 'armover', 'taken', 'InProgress', 'WaitingForTargetDBOverwriteConfirmation');
    const details = waiting.properties.currentStatus.currentSubStateDetails;
    expect(details.dbDetails[db]?.migrationOperation).toMatch(/^Waiting for overwrite confirmation/);
    const warning = details.validationDetails?.dbLevelValidationDetails.flatMap((d) => d.summary).flatMap((i) => i.messages).find((msg) => msg.code === '603101');
    expect(warning?.state).toBe('Warning');
    // Still waiting a poll later; nothing was touched on the target.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(subState(await getMigration(host, 'armover', 'taken'))).toBe('WaitingForTargetDBOverwriteConfirmation');
    // `az postgres flexible-server migration update --overwrite-dbs` (az 2.45) sends exactly this.
    const confirm = await azRest('patch', armUrl('armover', 'taken'), '{"properties": {"overwriteDBsInTarget": "true"}}');
    expect(confirm.code, confirm.stderr).toBe(0);
    await waitForState(host, 'armover', 'taken', 'Succeeded', 'Completed');
    // Replaced: the table that was in the way is gone, the copy equals the source.
    await expectTargetEqualsSource(source, target, db);
  }, 240_000);

  it('waits in WaitingForDataMigrationWindow, and a PATCH of migrationWindowStartTimeInUtc moves the start', async () => {
    const db = await dbs.create('arm_window', FIXTURE);
    const body = routeTargetBody([db], { mode: 'Offline', option: 'Migrate' });
    body.properties.migrationWindowStartTimeInUtc = new Date(Date.now() + 3_600_000).toISOString();
    expect((await http(migrationUrl(host, 'armwin', 'moved'), { method: 'PUT', body })).status).toBe(201);
    await waitForState(host, 'armwin', 'moved', 'InProgress', 'WaitingForDataMigrationWindow');
    const soon = new Date(Date.now() + 2_000).toISOString();
    const moved = await patch('armwin', 'moved', { migrationWindowStartTimeInUtc: soon });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.json<MigrationResource>().properties.migrationWindowStartTimeInUtc).toBe(soon);
    // The wait is woken by the PATCH and set to the new start: done in well under the old hour.
    const done = await waitForState(host, 'armwin', 'moved', 'Succeeded', 'Completed', 120_000);
    expect(new Date(done.properties.currentStatus.currentSubStateDetails.dbDetails[db]?.startedOn ?? 0).getTime()).toBeGreaterThanOrEqual(new Date(soon).getTime());
  }, 180_000);
});

describe('per-database cancel and cutover', () => {
  it('cancels one database (CancelingRequestedDBMigrations), cuts over another, then the last: requests add up', async () => {
    const [a, b, c] = (await Promise.all(['arm_pa', 'arm_pb', 'arm_pc'].map((l) => dbs.create(l, FIXTURE)))) as [string, string, string];
    expect((await http(migrationUrl(host, 'armper', 'three'), { method: 'PUT', body: routeTargetBody([a, b, c], { mode: 'Online' }) })).status).toBe(201);
    await waitForState(host, 'armper', 'three', 'WaitingForUserAction', 'WaitingForCutoverTrigger', 240_000);

    const cancel = await patch('armper', 'three', { cancel: 'True', dbsToCancelMigrationOn: [c] });
    expect(cancel.status, cancel.text).toBe(200);
    const canceling = cancel.json<MigrationResource>().properties.currentStatus;
    expect([canceling.state, canceling.currentSubStateDetails.currentSubState]).toEqual(['InProgress', 'CancelingRequestedDBMigrations']);
    expect(canceling.currentSubStateDetails.dbDetails[c]?.migrationState).toBe('Canceling');
    // Once c stopped, the others are ready again.
    await waitFor(`${c} Canceled, the migration ready again`, async () => {
      const m = await getMigration(host, 'armper', 'three');
      const s = m.properties.currentStatus;
      return s.currentSubStateDetails.dbDetails[c]?.migrationState === 'Canceled' && s.state === 'WaitingForUserAction' ? m : undefined;
    }, 120_000, 300);
    expect(await slotsOn(source, c)).toEqual([]);

    expect((await patch('armper', 'three', { triggerCutover: 'True', dbsToTriggerCutoverOn: [a] })).status).toBe(200);
    const seen = new Set<string>();
    const afterA = await waitFor(`${a} Succeeded, ${b} ready`, async () => {
      const m = await getMigration(host, 'armper', 'three');
      const s = m.properties.currentStatus;
      seen.add(`${s.state}/${s.currentSubStateDetails.currentSubState}`);
      return s.currentSubStateDetails.dbDetails[a]?.migrationState === 'Succeeded' && s.state === 'WaitingForUserAction' ? m : undefined;
    }, 120_000, 100);
    // While a is cut over the migration is completing; b never left WaitingForCutoverTrigger.
    expect(seen).toContain('InProgress/CompletingMigration');
    expect(afterA.properties.currentStatus.currentSubStateDetails.dbDetails[b]?.migrationState).toBe('WaitingForCutoverTrigger');
    // Cancel again names only ended databases: nothing to cancel.
    const nothing = await patch('armper', 'three', { cancel: 'True', dbsToCancelMigrationOn: [a, c] });
    expect(nothing.status).toBe(409);
    expect(errorOf(nothing.text).message).toContain('nothing to cancel');

    expect((await patch('armper', 'three', { triggerCutover: 'True', dbsToTriggerCutoverOn: [b] })).status).toBe(200);
    const done = await waitForState(host, 'armper', 'three', 'Succeeded', 'Completed');
    const d = done.properties.currentStatus.currentSubStateDetails.dbDetails;
    expect([d[a]?.migrationState, d[b]?.migrationState, d[c]?.migrationState]).toEqual(['Succeeded', 'Succeeded', 'Canceled']);
    expect(done.properties.dbsToTriggerCutoverOn).toEqual([a, b]);
    expect(done.properties.dbsToCancelMigrationOn).toEqual([c]);
    for (const db of [a, b]) await expectTargetEqualsSource(source, target, db);
    for (const db of [a, b, c]) expect(await slotsOn(source, db)).toEqual([]);
  }, 420_000);
});
