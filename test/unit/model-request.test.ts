import { describe, it, expect } from 'vitest';
import {
  parseMigrationRequest,
  parseMigrationName,
  parseServerName,
  parseJsonBody,
  unwrap,
  RequestValidationError,
  type ErrorBody,
  type MigrationRequest,
} from '../../shared/model';

const SOURCE_PASSWORD = 'Src-Pa55word!xyzzy';
const TARGET_PASSWORD = 'Tgt-Pa55word!plugh';

type Json = Record<string, unknown>;

function base(): { properties: Json } {
  return {
    properties: {
      sourceDbServerResourceId: '10.0.0.4:5432@migrator',
      targetDbServerFullyQualifiedDomainName: 'pgtarget.postgres.database.azure.com',
      secretParameters: {
        adminCredentials: { sourceServerPassword: SOURCE_PASSWORD, targetServerPassword: TARGET_PASSWORD },
        targetServerUsername: 'azureadmin',
      },
      dbsToMigrate: ['ticketdb', 'timedb'],
    },
  };
}

/** The valid base body with `properties` fields replaced (undefined removes one). */
function props(overrides: Json): { properties: Json } {
  const body = base();
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete body.properties[key];
    else body.properties[key] = value;
  }
  return body;
}

/** The valid base body with `secretParameters` fields replaced (undefined removes one). */
function secrets(overrides: Json, credentials: Json = {}): { properties: Json } {
  const secret: Json = {
    adminCredentials: { sourceServerPassword: SOURCE_PASSWORD, targetServerPassword: TARGET_PASSWORD, ...credentials },
    targetServerUsername: 'azureadmin',
    ...overrides,
  };
  for (const [key, value] of Object.entries(secret)) if (value === undefined) delete secret[key];
  const admin = secret.adminCredentials as Json | undefined;
  if (admin) for (const [key, value] of Object.entries(admin)) if (value === undefined) delete admin[key];
  return props({ secretParameters: secret });
}

function errorOf(body: unknown, settings = {}): ErrorBody {
  const parsed = parseMigrationRequest(body, settings);
  if (parsed.ok) throw new Error(`expected a rejection, got ${JSON.stringify(parsed.value.properties)}`);
  return parsed.error;
}

function valueOf(body: unknown, settings = {}): MigrationRequest {
  const parsed = parseMigrationRequest(body, settings);
  if (!parsed.ok) throw new Error(`expected success, got ${parsed.error.message}`);
  return parsed.value;
}

interface Row {
  name: string;
  body: unknown;
  field: string;
  messageIncludes: string;
  fixIncludes?: string;
}

const nineDbs = Array.from({ length: 9 }, (_, i) => `db${i}`);

const INVALID: Row[] = [
  // The body itself
  { name: 'null body', body: null, field: 'body', messageIncludes: 'must be a JSON object, not null' },
  { name: 'array body', body: [base()], field: 'body', messageIncludes: 'not an array' },
  { name: 'string body', body: 'properties', field: 'body', messageIncludes: 'not a string' },
  { name: 'number body', body: 42, field: 'body', messageIncludes: 'not a number' },
  { name: 'empty object', body: {}, field: 'properties', messageIncludes: 'is required', fixIncludes: '"properties"' },
  { name: 'properties is an array', body: { properties: [] }, field: 'properties', messageIncludes: 'must be an object, not an array' },
  { name: 'properties is a string', body: { properties: 'x' }, field: 'properties', messageIncludes: 'not a string' },
  { name: 'properties is null', body: { properties: null }, field: 'properties', messageIncludes: 'is required' },
  // Keys
  { name: 'misspelt top-level key', body: { propertes: base().properties }, field: 'propertes', messageIncludes: 'is not a known field', fixIncludes: '"properties"' },
  { name: 'misspelt property key', body: props({ dbsToMigrat: ['a'] }), field: 'properties.dbsToMigrat', messageIncludes: 'is not a known field', fixIncludes: 'Did you mean "dbsToMigrate"' },
  { name: 'unrelated property key', body: props({ colour: 'blue' }), field: 'properties.colour', messageIncludes: 'is not a known field', fixIncludes: 'the fields allowed here are' },
  { name: 'misspelt credential key', body: secrets({}, { sourceServerPassword: undefined, sourceServerPasword: SOURCE_PASSWORD }), field: 'properties.secretParameters.adminCredentials.sourceServerPasword', messageIncludes: 'is not a known field', fixIncludes: 'sourceServerPassword' },
  { name: 'key given twice in two cases', body: props({ DbsToMigrate: ['a'] }), field: 'properties.dbsToMigrate', messageIncludes: 'is given twice, as "dbsToMigrate" and "DbsToMigrate"' },
  { name: 'legacy alias and new key together', body: props({ triggerCutover: 'True', dbsToTriggerCutoverOn: ['timedb'], dBsToTiggerCutoverOn: ['ticketdb'] }), field: 'properties.dbsToTriggerCutoverOn', messageIncludes: 'is given twice' },
  // Enums
  { name: 'misspelt migrationMode', body: props({ migrationMode: 'Onlin' }), field: 'properties.migrationMode', messageIncludes: 'must be one of Offline, Online', fixIncludes: 'Did you mean "Online"' },
  { name: 'numeric migrationMode', body: props({ migrationMode: 1 }), field: 'properties.migrationMode', messageIncludes: 'not 1' },
  { name: 'unknown migrationOption', body: props({ migrationOption: 'ValidateOnly' }), field: 'properties.migrationOption', messageIncludes: 'must be one of Validate, Migrate, ValidateAndMigrate' },
  { name: 'unknown sourceType', body: props({ sourceType: 'Oracle' }), field: 'properties.sourceType', messageIncludes: 'must be one of OnPremises' },
  { name: 'libpq sslMode spelling', body: props({ sslMode: 'disable' }), field: 'properties.sslMode', messageIncludes: 'must be one of Prefer, Require, VerifyCA, VerifyFull' },
  // Source location
  { name: 'no source location at all', body: props({ sourceDbServerResourceId: undefined }), field: 'properties.sourceDbServerResourceId', messageIncludes: 'is required unless sourceDbServerFullyQualifiedDomainName is set' },
  { name: 'port out of range', body: props({ sourceDbServerResourceId: '10.0.0.4:70000@migrator' }), field: 'properties.sourceDbServerResourceId', messageIncludes: 'port that is not a number from 1 to 65535' },
  { name: 'port zero', body: props({ sourceDbServerResourceId: 'pg.contoso.com:0@migrator' }), field: 'properties.sourceDbServerResourceId', messageIncludes: 'port' },
  { name: 'non-numeric port', body: props({ sourceDbServerResourceId: 'pg.contoso.com:pg@migrator' }), field: 'properties.sourceDbServerResourceId', messageIncludes: 'port' },
  { name: 'empty host', body: props({ sourceDbServerResourceId: ':5432@migrator' }), field: 'properties.sourceDbServerResourceId', messageIncludes: 'empty host' },
  { name: 'IPv6 without brackets', body: props({ sourceDbServerResourceId: '2001:db8::4:5432@migrator' }), field: 'properties.sourceDbServerResourceId', messageIncludes: 'without brackets', fixIncludes: '[2001:db8::4]:5432' },
  { name: 'brackets around a host name', body: props({ sourceDbServerResourceId: '[pg.contoso.com]:5432@migrator' }), field: 'properties.sourceDbServerResourceId', messageIncludes: 'not an IPv6 address' },
  { name: 'bad IPv4', body: props({ sourceDbServerResourceId: '10.0.0.256:5432@migrator' }), field: 'properties.sourceDbServerResourceId', messageIncludes: 'IPv4' },
  { name: 'space in host', body: props({ sourceDbServerResourceId: 'pg contoso:5432@migrator' }), field: 'properties.sourceDbServerResourceId', messageIncludes: 'host name that is not valid' },
  { name: 'trailing @ with no user', body: props({ sourceDbServerResourceId: '10.0.0.4:5432@' }), field: 'properties.sourceDbServerResourceId', messageIncludes: 'names no user' },
  { name: 'resource id of a VM', body: props({ sourceDbServerResourceId: '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1' }), field: 'properties.sourceDbServerResourceId', messageIncludes: 'not one of an Azure Database for PostgreSQL server' },
  { name: 'resource id as a number', body: props({ sourceDbServerResourceId: 5432 }), field: 'properties.sourceDbServerResourceId', messageIncludes: 'must be a string, not a number' },
  { name: 'bad source FQDN port', body: props({ sourceDbServerFullyQualifiedDomainName: 'pg.contoso.com:99999' }), field: 'properties.sourceDbServerFullyQualifiedDomainName', messageIncludes: 'port' },
  // Target
  { name: 'no target FQDN', body: props({ targetDbServerFullyQualifiedDomainName: undefined }), field: 'properties.targetDbServerFullyQualifiedDomainName', messageIncludes: 'is required', fixIncludes: 'control plane' },
  { name: 'target FQDN as an object', body: props({ targetDbServerFullyQualifiedDomainName: { host: 'x' } }), field: 'properties.targetDbServerFullyQualifiedDomainName', messageIncludes: 'must be a string, not an object' },
  { name: 'bad target port', body: props({ targetDbServerFullyQualifiedDomainName: 'pgtarget.postgres.database.azure.com:65536' }), field: 'properties.targetDbServerFullyQualifiedDomainName', messageIncludes: 'port that is not a number from 1 to 65535' },
  { name: 'target is the source',  body: props({ targetDbServerFullyQualifiedDomainName: '10.0.0.4:5432' }), field: 'properties.targetDbServerFullyQualifiedDomainName', messageIncludes: 'points at the source server' },
  // Secrets
  { name: 'no secretParameters', body: props({ secretParameters: undefined }), field: 'properties.secretParameters', messageIncludes: 'is required', fixIncludes: 'adminCredentials' },
  { name: 'no adminCredentials', body: secrets({ adminCredentials: undefined }), field: 'properties.secretParameters.adminCredentials', messageIncludes: 'is required' },
  { name: 'no source password', body: secrets({}, { sourceServerPassword: undefined }), field: 'properties.secretParameters.adminCredentials.sourceServerPassword', messageIncludes: 'is required' },
  { name: 'empty target password', body: secrets({}, { targetServerPassword: '' }), field: 'properties.secretParameters.adminCredentials.targetServerPassword', messageIncludes: 'must not be empty' },
  { name: 'password too long', body: secrets({}, { sourceServerPassword: 'p'.repeat(1025) }), field: 'properties.secretParameters.adminCredentials.sourceServerPassword', messageIncludes: 'at most 1024 characters' },
  { name: 'password as a number', body: secrets({}, { targetServerPassword: 123456 }), field: 'properties.secretParameters.adminCredentials.targetServerPassword', messageIncludes: 'must be a string, not a number' },
  { name: 'no target username', body: secrets({ targetServerUsername: undefined }), field: 'properties.secretParameters.targetServerUsername', messageIncludes: 'is required', fixIncludes: 'cannot look it up' },
  { name: 'no source username anywhere', body: props({ sourceDbServerResourceId: '10.0.0.4:5432' }), field: 'properties.secretParameters.sourceServerUsername', messageIncludes: 'is required when sourceDbServerResourceId names no user', fixIncludes: '@<user>' },
  { name: 'source username with NUL', body: secrets({ sourceServerUsername: 'mig\u0000rator' }), field: 'properties.secretParameters.sourceServerUsername', messageIncludes: 'NUL' },
  // Databases
  { name: 'no dbsToMigrate', body: props({ dbsToMigrate: undefined }), field: 'properties.dbsToMigrate', messageIncludes: 'is required' },
  { name: 'empty dbsToMigrate', body: props({ dbsToMigrate: [] }), field: 'properties.dbsToMigrate', messageIncludes: 'lists no databases' },
  { name: 'dbsToMigrate as a string', body: props({ dbsToMigrate: 'ticketdb' }), field: 'properties.dbsToMigrate', messageIncludes: 'must be an array, not a string' },
  { name: 'nine databases', body: props({ dbsToMigrate: nineDbs }), field: 'properties.dbsToMigrate', messageIncludes: 'lists 9 databases; at most 8', fixIncludes: 'PGFERRY_MAX_DATABASES' },
  { name: 'duplicate database', body: props({ dbsToMigrate: ['ticketdb', 'timedb', 'ticketdb'] }), field: 'properties.dbsToMigrate[2]', messageIncludes: 'repeats "ticketdb" (already at [0])' },
  { name: 'template0', body: props({ dbsToMigrate: ['ticketdb', 'template0'] }), field: 'properties.dbsToMigrate[1]', messageIncludes: 'PostgreSQL template database' },
  { name: 'template1', body: props({ dbsToMigrate: ['template1'] }), field: 'properties.dbsToMigrate[0]', messageIncludes: 'PostgreSQL template database' },
  { name: 'azure_maintenance', body: props({ dbsToMigrate: ['azure_maintenance'] }), field: 'properties.dbsToMigrate[0]', messageIncludes: 'Azure-managed system database' },
  { name: 'azure_sys', body: props({ dbsToMigrate: ['appdb', 'azure_sys'] }), field: 'properties.dbsToMigrate[1]', messageIncludes: 'Azure-managed system database' },
  { name: 'empty database name', body: props({ dbsToMigrate: [''] }), field: 'properties.dbsToMigrate[0]', messageIncludes: 'empty database name' },
  { name: 'database name over 63 bytes', body: props({ dbsToMigrate: ['é'.repeat(32)] }), field: 'properties.dbsToMigrate[0]', messageIncludes: '64 bytes long' },
  { name: 'database name with NUL', body: props({ dbsToMigrate: ['app\u0000db'] }), field: 'properties.dbsToMigrate[0]', messageIncludes: 'NUL' },
  { name: 'database name with spaces', body: props({ dbsToMigrate: ['ticketdb '] }), field: 'properties.dbsToMigrate[0]', messageIncludes: 'spaces around "ticketdb"' },
  { name: 'database name as a number', body: props({ dbsToMigrate: ['ticketdb', 7] }), field: 'properties.dbsToMigrate[1]', messageIncludes: 'must be a string, not a number' },
  // Flags and actions
  { name: 'flag "yes"', body: props({ overwriteDbsInTarget: 'yes' }), field: 'properties.overwriteDbsInTarget', messageIncludes: 'must be "True" or "False", not "yes"', fixIncludes: 'Use "True" or "False"' },
  { name: 'flag as 1', body: props({ migrateRoles: 1 }), field: 'properties.migrateRoles', messageIncludes: 'must be "True" or "False", not 1' },
  { name: 'flag as an array', body: props({ startDataMigration: ['True'] }), field: 'properties.startDataMigration', messageIncludes: 'not an array' },
  { name: 'cutover in an Offline PUT', body: props({ migrationMode: 'Offline', triggerCutover: 'True' }), field: 'properties.triggerCutover', messageIncludes: 'cutover applies only to Online migrations' },
  { name: 'cutover and cancel together', body: props({ triggerCutover: 'True', cancel: true }), field: 'properties.cancel', messageIncludes: 'cannot be "True" together with triggerCutover' },
  { name: 'cutover database not migrated', body: props({ triggerCutover: 'True', dbsToTriggerCutoverOn: ['otherdb'] }), field: 'properties.dbsToTriggerCutoverOn[0]', messageIncludes: 'names "otherdb", which is not in dbsToMigrate' },
  { name: 'cutover list without triggerCutover', body: props({ dbsToTriggerCutoverOn: ['ticketdb'] }), field: 'properties.dbsToTriggerCutoverOn', messageIncludes: 'triggerCutover is not "True"' },
  { name: 'cancel list with a duplicate', body: props({ cancel: 'True', dbsToCancelMigrationOn: ['timedb', 'timedb'] }), field: 'properties.dbsToCancelMigrationOn[1]', messageIncludes: 'repeats "timedb"' },
  // Migration window
  { name: 'window start not a date', body: props({ migrationWindowStartTimeInUtc: 'tomorrow' }), field: 'properties.migrationWindowStartTimeInUtc', messageIncludes: 'is not an ISO 8601 date-time' },
  { name: 'window start on 30 February', body: props({ migrationWindowStartTimeInUtc: '2025-02-30T10:00:00Z' }), field: 'properties.migrationWindowStartTimeInUtc', messageIncludes: 'ISO 8601' },
  { name: 'window end not a date', body: props({ migrationWindowStartTimeInUtc: '2025-06-02T00:00:00Z', migrationWindowEndTimeInUtc: '2025-06-02 25:00' }), field: 'properties.migrationWindowEndTimeInUtc', messageIncludes: 'is not an ISO 8601 date-time' },
  { name: 'window ends before it starts', body: props({ migrationWindowStartTimeInUtc: '2025-06-02T00:00:00Z', migrationWindowEndTimeInUtc: '2025-06-01T00:00:00Z' }), field: 'properties.migrationWindowEndTimeInUtc', messageIncludes: 'is not after migrationWindowStartTimeInUtc' },
  // Envelope
  { name: 'empty location', body: { ...base(), location: '' }, field: 'location', messageIncludes: 'must not be empty' },
  { name: 'tag value as a number', body: { ...base(), tags: { env: 3 } }, field: 'tags.env', messageIncludes: 'must be a string, not a number' },
  { name: 'fallbackAfterCutover not a flag', body: props({ fallbackAfterCutover: 'yes' }), field: 'properties.fallbackAfterCutover', messageIncludes: 'must be "True" or "False"' },
  { name: 'fallbackAfterCutover on an Offline migration', body: props({ fallbackAfterCutover: 'True', migrationMode: 'Offline' }), field: 'properties.fallbackAfterCutover', messageIncludes: 'needs an Online migration', fixIncludes: 'migrationMode' },
];

describe('migration request: invalid bodies', () => {
  it('has a table of at least 45 rows', () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(45);
  });

  it.each(INVALID)('$name → $field', ({ body, field, messageIncludes, fixIncludes }) => {
    const error = errorOf(body);
    expect(error.code).toBe('InvalidRequestContent');
    const detail = error.details.find((d) => d.field === field && d.message.includes(messageIncludes));
    expect(detail, JSON.stringify(error.details, null, 2)).toBeDefined();
    if (fixIncludes !== undefined) expect(detail?.fix).toContain(fixIncludes);
    for (const d of error.details) {
      expect(d.message.startsWith(`${d.field} `), d.message).toBe(true);
      expect(d.fix.length).toBeGreaterThan(10);
    }
    expect(error.message).toContain(field);
  });

  it('never echoes a password, in any rejection', () => {
    const misplaced = [
      props({ sslMode: { password: SOURCE_PASSWORD } }),
      secrets({ sourceServerPassword: SOURCE_PASSWORD }),
      secrets({}, { sourceServerPassword: [SOURCE_PASSWORD], targetServerPassword: { value: TARGET_PASSWORD } }),
      secrets({ adminCredentials: [SOURCE_PASSWORD, TARGET_PASSWORD] }),
    ];
    for (const body of [...INVALID.map((row) => row.body), ...misplaced]) {
      const parsed = parseMigrationRequest(body);
      const text = JSON.stringify(parsed.ok ? {} : parsed.error);
      expect(text).not.toContain(SOURCE_PASSWORD);
      expect(text).not.toContain(TARGET_PASSWORD);
    }
    const broken = parseJsonBody(`{"properties": {"secretParameters": {"adminCredentials": {"sourceServerPassword": ${SOURCE_PASSWORD}}}}}`);
    expect(broken.ok).toBe(false);
    expect(JSON.stringify(broken)).not.toContain(SOURCE_PASSWORD);
  });

  it('does not pile cross-field complaints on a field that failed to parse', () => {
    const error = errorOf(props({ sourceDbServerResourceId: '10.0.0.4:70000@migrator' }));
    expect(error.details).toHaveLength(1);
    expect(error.message).toBe(`${error.details[0]?.message}. ${error.details[0]?.fix}`);
  });

  it('reports every problem of a body at once', () => {
    const error = errorOf(props({ migrationMode: 'sideways', dbsToMigrate: ['template0'], sslMode: 'nope' }));
    expect(error.details.map((d) => d.field)).toEqual(
      expect.arrayContaining(['properties.migrationMode', 'properties.dbsToMigrate[0]', 'properties.sslMode']),
    );
    expect(error.message).toMatch(/^The request has 3 problems/);
  });
});

describe('migration request: valid bodies', () => {
  it('parses the az CLI on-premises example (odd key case, "true" strings) to the canonical form', () => {
    const cliFile = {
      properties: {
        SourceDBServerResourceId: '10.1.0.4:5432@pgadmin',
        SecretParameters: {
          AdminCredentials: { SourceServerPassword: SOURCE_PASSWORD, TargetServerPassword: TARGET_PASSWORD },
          targetServerUserName: 'azureadmin',
        },
        DBsToMigrate: ['ticketdb', 'timedb', 'inventorydb'],
        OverwriteDBsInTarget: 'true',
        sourceType: 'OnPremises',
        sslMode: 'Prefer',
        // Not in the CLI example: Azure knows its own target's address, pgferry must be told.
        TargetDbServerFullyQualifiedDomainName: 'pgtarget.postgres.database.azure.com',
      },
    };
    expect(valueOf(cliFile)).toEqual({
      properties: {
        // The file names no mode: the az CLI's default, offline (--migration-mode online to change it).
        migrationMode: 'Offline',
        migrationOption: 'ValidateAndMigrate',
        sourceType: 'OnPremises',
        sslMode: 'Prefer',
        sourceDbServerResourceId: '10.1.0.4:5432@pgadmin',
        targetDbServerFullyQualifiedDomainName: 'pgtarget.postgres.database.azure.com',
        secretParameters: {
          adminCredentials: { sourceServerPassword: SOURCE_PASSWORD, targetServerPassword: TARGET_PASSWORD },
          targetServerUsername: 'azureadmin',
        },
        dbsToMigrate: ['ticketdb', 'timedb', 'inventorydb'],
        overwriteDbsInTarget: true,
        migrateRoles: false,
        setupLogicalReplicationOnSourceDbIfNeeded: false,
        startDataMigration: true,
        triggerCutover: false,
        cancel: false,
        fallbackAfterCutover: false,
      },
      source: { host: '10.1.0.4', port: 5432, user: 'pgadmin' },
      target: { host: 'pgtarget.postgres.database.azure.com', port: 5432, user: 'azureadmin' },
    });
  });

  it('fills the defaults, the az CLI\'s where ARM leaves them open (migrationMode Offline)', () => {
    const { properties } = valueOf(base());
    expect(properties).toMatchObject({
      migrationMode: 'Offline',
      migrationOption: 'ValidateAndMigrate',
      sslMode: 'Prefer',
      sourceType: 'OnPremises',
      overwriteDbsInTarget: false,
      migrateRoles: false,
      setupLogicalReplicationOnSourceDbIfNeeded: false,
      startDataMigration: true,
      triggerCutover: false,
      cancel: false,
    });
  });

  it.each([
    [true, true],
    ['True', true],
    ['TRUE', true],
    ['true', true],
    [false, false],
    ['False', false],
    ['fAlSe', false],
  ])('reads the flag %j as %s', (input, expected) => {
    expect(valueOf(props({ migrateRoles: input })).properties.migrateRoles).toBe(expected);
  });

  it('matches enum values case-insensitively and yields the ARM spelling', () => {
    const { properties } = valueOf(
      props({ migrationMode: 'offline', migrationOption: 'VALIDATE', sourceType: 'aws_rds', sslMode: 'verifyfull' }),
    );
    expect(properties).toMatchObject({ migrationMode: 'Offline', migrationOption: 'Validate', sourceType: 'AWS_RDS', sslMode: 'VerifyFull' });
  });

  it('parses a bracketed IPv6 source and a bare IPv6 target', () => {
    const request = valueOf(props({ sourceDbServerResourceId: '[2001:db8::4]:5433@migrator', targetDbServerFullyQualifiedDomainName: '2001:db8::5' }));
    expect(request.source).toEqual({ host: '2001:db8::4', port: 5433, user: 'migrator' });
    expect(request.target).toEqual({ host: '2001:db8::5', port: 5432, user: 'azureadmin' });
  });

  it('derives the host of a Single Server from its ARM resource id', () => {
    const id = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.DBforPostgreSQL/servers/legacy-pg';
    const body = props({ sourceDbServerResourceId: id, sourceType: 'PostgreSQLSingleServer' });
    (body.properties.secretParameters as Json).sourceServerUsername = 'admin@legacy-pg';
    const request = valueOf(body);
    expect(request.source).toEqual({ host: 'legacy-pg.postgres.database.azure.com', port: 5432, user: 'admin@legacy-pg', azureServerName: 'legacy-pg' });
    expect(request.properties.sourceDbServerResourceId).toBe(id);
  });

  it('lets the source FQDN win for the host, keeping the resource id port', () => {
    const request = valueOf(props({ sourceDbServerResourceId: 'internal-name:6432@migrator', sourceDbServerFullyQualifiedDomainName: 'pg.contoso.com' }));
    expect(request.source).toEqual({ host: 'pg.contoso.com', port: 6432, user: 'migrator' });
    expect(valueOf(props({ sourceDbServerFullyQualifiedDomainName: 'pg.contoso.com:7000' })).source.port).toBe(7000);
  });

  it('accepts a source given only by FQDN plus a username', () => {
    const body = secrets({ sourceServerUsername: 'migrator' });
    delete body.properties.sourceDbServerResourceId;
    body.properties.sourceDbServerFullyQualifiedDomainName = 'pg.contoso.com';
    expect(valueOf(body).source).toEqual({ host: 'pg.contoso.com', port: 5432, user: 'migrator' });
  });

  it('prefers secretParameters.sourceServerUsername over the @user part', () => {
    expect(valueOf(secrets({ sourceServerUsername: 'other' })).source.user).toBe('other');
  });

  it('lets a setting raise the database limit', () => {
    const twelve = props({ dbsToMigrate: Array.from({ length: 12 }, (_, i) => `db${i}`) });
    expect(errorOf(twelve).details[0]?.message).toContain('at most 8');
    expect(valueOf(twelve, { maxDatabases: 12 }).properties.dbsToMigrate).toHaveLength(12);
    expect(errorOf(twelve, { maxDatabases: 10 }).details[0]?.fix).toContain('currently 10');
  });

  it('accepts postgres and mixed-case names as ordinary databases', () => {
    expect(valueOf(props({ dbsToMigrate: ['postgres', 'Template0', 'TicketDB'] })).properties.dbsToMigrate).toEqual(['postgres', 'Template0', 'TicketDB']);
  });

  it('maps legacy and CLI key spellings to the canonical ones', () => {
    const request = valueOf(
      props({
        migrationMode: 'Online',
        triggerCutover: 'True',
        dBsToTiggerCutoverOn: ['ticketdb'],
        MigrationRuntimeResourceId: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/runtime',
      }),
    );
    expect(request.properties.dbsToTriggerCutoverOn).toEqual(['ticketdb']);
    expect(request.properties.migrationInstanceResourceId).toContain('/flexibleServers/runtime');
  });

  it('ignores read-only fields so a GET response can be sent back', () => {
    const body = {
      id: '/flexibleServers/pgtarget/migrations/m1',
      name: 'm1',
      type: 'Microsoft.DBforPostgreSQL/flexibleServers/migrations',
      location: 'westeurope',
      tags: { env: 'test' },
      properties: { ...base().properties, migrationId: 'abc', currentStatus: { state: 'InProgress' }, startedOn: '2025-01-01T00:00:00Z' },
    };
    const request = valueOf(body);
    expect(request.location).toBe('westeurope');
    expect(request.tags).toEqual({ env: 'test' });
    expect(request.properties).not.toHaveProperty('migrationId');
    expect(request.properties).not.toHaveProperty('currentStatus');
  });

  it('treats null as not set', () => {
    const request = valueOf(props({ sslMode: null, dbsToCancelMigrationOn: null, migrationWindowStartTimeInUtc: null }));
    expect(request.properties.sslMode).toBe('Prefer');
    expect(request.properties).not.toHaveProperty('dbsToCancelMigrationOn');
  });

  it('normalises the migration window to UTC', () => {
    const { properties } = valueOf(
      props({ migrationWindowStartTimeInUtc: '2025-06-01T23:30:00+01:00', migrationWindowEndTimeInUtc: '2025-06-02T04:00:00' }),
    );
    expect(properties.migrationWindowStartTimeInUtc).toBe('2025-06-01T22:30:00.000Z');
    expect(properties.migrationWindowEndTimeInUtc).toBe('2025-06-02T04:00:00.000Z');
  });

  it('accepts an Online PUT with cutover on a subset', () => {
    const { properties } = valueOf(props({ migrationMode: 'Online', triggerCutover: 'True', dbsToTriggerCutoverOn: ['timedb'] }));
    expect(properties.triggerCutover).toBe(true);
    expect(properties.dbsToTriggerCutoverOn).toEqual(['timedb']);
  });
});

describe('the target from the route, as ARM takes it', () => {
  const AZURE = { server: 'pgtarget', hostSuffix: '.postgres.database.azure.com' };
  const noTarget = () => props({ targetDbServerFullyQualifiedDomainName: undefined });

  it('is {server}.postgres.database.azure.com when the request names none', () => {
    const request = valueOf(noTarget(), { target: AZURE });
    expect(request.target).toEqual({ host: 'pgtarget.postgres.database.azure.com', port: 5432, user: 'azureadmin' });
    expect(request.properties).not.toHaveProperty('targetDbServerFullyQualifiedDomainName');
  });

  it('follows PGFERRY_TARGET_HOST_SUFFIX and PGFERRY_TARGET_HOST ({server} replaced, a port kept)', () => {
    expect(valueOf(noTarget(), { target: { ...AZURE, hostSuffix: '.privatelink.postgres.database.azure.com' } }).target.host).toBe('pgtarget.privatelink.postgres.database.azure.com');
    expect(valueOf(noTarget(), { target: { ...AZURE, host: '{server}.db.internal:6432' } }).target).toMatchObject({ host: 'pgtarget.db.internal', port: 6432 });
    expect(valueOf(noTarget(), { target: { ...AZURE, host: '127.0.0.1:55432' } }).target).toMatchObject({ host: '127.0.0.1', port: 55432 });
  });

  it('lets a given FQDN win over the route and the settings', () => {
    expect(valueOf(base(), { target: { ...AZURE, host: '127.0.0.1:1' } }).target.host).toBe('pgtarget.postgres.database.azure.com');
  });

  it('refuses a defaulted target that is the source, naming the field', () => {
    const error = errorOf(noTarget(), { target: { ...AZURE, host: '10.0.0.4:5432' } });
    expect(error.details[0]).toMatchObject({ field: 'properties.targetDbServerFullyQualifiedDomainName', message: expect.stringContaining('points at the source server (the default target of the route)') });
  });

  it('takes the target login from PGFERRY_TARGET_USERNAME, or from beside secretParameters (the Azure VM tutorial file)', () => {
    const none = secrets({ targetServerUsername: undefined });
    expect(valueOf(none, { target: { ...AZURE, username: 'fromsetting' } }).target.user).toBe('fromsetting');
    const beside = props({ targetServerUserName: 'beside', secretParameters: { adminCredentials: { sourceServerPassword: SOURCE_PASSWORD, targetServerPassword: TARGET_PASSWORD } } });
    const request = valueOf(beside, { target: { ...AZURE, username: 'fromsetting' } });
    expect(request.target.user).toBe('beside');
    expect(request.properties.secretParameters.targetServerUsername).toBe('beside');
    expect(request.properties).not.toHaveProperty('targetServerUsername');
    const both = props({ targetServerUsername: 'other' });
    expect(errorOf(both).details[0]).toMatchObject({ field: 'properties.targetServerUsername', message: expect.stringContaining('differs from secretParameters.targetServerUsername') });
  });

  it('requires a target login when neither the request nor the settings name one, saying how to set it', () => {
    const error = errorOf(secrets({ targetServerUsername: undefined }), { target: AZURE });
    expect(error.details[0]?.field).toBe('properties.secretParameters.targetServerUsername');
    expect(error.details[0]?.fix).toContain('PGFERRY_TARGET_USERNAME');
  });
});

describe('ARM defaults and flags pgferry cannot honour', () => {
  it('defaults sslMode to VerifyFull for a Single Server source and Prefer otherwise, as ARM does', () => {
    const id = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.DBforPostgreSQL/servers/legacy-pg';
    expect(valueOf(props({ sourceDbServerResourceId: id, sourceType: 'PostgreSQLSingleServer', secretParameters: { adminCredentials: { sourceServerPassword: SOURCE_PASSWORD, targetServerPassword: TARGET_PASSWORD }, sourceServerUsername: 'a@legacy-pg', targetServerUsername: 't' } })).properties.sslMode).toBe('VerifyFull');
    expect(valueOf(props({ sourceType: 'AzureVM' })).properties.sslMode).toBe('Prefer');
    expect(valueOf(props({ sourceType: 'PostgreSQLSingleServer', sourceDbServerResourceId: '10.0.0.4@u', sslMode: 'Require' })).properties.sslMode).toBe('Require');
  });

  it('refuses setupLogicalReplicationOnSourceDbIfNeeded "True": pgferry cannot reconfigure and restart a source', () => {
    const error = errorOf(props({ SetupLogicalReplicationOnSourceDBIfNeeded: 'true' }));
    expect(error.details).toEqual([expect.objectContaining({ field: 'properties.setupLogicalReplicationOnSourceDbIfNeeded', message: expect.stringContaining('cannot change the source server') })]);
    expect(valueOf(props({ setupLogicalReplicationOnSourceDbIfNeeded: 'False' })).properties.setupLogicalReplicationOnSourceDbIfNeeded).toBe(false);
  });

  it('keeps migrationInstanceResourceId as given (the CLI file\'s MigrationRuntimeResourceId)', () => {
    const id = '/subscriptions/x/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/runtime';
    expect(valueOf(props({ MigrationRuntimeResourceId: id })).properties.migrationInstanceResourceId).toBe(id);
  });
});

describe('route names', () => {
  it.each(['m', 'migration1', 'Migration-2025-06', '1st-try', 'a'.repeat(63)])('accepts migration name %s', (name) => {
    expect(parseMigrationName(name)).toEqual({ ok: true, value: name });
  });

  it.each([
    ['', 'is required'],
    ['-leading', 'starts with a hyphen'],
    ['has_underscore', 'characters other than letters, digits and hyphens'],
    ['dot.name', 'characters other than'],
    ['a'.repeat(64), 'at most 63'],
  ])('refuses migration name %j', (name, message) => {
    const parsed = parseMigrationName(name);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error.details[0]?.field).toBe('name');
      expect(parsed.error.details[0]?.message).toContain(message);
    }
  });

  it.each(['pgt', 'pg-target-01', 'a'.repeat(63)])('accepts server name %s', (name) => {
    expect(parseServerName(name).ok).toBe(true);
  });

  it.each(['pg', 'PG-Target', '-pg', 'pg-', 'pg_target', 'a'.repeat(64)])('refuses server name %j', (name) => {
    const parsed = parseServerName(name);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.details[0]?.message).toMatch(/^serverName is not a valid Azure server name/);
  });

  it('throws a 400 RequestValidationError from unwrap', () => {
    expect(() => unwrap(parseMigrationName('-x'))).toThrow(RequestValidationError);
    try {
      unwrap(parseMigrationName('-x'));
    } catch (error) {
      expect(error).toBeInstanceOf(RequestValidationError);
      expect((error as RequestValidationError).status).toBe(400);
      expect((error as RequestValidationError).body.details[0]?.field).toBe('name');
    }
  });
});

describe('JSON bodies', () => {
  it('parses JSON and reports bad or empty text without quoting it', () => {
    expect(parseJsonBody('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    const empty = parseJsonBody('  ');
    expect(!empty.ok && empty.error.details[0]?.message).toBe('body is empty');
    const trailing = parseJsonBody('{"a":1,}');
    expect(!trailing.ok && trailing.error.details[0]?.message).toMatch(/^body is not valid JSON/);
  });
});
