import { describe, it, expect } from 'vitest';
import { migrationResourceSchema, migrationListSchema, toArmFlag, MIGRATION_RESOURCE_TYPE, type MigrationResource } from '../../shared/model';

/** Modelled on the azure-rest-api-specs "ValidationButMigrationFailure"-style GET examples. */
function sample(): MigrationResource {
  return {
    id: '/flexibleServers/pgtarget/migrations/migration1',
    name: 'migration1',
    type: MIGRATION_RESOURCE_TYPE,
    location: 'westeurope',
    tags: { env: 'test' },
    properties: {
      migrationId: 'd3ceacbb-a5fd-43dc-a9db-6022b5154856',
      currentStatus: {
        state: 'WaitingForUserAction',
        currentSubStateDetails: {
          currentSubState: 'WaitingForCutoverTrigger',
          dbDetails: {
            ticketdb: {
              databaseName: 'ticketdb',
              migrationState: 'WaitingForCutoverTrigger',
              migrationOperation: 'Applying changes',
              startedOn: '2025-06-01T10:00:00Z',
              fullLoadQueuedTables: 0,
              fullLoadErroredTables: 0,
              fullLoadLoadingTables: 0,
              fullLoadCompletedTables: 12,
              cdcUpdateCounter: 40,
              cdcDeleteCounter: 2,
              cdcInsertCounter: 100,
              appliedChanges: 142,
              incomingChanges: 142,
              latency: 0,
              message: '',
            },
          },
          validationDetails: {
            status: 'Warning',
            validationStartTimeInUtc: '2025-06-01T09:58:00Z',
            validationEndTimeInUtc: '2025-06-01T09:59:00Z',
            serverLevelValidationDetails: [
              { type: 'AuthenticationAndConnectivityValidation', state: 'Succeeded', messages: [] },
              { type: 'SourceVersionValidation', state: 'Succeeded', messages: [] },
            ],
            dbLevelValidationDetails: [
              {
                databaseName: 'ticketdb',
                startedOn: '2025-06-01T09:58:10Z',
                endedOn: '2025-06-01T09:58:50Z',
                summary: [
                  {
                    type: 'SchemaValidation',
                    state: 'Warning',
                    messages: [{ state: 'Warning', message: 'Table public.audit has no primary key; only INSERTs are replicated.' }],
                  },
                ],
              },
            ],
          },
        },
      },
      migrationMode: 'Online',
      migrationOption: 'ValidateAndMigrate',
      sourceType: 'OnPremises',
      sslMode: 'Prefer',
      sourceDbServerResourceId: '10.1.0.4:5432@pgadmin',
      targetDbServerFullyQualifiedDomainName: 'pgtarget.postgres.database.azure.com',
      dbsToMigrate: ['ticketdb'],
      overwriteDbsInTarget: toArmFlag(true),
      migrateRoles: toArmFlag(false),
      triggerCutover: 'False',
      cancel: 'False',
      startedOn: '2025-06-01T09:57:00Z',
    },
  };
}

describe('migration resource', () => {
  it('accepts a sample response with dbDetails and validationDetails', () => {
    const result = migrationResourceSchema.safeParse(sample());
    expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
    expect(migrationListSchema.safeParse({ value: [sample()] }).success).toBe(true);
  });

  it.each([
    ['state "Cancelled"', (r: Record<string, unknown>) => setPath(r, ['properties', 'currentStatus', 'state'], 'Cancelled')],
    ['state "succeeded"', (r: Record<string, unknown>) => setPath(r, ['properties', 'currentStatus', 'state'], 'succeeded')],
    ['substate "Failed"', (r: Record<string, unknown>) => setPath(r, ['properties', 'currentStatus', 'currentSubStateDetails', 'currentSubState'], 'Failed')],
    ['db state "Completed"', (r: Record<string, unknown>) => setPath(r, ['properties', 'currentStatus', 'currentSubStateDetails', 'dbDetails', 'ticketdb', 'migrationState'], 'Completed')],
    ['validation status "Passed"', (r: Record<string, unknown>) => setPath(r, ['properties', 'currentStatus', 'currentSubStateDetails', 'validationDetails', 'status'], 'Passed')],
    ['a boolean flag', (r: Record<string, unknown>) => setPath(r, ['properties', 'overwriteDbsInTarget'], true)],
    ['a wrong resource type', (r: Record<string, unknown>) => setPath(r, ['type'], 'Microsoft.DBforPostgreSQL/servers/migrations')],
    ['a dbDetails key that is not its databaseName', (r: Record<string, unknown>) => setPath(r, ['properties', 'currentStatus', 'currentSubStateDetails', 'dbDetails', 'ticketdb', 'databaseName'], 'timedb')],
    ['a negative latency', (r: Record<string, unknown>) => setPath(r, ['properties', 'currentStatus', 'currentSubStateDetails', 'dbDetails', 'ticketdb', 'latency'], -1)],
    ['leaked secretParameters', (r: Record<string, unknown>) => setPath(r, ['properties', 'secretParameters'], { adminCredentials: {} })],
    ['a misspelt dbDetails field', (r: Record<string, unknown>) => setPath(r, ['properties', 'currentStatus', 'currentSubStateDetails', 'dbDetails', 'ticketdb', 'fullLoadCompletedTable'], 1)],
  ])('rejects %s', (_name, mutate) => {
    const resource = structuredClone(sample()) as unknown as Record<string, unknown>;
    mutate(resource);
    expect(migrationResourceSchema.safeParse(resource).success).toBe(false);
  });
});

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}
