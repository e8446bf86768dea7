/**
 * The ARM behaviour of the API as pure logic (issue #19): api-version, full ids, what step 3 of
 * the workflow waits for, which property a PATCH or PUT may change when, how a PUT on an existing
 * name becomes an update, and how a cancel in progress shows. The HTTP end of each is in
 * test/e2e/arm-api.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_VERSIONS, CURRENT_API_VERSION, apiVersionProblem, migrationResourceId, serverResourceId, withApiVersion } from '../../shared/model/arm';
import { parseMigrationRequest } from '../../shared/model/migration-request';
import { cancelingDatabases, withCanceling } from '../../shared/model/canceling';
import { gateDecision, canceledDatabases } from '../../shared/steps/gate';
import { unionOf } from '../../shared/model/requests';
import { FIELD_RULES, FIELD_PATHS, applyFields, refusal, type FieldName } from '../../shared/api/updates';
import { changesOfPut } from '../../shared/api/changes';
import { ApiError } from '../../shared/api/errors';
import { toResource } from '../../shared/api/resource';
import { newDatabaseRecord } from '../../shared/store/databases';
import type { MigrationRecord } from '../../shared/store/migrations';
import { RequestValidationError } from '../../shared/model/errors';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const SCOPE = { subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'rg-db' };

function record(o: Partial<MigrationRecord> = {}): MigrationRecord {
  return {
    server: 'pgtarget', name: 'm1', migrationId: '6f1f7a4e-0d7e-4d4e-9a8b-7f1b6f7c2a11',
    state: 'InProgress', subState: 'ValidationInProgress',
    migrationMode: 'Online', migrationOption: 'ValidateAndMigrate', sourceType: 'OnPremises', sslMode: 'Prefer',
    source: { host: '10.0.0.4', port: 5432, user: 'migrator' }, target: { host: 'pgtarget.postgres.database.azure.com', port: 5432, user: 'azureadmin' },
    sourceDbServerResourceId: '10.0.0.4:5432@migrator',
    dbsToMigrate: ['a', 'b'], overwriteDbsInTarget: false, migrateRoles: false, startDataMigration: true,
    createdAt: NOW.toISOString(), startedOn: NOW.toISOString(), instanceId: 'pgferry:pgtarget:m1',
    ...o,
  };
}

describe('api-version', () => {
  it('accepts every version pgferry implements, the 2025 ones among them', () => {
    expect(API_VERSIONS).toEqual(expect.arrayContaining(['2025-06-01-preview', '2025-08-01']));
    for (const v of API_VERSIONS) expect(apiVersionProblem(v)).toBeUndefined();
  });

  it.each([
    [null, 'MissingApiVersionParameter', 'is required for all requests'],
    ['', 'MissingApiVersionParameter', 'is required for all requests'],
    ['2022-05-01-preview', 'InvalidApiVersionParameter', "The api-version \"2022-05-01-preview\" is invalid"],
    ['2099-01-01', 'InvalidApiVersionParameter', 'is invalid'],
    ['latest', 'InvalidApiVersionParameter', 'is invalid'],
  ])('answers %j with ARM\'s %s, listing the versions', (raw, code, text) => {
    const p = apiVersionProblem(raw);
    expect(p?.code).toBe(code);
    expect(p?.message).toContain(text);
    expect(p?.message).toContain(`The supported api-versions are '${API_VERSIONS.join(', ')}'`);
  });

  it('is what pgferry\'s own clients add to ARM routes, and the portal sends the same version', () => {
    expect(withApiVersion('http://h/api/flexibleServers/s/migrations?migrationListFilter=All')).toBe(`http://h/api/flexibleServers/s/migrations?migrationListFilter=All&api-version=${CURRENT_API_VERSION}`);
    expect(withApiVersion('http://h/api/flexibleServers/s/migrations/m?api-version=2024-08-01')).toBe('http://h/api/flexibleServers/s/migrations/m?api-version=2024-08-01');
    expect(withApiVersion('http://h/api/wizard/testConnection')).toBe('http://h/api/wizard/testConnection');
    const portal = readFileSync(join(__dirname, '..', '..', 'web', 'js', 'api.js'), 'utf8');
    expect(portal).toContain(`export const API_VERSION = '${CURRENT_API_VERSION}';`);
  });
});

describe('ARM ids', () => {
  it('are full: subscription, resource group, provider, server, migration', () => {
    expect(serverResourceId(SCOPE, 'pgtarget')).toBe('/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-db/providers/Microsoft.DBforPostgreSQL/flexibleServers/pgtarget');
    expect(migrationResourceId(SCOPE, 'pgtarget', 'm1')).toBe(`${serverResourceId(SCOPE, 'pgtarget')}/migrations/m1`);
  });

  it('are what the resource answers with, beside the kept migrationInstanceResourceId and the defaulted target', () => {
    const runtime = '/subscriptions/x/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/runtime';
    const r = toResource(record({ migrationInstanceResourceId: runtime }), [newDatabaseRecord('a'), newDatabaseRecord('b')], undefined, SCOPE);
    expect(r.id).toBe(migrationResourceId(SCOPE, 'pgtarget', 'm1'));
    expect(r.properties.targetDbServerResourceId).toBe(serverResourceId(SCOPE, 'pgtarget'));
    expect(r.properties.migrationInstanceResourceId).toBe(runtime);
    expect(r.properties.targetDbServerFullyQualifiedDomainName).toBe('pgtarget.postgres.database.azure.com');
    const local = toResource(record({ target: { host: '127.0.0.1', port: 55432, user: 'u' } }), [], undefined, SCOPE);
    expect(local.properties.targetDbServerFullyQualifiedDomainName).toBe('127.0.0.1:55432');
  });
});

describe('step 3: what holds the data migration back (gateDecision)', () => {
  const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000).toISOString();

  it('opens at once with nothing to wait for, in the stored mode', () => {
    expect(gateDecision(record(), [], NOW)).toEqual({ open: true, mode: 'Online' });
    expect(gateDecision(record({ migrationMode: 'Offline', migrationWindowEndTimeInUtc: at(60) }), [], NOW)).toEqual({ open: true, mode: 'Offline', migrationWindowEndTimeInUtc: at(60) });
  });

  it('waits for overwrite confirmation while a database to migrate is occupied on the target and overwriteDbsInTarget is False', () => {
    expect(gateDecision(record(), ['b'], NOW)).toEqual({ open: false, waitingFor: 'WaitingForTargetDBOverwriteConfirmation' });
    expect(gateDecision(record({ overwriteDbsInTarget: true }), ['b'], NOW)).toEqual({ open: true, mode: 'Online' });
    // A database that was canceled is not waited for.
    expect(gateDecision(record({ cancelRequestedAt: NOW.toISOString(), dbsToCancelMigrationOn: ['b'] }), ['b'], NOW)).toEqual({ open: true, mode: 'Online' });
  });

  it('waits for scheduling while startDataMigration is False, after the overwrite confirmation (ARM\'s order)', () => {
    expect(gateDecision(record({ startDataMigration: false }), [], NOW)).toEqual({ open: false, waitingFor: 'WaitingForDataMigrationScheduling' });
    expect(gateDecision(record({ startDataMigration: false }), ['a'], NOW)).toMatchObject({ waitingFor: 'WaitingForTargetDBOverwriteConfirmation' });
  });

  it('waits for the window until its start, after scheduling; a window that opened is not waited for', () => {
    expect(gateDecision(record({ migrationWindowStartTimeInUtc: at(30), migrationWindowEndTimeInUtc: at(90) }), [], NOW))
      .toEqual({ open: false, waitingFor: 'WaitingForDataMigrationWindow', until: at(30), migrationWindowEndTimeInUtc: at(90) });
    expect(gateDecision(record({ startDataMigration: false, migrationWindowStartTimeInUtc: at(30) }), [], NOW)).toMatchObject({ waitingFor: 'WaitingForDataMigrationScheduling' });
    expect(gateDecision(record({ migrationWindowStartTimeInUtc: at(-5) }), [], NOW)).toEqual({ open: true, mode: 'Online' });
  });

  it('ends Canceled when a stored cancel covers every database, and opens for the others otherwise', () => {
    expect(gateDecision(record({ cancelRequestedAt: NOW.toISOString() }), [], NOW)).toEqual({ open: false, end: 'Canceled' });
    expect(gateDecision(record({ cancelRequestedAt: NOW.toISOString(), dbsToCancelMigrationOn: ['a', 'b'] }), [], NOW)).toEqual({ open: false, end: 'Canceled' });
    expect(canceledDatabases(record({ cancelRequestedAt: NOW.toISOString(), dbsToCancelMigrationOn: ['a'] }))).toEqual(['a']);
    expect(gateDecision(record({ cancelRequestedAt: NOW.toISOString(), dbsToCancelMigrationOn: ['a'] }), [], NOW)).toEqual({ open: true, mode: 'Online' });
  });
});

describe('what may change when (shared/api/updates.ts)', () => {
  const waiting = record({ subState: 'WaitingForDataMigrationScheduling', startDataMigration: false });
  const migrating = record({ subState: 'MigratingData' });
  const ended = record({ state: 'Succeeded', subState: 'Completed' });

  it('has one rule and one request path for every updatable property', () => {
    expect(Object.keys(FIELD_RULES).sort()).toEqual(Object.keys(FIELD_PATHS).sort());
    expect(Object.keys(FIELD_RULES).sort()).toEqual([
      'dbsToMigrate', 'migrateRoles', 'migrationMode', 'migrationWindowEndTimeInUtc', 'migrationWindowStartTimeInUtc', 'overwriteDbsInTarget',
      'sourceServerPassword', 'sourceServerUsername', 'startDataMigration', 'targetServerPassword', 'targetServerUsername',
    ]);
  });

  it('applies the data-migration settings before the data migration starts', () => {
    const next = applyFields(waiting, { startDataMigration: true, overwriteDbsInTarget: true, migrateRoles: true, migrationMode: 'Offline', migrationWindowStartTimeInUtc: '2030-01-02T00:00:00.000Z', sourceServerUsername: 'm2', targetServerUsername: 't2' });
    expect(next).toMatchObject({ startDataMigration: true, overwriteDbsInTarget: true, migrateRoles: true, migrationMode: 'Offline', migrationWindowStartTimeInUtc: '2030-01-02T00:00:00.000Z' });
    expect(next.source.user).toBe('m2');
    expect(next.target.user).toBe('t2');
    expect(applyFields(record({ migrationWindowStartTimeInUtc: '2030-01-02T00:00:00.000Z' }), { migrationWindowStartTimeInUtc: null })).not.toHaveProperty('migrationWindowStartTimeInUtc');
  });

  it.each(['startDataMigration', 'overwriteDbsInTarget', 'migrateRoles', 'migrationMode', 'migrationWindowStartTimeInUtc', 'migrationWindowEndTimeInUtc', 'sourceServerUsername', 'targetServerUsername'] as FieldName[])(
    'refuses %s once the data migration started, with a 409 naming it', (field) => {
      const value = { startDataMigration: false, overwriteDbsInTarget: true, migrateRoles: true, migrationMode: 'Offline', migrationWindowStartTimeInUtc: '2031-01-01T00:00:00.000Z', migrationWindowEndTimeInUtc: '2031-01-01T00:00:00.000Z', sourceServerUsername: 'x', targetServerUsername: 'y' }[field as string];
      let thrown: unknown;
      try {
        applyFields(migrating, { [field]: value });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ApiError);
      expect((thrown as ApiError).status).toBe(409);
      expect((thrown as ApiError).code).toBe('PropertyChangeNotAllowed');
      expect((thrown as ApiError).message).toContain(`${FIELD_PATHS[field]} cannot change`);
      expect((thrown as ApiError).message).toContain('InProgress / MigratingData');
    });

  it('accepts a value equal to the stored one at any time (a PUT sent again)', () => {
    expect(applyFields(migrating, { migrationMode: 'Online', overwriteDbsInTarget: false, dbsToMigrate: ['a', 'b'] })).toEqual(migrating);
    expect(applyFields(ended, { migrateRoles: false })).toEqual(ended);
  });

  it('refuses another dbsToMigrate always, and a Validate migration\'s data-migration settings', () => {
    expect(refusal(waiting, 'dbsToMigrate')).toContain('never waits in WaitingForDBsToMigrateSpecification');
    expect(refusal(record({ migrationOption: 'Validate' }), 'startDataMigration')).toContain('only validates');
  });

  it('rotates passwords until the migration ends; after its end only tags change', () => {
    expect(refusal(migrating, 'sourceServerPassword')).toBeUndefined();
    expect(refusal(ended, 'targetServerPassword')).toContain('has ended Succeeded; only tags can change');
    expect(refusal(ended, 'migrateRoles')).toContain('has ended Succeeded');
  });

  it('refuses a window that would end before it starts with a 400 naming the end', () => {
    expect(() => applyFields(record({ migrationWindowStartTimeInUtc: '2030-01-02T00:00:00.000Z' }), { migrationWindowEndTimeInUtc: '2030-01-01T00:00:00.000Z' })).toThrow(RequestValidationError);
  });
});

describe('PUT on an existing migration (changesOfPut)', () => {
  const target = { server: 'pgtarget', hostSuffix: '.postgres.database.azure.com' };
  const body = (o: Record<string, unknown> = {}) => ({
    properties: {
      sourceDbServerResourceId: '10.0.0.4:5432@migrator',
      secretParameters: { adminCredentials: { sourceServerPassword: 's', targetServerPassword: 't' }, targetServerUsername: 'azureadmin' },
      dbsToMigrate: ['a', 'b'], migrationMode: 'Online', ...o,
    },
  });
  const parse = (b: unknown) => {
    const p = parseMigrationRequest(b, { target });
    if (!p.ok) throw new Error(p.error.message);
    return p.value;
  };
  const stored = { source: 's', target: 't' };

  it('changes nothing when sent again as it was', () => {
    const c = changesOfPut(parse(body()), record(), stored);
    expect(applyFields(record(), c.fields)).toEqual(record());
    expect(c.action).toBeUndefined();
    expect(c).not.toHaveProperty('fields.sourceServerPassword');
  });

  it('turns updatable differences into field changes, a new password among them', () => {
    const c = changesOfPut(parse(body({ startDataMigration: 'False', secretParameters: { adminCredentials: { sourceServerPassword: 'new', targetServerPassword: 't' }, targetServerUsername: 'azureadmin' } })), record(), stored);
    expect(c.fields).toMatchObject({ startDataMigration: false, sourceServerPassword: 'new' });
    expect(c.fields).not.toHaveProperty('targetServerPassword');
  });

  it('refuses a property fixed at creation with a 409 naming it and both values', () => {
    expect(() => changesOfPut(parse(body({ sslMode: 'Require' })), record(), stored)).toThrow(/properties\.sslMode is "Prefer" and cannot change to "Require"/);
    expect(() => changesOfPut(parse(body({ sourceDbServerResourceId: '10.0.0.9:5432@migrator' })), record(), stored)).toThrow(/properties\.sourceDbServerResourceId is "10\.0\.0\.4:5432"/);
    expect(() => changesOfPut(parse(body({ targetDbServerFullyQualifiedDomainName: 'other.example.com' })), record(), stored)).toThrow(/properties\.targetDbServerFullyQualifiedDomainName/);
    try {
      changesOfPut(parse(body({ migrationOption: 'Migrate' })), record(), stored);
    } catch (e) {
      expect((e as ApiError).status).toBe(409);
    }
  });

  it('reads triggerCutover or cancel as the action', () => {
    expect(changesOfPut(parse(body({ triggerCutover: 'True', dbsToTriggerCutoverOn: ['a'] })), record(), stored).action).toEqual({ kind: 'triggerCutover', dbs: ['a'] });
    expect(changesOfPut(parse(body({ cancel: 'True' })), record(), stored).action).toEqual({ kind: 'cancel' });
  });
});

describe('per-database requests add up, and a cancel in progress shows as ARM shows it', () => {
  it('extends a stored cutover or cancel with the databases a second one names', () => {
    expect(unionOf(['a'], true, ['a', 'b', 'c'], ['c'])).toEqual(['a', 'c']);
    expect(unionOf(undefined, true, ['a', 'b'], ['b'])).toEqual(['a', 'b']);
    expect(unionOf(undefined, false, ['a', 'b', 'c'], ['b'])).toEqual(['b']);
  });

  it('shows the named databases still stopping as Canceling, and the migration CancelingRequestedDBMigrations', () => {
    const dbs = [{ databaseName: 'a', migrationState: 'WaitingForCutoverTrigger' as const }, { databaseName: 'b', migrationState: 'WaitingForCutoverTrigger' as const }];
    const m = { state: 'WaitingForUserAction' as const, subState: 'WaitingForCutoverTrigger' as const, cancelRequestedAt: NOW.toISOString(), dbsToCancelMigrationOn: ['a'] };
    expect(cancelingDatabases(m, dbs)).toEqual(['a']);
    expect(withCanceling(m, ['a'])).toEqual({ ...m, state: 'InProgress', subState: 'CancelingRequestedDBMigrations' });
    // Once they stopped, the migration shows what the others do.
    expect(cancelingDatabases(m, [{ databaseName: 'a', migrationState: 'Canceled' }, dbs[1] as (typeof dbs)[number]])).toEqual([]);
    const shown = toResource(record({ state: 'WaitingForUserAction', subState: 'WaitingForCutoverTrigger', cancelRequestedAt: NOW.toISOString(), dbsToCancelMigrationOn: ['a'] }),
      [{ ...newDatabaseRecord('a'), migrationState: 'WaitingForCutoverTrigger' }, { ...newDatabaseRecord('b'), migrationState: 'WaitingForCutoverTrigger' }], undefined, SCOPE);
    expect(shown.properties.currentStatus.state).toBe('InProgress');
    expect(shown.properties.currentStatus.currentSubStateDetails.currentSubState).toBe('CancelingRequestedDBMigrations');
    expect(shown.properties.currentStatus.currentSubStateDetails.dbDetails.a?.migrationState).toBe('Canceling');
    expect(shown.properties.currentStatus.currentSubStateDetails.dbDetails.b?.migrationState).toBe('WaitingForCutoverTrigger');
  });
});
