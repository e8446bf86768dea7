import { describe, it, expect } from 'vitest';
import { parseMigrationPatch, checkPatchAgainst, actionDatabases, toErrorBody, type MigrationPatch } from '../../shared/model';

function patchOf(body: unknown, settings = {}): MigrationPatch {
  const parsed = parseMigrationPatch(body, settings);
  if (!parsed.ok) throw new Error(`expected success, got ${parsed.error.message}`);
  return parsed.value;
}

const EXISTING = ['ticketdb', 'timedb', 'inventorydb'];

describe('migration PATCH: valid bodies', () => {
  it('reads the az CLI cutover PATCH', () => {
    const patch = patchOf({ properties: { triggerCutover: 'True', dbsToTriggerCutoverOn: EXISTING } });
    expect(patch).toEqual({ action: 'triggerCutover', properties: { triggerCutover: true, dbsToTriggerCutoverOn: EXISTING } });
    expect(checkPatchAgainst(EXISTING, patch, 'Online')).toEqual([]);
  });

  it('reads a cancel of one database with legacy key case', () => {
    const patch = patchOf({ Properties: { Cancel: true, DbsToCancelMigrationOn: ['timedb'] } });
    expect(patch.action).toBe('cancel');
    expect(actionDatabases(EXISTING, patch)).toEqual(['timedb']);
  });

  it('applies an action without a list to every database', () => {
    expect(actionDatabases(EXISTING, patchOf({ properties: { triggerCutover: 'true' } }))).toEqual(EXISTING);
  });

  it('refuses the setup-replication PATCH (az … update --setup-replication): pgferry cannot reconfigure the source', () => {
    const parsed = parseMigrationPatch({ properties: { setupLogicalReplicationOnSourceDBIfNeeded: 'true' } });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.details).toEqual([expect.objectContaining({ field: 'properties.setupLogicalReplicationOnSourceDbIfNeeded', message: expect.stringContaining('cannot change the source server') })]);
    expect(parsed.error.details[0]?.fix).toContain('wal_level = logical');
    // "False" asks for nothing and is a no-op.
    expect(patchOf({ properties: { setupLogicalReplicationOnSourceDbIfNeeded: 'False', migrateRoles: 'True' } })).toEqual({ action: 'update', properties: { migrateRoles: true } });
  });

  it('reads the az CLI 2.45 PATCH spellings: DBsToTriggerCutoverMigrationOn, dBsToMigrate, overwriteDBsInTarget', () => {
    expect(patchOf({ properties: { triggerCutover: 'true', DBsToTriggerCutoverMigrationOn: ['timedb'] } }).properties.dbsToTriggerCutoverOn).toEqual(['timedb']);
    expect(patchOf({ properties: { dBsToMigrate: ['a'] } }).properties.dbsToMigrate).toEqual(['a']);
    expect(patchOf({ properties: { overwriteDBsInTarget: 'true' } }).properties.overwriteDbsInTarget).toBe(true);
  });

  it('reads the target login where the Azure VM tutorial puts it, and a location to compare', () => {
    const patch = patchOf({ location: 'westeurope', properties: { targetServerUserName: 'admin2' } });
    expect(patch).toEqual({ action: 'update', location: 'westeurope', properties: { secretParameters: { targetServerUsername: 'admin2' } } });
  });

  it('reads a field update, treating False action flags as no-ops', () => {
    const patch = patchOf({ properties: { overwriteDbsInTarget: 'True', startDataMigration: true, cancel: 'False' } });
    expect(patch).toEqual({ action: 'update', properties: { overwriteDbsInTarget: true, startDataMigration: true } });
  });

  it('reads a tags-only PATCH and a password rotation', () => {
    expect(patchOf({ tags: { owner: 'dba' } })).toEqual({ action: 'update', tags: { owner: 'dba' }, properties: {} });
    const rotation = patchOf({ properties: { secretParameters: { adminCredentials: { sourceServerPassword: 'n3w' } } } });
    expect(rotation.properties.secretParameters?.adminCredentials?.sourceServerPassword).toBe('n3w');
  });
});

interface Row {
  name: string;
  body: unknown;
  field: string;
  messageIncludes: string;
}

const INVALID: Row[] = [
  { name: 'array body', body: [], field: 'body', messageIncludes: 'must be a JSON object' },
  { name: 'empty body', body: {}, field: 'properties', messageIncludes: 'is missing or changes nothing' },
  { name: 'only no-op flags', body: { properties: { triggerCutover: 'False' } }, field: 'properties', messageIncludes: 'changes nothing' },
  { name: 'cutover and cancel', body: { properties: { triggerCutover: 'True', cancel: 'True' } }, field: 'properties.cancel', messageIncludes: 'together with triggerCutover' },
  { name: 'cancel and setup replication', body: { properties: { cancel: 'True', setupLogicalReplicationOnSourceDbIfNeeded: 'True' } }, field: 'properties.setupLogicalReplicationOnSourceDbIfNeeded', messageIncludes: 'together with cancel' },
  { name: 'action plus a field change', body: { properties: { triggerCutover: 'True', migrateRoles: 'True' } }, field: 'properties.migrateRoles', messageIncludes: 'same PATCH as triggerCutover' },
  { name: 'cutover list without the flag', body: { properties: { dbsToTriggerCutoverOn: ['timedb'] } }, field: 'properties.dbsToTriggerCutoverOn', messageIncludes: 'triggerCutover is not "True"' },
  { name: 'cancel list with cutover', body: { properties: { triggerCutover: 'True', dbsToCancelMigrationOn: ['timedb'] } }, field: 'properties.dbsToCancelMigrationOn', messageIncludes: 'cancel is not "True"' },
  { name: 'fixed field', body: { properties: { sslMode: 'Require' } }, field: 'properties.sslMode', messageIncludes: 'cannot be changed on an existing migration' },
  { name: 'fixed source', body: { properties: { sourceDbServerResourceId: 'x:5432@u' } }, field: 'properties.sourceDbServerResourceId', messageIncludes: 'cannot be changed' },
  { name: 'misspelt flag', body: { properties: { triggerCutOver: 'True', trigerCutover: 'True' } }, field: 'properties.trigerCutover', messageIncludes: 'is not a known field' },
  { name: 'bad flag value', body: { properties: { cancel: 'Y' } }, field: 'properties.cancel', messageIncludes: 'must be "True" or "False"' },
  { name: 'duplicate cutover database', body: { properties: { triggerCutover: 'True', dbsToTriggerCutoverOn: ['a', 'a'] } }, field: 'properties.dbsToTriggerCutoverOn[1]', messageIncludes: 'repeats "a"' },
  { name: 'too many new databases', body: { properties: { dbsToMigrate: Array.from({ length: 9 }, (_, i) => `d${i}`) } }, field: 'properties.dbsToMigrate', messageIncludes: 'at most 8' },
  { name: 'window out of order', body: { properties: { migrationWindowStartTimeInUtc: '2025-01-02T00:00:00Z', migrationWindowEndTimeInUtc: '2025-01-01T00:00:00Z' } }, field: 'properties.migrationWindowEndTimeInUtc', messageIncludes: 'not after' },
  { name: 'two different target logins', body: { properties: { targetServerUsername: 'a', secretParameters: { targetServerUsername: 'b' } } }, field: 'properties.targetServerUsername', messageIncludes: 'differs from secretParameters.targetServerUsername' },
  { name: 'empty new password', body: { properties: { secretParameters: { adminCredentials: { targetServerPassword: '' } } } }, field: 'properties.secretParameters.adminCredentials.targetServerPassword', messageIncludes: 'must not be empty' },
];

describe('migration PATCH: invalid bodies', () => {
  it.each(INVALID)('$name → $field', ({ body, field, messageIncludes }) => {
    const parsed = parseMigrationPatch(body);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const detail = parsed.error.details.find((d) => d.field === field && d.message.includes(messageIncludes));
    expect(detail, JSON.stringify(parsed.error.details, null, 2)).toBeDefined();
    for (const d of parsed.error.details) expect(d.message.startsWith(`${d.field} `)).toBe(true);
  });
});

describe('checkPatchAgainst', () => {
  it('refuses databases the migration does not move', () => {
    const issues = checkPatchAgainst(EXISTING, patchOf({ properties: { triggerCutover: 'True', dbsToTriggerCutoverOn: ['timedb', 'otherdb'] } }));
    const body = toErrorBody(issues);
    expect(body.details).toHaveLength(1);
    expect(body.details[0]?.field).toBe('properties.dbsToTriggerCutoverOn[1]');
    expect(body.details[0]?.message).toContain('"otherdb", which is not in dbsToMigrate');
  });

  it('checks cancel lists too', () => {
    const issues = checkPatchAgainst(EXISTING, patchOf({ properties: { cancel: 'True', dbsToCancelMigrationOn: ['nope'] } }));
    expect(issues.map((i) => i.path.join('.'))).toEqual(['properties.dbsToCancelMigrationOn.0']);
  });

  it('refuses cutover of an Offline migration', () => {
    const issues = checkPatchAgainst(EXISTING, patchOf({ properties: { triggerCutover: 'True' } }), 'Offline');
    expect(toErrorBody(issues).details[0]?.message).toContain('this migration is Offline');
  });
});
