/**
 * The fallback window's rules (model/fallback.ts) and its PATCH verbs (model/fallback-patch.ts):
 * pure, table-driven.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_RECENT_CONFLICTS, fallbackDecision, finalWindowSubState, inFallbackWindow, newReverseRecord, reverseControl, windowSubState, withConflicts, withRequest,
  type MigrationFallback, type ReverseConflict, type ReverseRecord, type ReverseState,
} from '../../shared/model/fallback';
import { mentionsFallback, parseFallbackPatch } from '../../shared/model/fallback-patch';
import { migrationResourceSchema } from '../../shared/model/migration-resource';
import { fallbackProperties, reverseStatus } from '../../shared/api/fallback-resource';
import { fallbackTargetFindings } from '../../shared/validate/fallback-checks';
import type { ServerParams } from '../../shared/validate/source-facts';
import { parseMigrationRequest } from '../../shared/model/migration-request';
import { changesOfPut } from '../../shared/api/changes';
import { applyFields } from '../../shared/api/updates';
import { ApiError } from '../../shared/api/errors';
import type { MigrationRecord } from '../../shared/store/migrations';

const AT = '2030-01-01T00:00:00.000Z';
const LATER = '2030-01-01T00:05:00.000Z';
const rev = (state: ReverseState, o: Partial<ReverseRecord> = {}): ReverseRecord => ({ ...newReverseRecord('pgferry_rev_x', 'pgoutput', '0/1'), state, ...o });
const db = (databaseName: string, state?: ReverseState) => ({ databaseName, ...(state ? { reverse: rev(state) } : {}) });
const ON: MigrationFallback = { enabled: true };
const inWindow = (fallback: MigrationFallback = ON) => ({ state: 'Succeeded' as const, subState: 'ReplicatingToSource' as const, fallback });

describe('reverseControl', () => {
  it.each([
    { fb: ON, r: rev('Replicating'), want: 'none' },
    { fb: { ...ON, finalizeRequestedAt: AT }, r: rev('Replicating'), want: 'finalize' },
    { fb: { ...ON, finalizeRequestedAt: AT }, r: rev('FallingBack'), want: 'finalize' },
    { fb: { ...ON, finalizeRequestedAt: AT }, r: rev('Finalized'), want: 'none' },
    { fb: { ...ON, fallbackRequestedAt: AT }, r: rev('Replicating'), want: 'fallback' },
    { fb: { ...ON, fallbackRequestedAt: AT }, r: rev('Starting'), want: 'none' },
    // A failed verification answered this request: only a newer one asks again.
    { fb: { ...ON, fallbackRequestedAt: AT }, r: rev('Replicating', { handledFallbackAt: AT }), want: 'none' },
    { fb: { ...ON, fallbackRequestedAt: LATER }, r: rev('Replicating', { handledFallbackAt: AT }), want: 'fallback' },
    { fb: { ...ON, fallbackRequestedAt: AT }, r: rev('FellBack'), want: 'none' },
  ] as const)('$fb with $r.state → $want', ({ fb, r, want }) => {
    expect(reverseControl(fb, r)).toBe(want);
  });
});

describe('fallbackDecision', () => {
  it.each([
    { name: 'no fallbackAfterCutover', m: { state: 'Succeeded', subState: 'Completed' }, dbs: [db('a', 'Replicating')], action: 'fallback', reason: /needs a migration created with fallbackAfterCutover "True"/ },
    { name: 'before cutover', m: { state: 'WaitingForUserAction', subState: 'WaitingForCutoverTrigger', fallback: ON }, dbs: [db('a')], action: 'finalize', reason: /once the migration Succeeded and replicates to the source .* it is WaitingForUserAction \/ WaitingForCutoverTrigger/ },
    { name: 'window over', m: { state: 'Succeeded', subState: 'FellBackToSource', fallback: ON }, dbs: [db('a', 'FellBack')], action: 'fallback', reason: /it is Succeeded \/ FellBackToSource/ },
    { name: 'finalizing', m: inWindow({ ...ON, finalizeRequestedAt: AT }), dbs: [db('a', 'Replicating')], action: 'fallback', reason: /finalize was requested/ },
    { name: 'a fall back running', m: { ...inWindow(), subState: 'FallingBack' }, dbs: [db('a', 'FallingBack'), db('b', 'Replicating')], action: 'fallback', reason: /a fall back is running \(a\)/ },
    { name: 'streams not started', m: inWindow(), dbs: [db('a', 'Starting')], action: 'fallback', reason: /no database replicates to the source yet/ },
    { name: 'all ended', m: inWindow(), dbs: [db('a', 'Failed')], action: 'finalize', reason: /no database replicates/ },
  ] as const)('refuses: $name', ({ m, dbs, action, reason }) => {
    const d = fallbackDecision(m, dbs, action);
    expect(d.ok).toBe(false);
    expect(d.ok ? '' : d.reason).toMatch(reason);
  });

  it.each([
    { m: inWindow(), dbs: [db('a', 'Replicating')], action: 'fallback' },
    { m: inWindow(), dbs: [db('a', 'Replicating'), db('b', 'FellBack')], action: 'fallback' },
    { m: { ...inWindow(), subState: 'FallingBack' }, dbs: [db('a', 'FallingBack')], action: 'finalize' },
    { m: inWindow(), dbs: [db('a', 'Starting')], action: 'finalize' },
  ] as const)('allows $action with $dbs.0.reverse.state', ({ m, dbs, action }) => {
    expect(fallbackDecision(m, dbs, action)).toEqual({ ok: true });
  });
});

describe('window states', () => {
  it('is in the window only while Succeeded replicates or falls back', () => {
    expect(inFallbackWindow({ state: 'Succeeded', subState: 'ReplicatingToSource' })).toBe(true);
    expect(inFallbackWindow({ state: 'Succeeded', subState: 'FallingBack' })).toBe(true);
    expect(inFallbackWindow({ state: 'Succeeded', subState: 'Completed' })).toBe(false);
    expect(inFallbackWindow({ state: 'InProgress', subState: 'ReplicatingToSource' })).toBe(false);
  });

  it('substates follow the streams', () => {
    expect(windowSubState([db('a', 'Replicating'), db('b', 'FallingBack')])).toBe('FallingBack');
    expect(windowSubState([db('a', 'Replicating'), db('b', 'FellBack')])).toBe('ReplicatingToSource');
    expect(finalWindowSubState([db('a', 'Finalized'), db('b', 'FellBack')])).toBe('FellBackToSource');
    expect(finalWindowSubState([db('a', 'Finalized'), db('b', 'Failed'), db('c')])).toBe('Completed');
  });

  it('a new fall back request clears the last one\'s error; finalize keeps its first time', () => {
    expect(withRequest({ ...ON, error: 'old', fallbackRequestedAt: AT }, 'fallback', LATER)).toEqual({ ...ON, fallbackRequestedAt: LATER });
    expect(withRequest({ ...ON, finalizeRequestedAt: AT }, 'finalize', LATER)).toEqual({ ...ON, finalizeRequestedAt: AT });
  });

  it(`keeps the newest ${MAX_RECENT_CONFLICTS} conflicts and counts them all`, () => {
    const c = (i: number): ReverseConflict => ({ at: AT, table: '"public"."t"', operation: 'update', key: `id=${i}`, reason: 'differs', commitLsn: '0/1' });
    const r = rev('Replicating', withConflicts(rev('Replicating'), Array.from({ length: 15 }, (_, i) => c(i))));
    const next = withConflicts(r, Array.from({ length: 10 }, (_, i) => c(100 + i)));
    expect(next.conflicts).toBe(25);
    expect(next.recentConflicts).toHaveLength(MAX_RECENT_CONFLICTS);
    expect(next.recentConflicts.at(-1)?.key).toBe('id=109');
    expect(next.recentConflicts[0]?.key).toBe('id=5');
  });
});

describe('fallback PATCH verbs', () => {
  it.each([
    [{ properties: { triggerFallback: 'True' } }, 'fallback'],
    [{ properties: { TRIGGERFALLBACK: true } }, 'fallback'],
    [{ properties: { finalizeCutover: 'true' } }, 'finalize'],
    [{ Properties: { finalizeCutover: 'True', triggerFallback: 'False' } }, 'finalize'],
  ] as const)('%j → %s', (body, action) => {
    expect(mentionsFallback(body)).toBe(true);
    expect(parseFallbackPatch(body)).toEqual({ ok: true, value: action });
  });

  it.each([
    { body: { properties: { triggerFallback: 'yes' } }, field: 'properties.triggerFallback', message: 'must be "True" or "False"' },
    { body: { properties: { triggerFallback: 'True', finalizeCutover: 'True' } }, field: 'properties.finalizeCutover', message: 'cannot be "True" together with triggerFallback' },
    { body: { properties: { triggerFallback: 'False' } }, field: 'properties', message: 'changes nothing' },
    { body: { properties: { fallbackAfterCutover: 'True' } }, field: 'properties.fallbackAfterCutover', message: 'cannot be changed on an existing migration' },
    { body: { properties: { triggerFallback: 'True', triggerCutover: 'True' } }, field: 'properties.triggerCutover', message: 'is not a known field' },
    { body: { properties: { finalizeCutover: 'True', migrateRoles: 'True' } }, field: 'properties.migrateRoles', message: 'is not a known field' },
    { body: { properties: { triggerFallback: 'True' }, tags: { a: 'b' } }, field: 'tags', message: 'cannot be changed in the same PATCH' },
  ])('$body → 400 on $field', ({ body, field, message }) => {
    const parsed = parseFallbackPatch(body);
    expect(parsed.ok).toBe(false);
    const detail = parsed.ok ? undefined : parsed.error.details.find((d) => d.field === field);
    expect(detail?.message, JSON.stringify(parsed)).toContain(message);
    expect(detail?.fix.length).toBeGreaterThan(10);
  });

  it('leaves every other PATCH to the migration PATCH', () => {
    for (const body of [{ properties: { triggerCutover: 'True' } }, { properties: {} }, {}, null, 'x', { properties: 3 }]) expect(mentionsFallback(body)).toBe(false);
  });
});

describe('the window on the resource', () => {
  it('fits the strict resource schema, with the reverse stream in dbDetails', () => {
    const r = rev('Replicating', { latency: 2.4, retainedWalBytes: 4096.2, inserts: 3, appliedChanges: 5, blocked: 'table missing', message: 'older' });
    const status = reverseStatus(r);
    expect(status).toMatchObject({ state: 'Replicating', latency: 2, retainedWalBytes: 4096, insertCounter: 3, appliedChanges: 5, message: 'table missing' });
    expect(reverseStatus(rev('Finalized', { retainedWalBytes: 99, latency: 4 }))).toMatchObject({ retainedWalBytes: 0, latency: 0 });
    const props = fallbackProperties({ fallback: { ...ON, fallbackRequestedAt: AT, completedAt: LATER, seconds: 300 } } as never);
    expect(props).toEqual({ fallbackAfterCutover: 'True', triggerFallback: 'True', finalizeCutover: 'False', fallback: { fallbackRequestedOn: AT, completedOn: LATER, durationSeconds: 300 } });
    const resource = {
      id: '/x', name: 'm', type: 'Microsoft.DBforPostgreSQL/flexibleServers/migrations',
      properties: {
        migrationId: '6a1f1cde-5f8a-4b7e-9c1a-2f4b8a1e9d10', migrationMode: 'Online', migrationOption: 'Migrate', sourceType: 'OnPremises', sslMode: 'Prefer',
        targetDbServerFullyQualifiedDomainName: 't:5432', dbsToMigrate: ['a'], overwriteDbsInTarget: 'False', migrateRoles: 'False', ...props,
        currentStatus: { state: 'Succeeded', currentSubStateDetails: { currentSubState: 'ReplicatingToSource', dbDetails: { a: { databaseName: 'a', migrationState: 'Succeeded', reverseReplication: status } } } },
      },
    };
    expect(migrationResourceSchema.safeParse(resource).success).toBe(true);
    expect(fallbackProperties({} as never)).toEqual({});
  });
});

describe('fallbackAfterCutover: the target side of validation', () => {
  const params = (o: Partial<ServerParams> = {}): ServerParams => ({
    versionNum: 160004, version: '16.4', walLevel: 'logical', maxReplicationSlots: 10, maxWalSenders: 10, slotsUsed: 1, sendersUsed: 1,
    walSenderTimeoutMs: 60_000, maxSlotWalKeepSizeMb: -1, sharedPreloadLibraries: [], isSuperuser: false, canReplicate: true, canCreateDb: true, currentUser: 'azureadmin', ...o,
  });
  const codesOf = (f: ReturnType<typeof fallbackTargetFindings>) => f.map((x) => `${x.code} ${x.state}`);

  it('passes with logical decoding, free slots and senders, and REPLICATION', () => {
    expect(codesOf(fallbackTargetFindings(params(), 3, 'myflex'))).toEqual(['603964 Succeeded']);
  });

  it.each([
    { o: { walLevel: 'replica' }, code: '603960', fix: 'az postgres flexible-server parameter set --resource-group <resource-group> --server-name myflex --name wal_level --value logical, then az postgres flexible-server restart --resource-group <resource-group> --name myflex' },
    { o: { maxReplicationSlots: 4, slotsUsed: 2 }, code: '603961', fix: 'az postgres flexible-server parameter set --resource-group <resource-group> --server-name myflex --name max_replication_slots --value 7' },
    { o: { maxWalSenders: 3, sendersUsed: 1 }, code: '603962', fix: 'az postgres flexible-server parameter set --resource-group <resource-group> --server-name myflex --name max_wal_senders --value 6' },
    { o: { canReplicate: false }, code: '603963', fix: 'ALTER ROLE "azureadmin" WITH REPLICATION;' },
  ])('$code fails with the fix', ({ o, code, fix }) => {
    const found = fallbackTargetFindings(params(o), 3, 'myflex');
    expect(found.map((f) => f.code)).toEqual([code]);
    expect(found[0]?.state).toBe('Failed');
    expect(found[0]?.fix).toContain(fix);
  });
});

describe('fallbackAfterCutover under the update rules of an existing migration (shared/api/changes.ts, updates.ts)', () => {
  const NOW = '2030-01-01T00:00:00.000Z';
  const record = (o: Partial<MigrationRecord> = {}): MigrationRecord => ({
    server: 'pgtarget', name: 'm1', migrationId: '6f1f7a4e-0d7e-4d4e-9a8b-7f1b6f7c2a11',
    state: 'InProgress', subState: 'WaitingForDataMigrationScheduling',
    migrationMode: 'Online', migrationOption: 'ValidateAndMigrate', sourceType: 'OnPremises', sslMode: 'Prefer',
    source: { host: '10.0.0.4', port: 5432, user: 'migrator' }, target: { host: 'pgtarget.postgres.database.azure.com', port: 5432, user: 'azureadmin' },
    dbsToMigrate: ['a'], overwriteDbsInTarget: false, migrateRoles: false, startDataMigration: false,
    createdAt: NOW, startedOn: NOW, instanceId: 'pgferry:pgtarget:m1', fallback: ON, ...o,
  });
  const put = (o: Record<string, unknown> = {}) => {
    const parsed = parseMigrationRequest({
      properties: {
        sourceDbServerResourceId: '10.0.0.4:5432@migrator', dbsToMigrate: ['a'], migrationMode: 'Online', startDataMigration: 'False',
        secretParameters: { adminCredentials: { sourceServerPassword: 's', targetServerPassword: 't' }, targetServerUsername: 'azureadmin' }, ...o,
      },
    }, { target: { server: 'pgtarget', hostSuffix: '.postgres.database.azure.com' } });
    if (!parsed.ok) throw new Error(parsed.error.message);
    return parsed.value;
  };
  const stored = { source: 's', target: 't' };

  it('a PUT sent again keeps it; a PUT that adds or drops it is a 409 naming it (it was validated before any copy)', () => {
    expect(changesOfPut(put({ fallbackAfterCutover: 'True' }), record(), stored).fields).toMatchObject({ migrationMode: 'Online' });
    expect(() => changesOfPut(put(), record(), stored)).toThrow(/properties\.fallbackAfterCutover is true and cannot change to false/);
    expect(() => changesOfPut(put({ fallbackAfterCutover: 'True' }), record({ fallback: undefined }), stored)).toThrow(/properties\.fallbackAfterCutover is false and cannot change to true/);
  });

  it('refuses migrationMode Offline on a migration with a way back, with a 409 naming it; Offline without one is applied', () => {
    let thrown: unknown;
    try {
      applyFields(record(), { migrationMode: 'Offline' });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    expect((thrown as ApiError).status).toBe(409);
    expect((thrown as ApiError).message).toMatch(/properties\.migrationMode cannot change to Offline: .*fallbackAfterCutover/);
    expect(applyFields(record({ fallback: undefined }), { migrationMode: 'Offline' }).migrationMode).toBe('Offline');
  });
});
