/**
 * A request to change an existing migration, whichever way it came: a PATCH, or a PUT on a name
 * that exists (ARM's PUT is create-or-update). Either is one action (cutover or cancel, with its
 * databases) or field changes (shared/api/updates.ts), plus tags. A PUT replaces the resource as
 * ARM's does: what it leaves out takes its default; a property fixed at creation that it changes
 * is refused with a 409 naming it.
 */
import type { MigrationPatch } from '../model/migration-patch';
import type { MigrationRequest } from '../model/migration-request';
import { RequestValidationError } from '../model/errors';
import type { MigrationRecord } from '../store/migrations';
import { conflict } from './errors';
import type { FieldChanges } from './updates';

export interface ChangeSet {
  /** Cutover or cancel; `dbs` absent or empty: every database. */
  action?: { kind: 'triggerCutover' | 'cancel'; dbs?: string[] };
  fields: FieldChanges;
  tags?: Record<string, string>;
  /** As sent; a migration cannot move, so it must equal the stored location. */
  location?: string;
}

export function changesOfPatch(patch: MigrationPatch): ChangeSet {
  const p = patch.properties;
  const admin = p.secretParameters?.adminCredentials;
  const fields: FieldChanges = {
    ...(p.overwriteDbsInTarget !== undefined ? { overwriteDbsInTarget: p.overwriteDbsInTarget } : {}),
    ...(p.migrateRoles !== undefined ? { migrateRoles: p.migrateRoles } : {}),
    ...(p.startDataMigration !== undefined ? { startDataMigration: p.startDataMigration } : {}),
    ...(p.migrationMode !== undefined ? { migrationMode: p.migrationMode } : {}),
    ...(p.migrationWindowStartTimeInUtc !== undefined ? { migrationWindowStartTimeInUtc: p.migrationWindowStartTimeInUtc } : {}),
    ...(p.migrationWindowEndTimeInUtc !== undefined ? { migrationWindowEndTimeInUtc: p.migrationWindowEndTimeInUtc } : {}),
    ...(p.dbsToMigrate !== undefined ? { dbsToMigrate: p.dbsToMigrate } : {}),
    ...(p.secretParameters?.sourceServerUsername !== undefined ? { sourceServerUsername: p.secretParameters.sourceServerUsername } : {}),
    ...(p.secretParameters?.targetServerUsername !== undefined ? { targetServerUsername: p.secretParameters.targetServerUsername } : {}),
    ...(admin?.sourceServerPassword !== undefined ? { sourceServerPassword: admin.sourceServerPassword } : {}),
    ...(admin?.targetServerPassword !== undefined ? { targetServerPassword: admin.targetServerPassword } : {}),
  };
  const action = patch.action === 'triggerCutover'
    ? { kind: 'triggerCutover' as const, ...(p.dbsToTriggerCutoverOn ? { dbs: p.dbsToTriggerCutoverOn } : {}) }
    : patch.action === 'cancel'
      ? { kind: 'cancel' as const, ...(p.dbsToCancelMigrationOn ? { dbs: p.dbsToCancelMigrationOn } : {}) }
      : undefined;
  return { ...(action ? { action } : {}), fields, ...(patch.tags ? { tags: patch.tags } : {}), ...(patch.location ? { location: patch.location } : {}) };
}

/** Properties fixed at creation: the request's value and the stored one, compared as text. */
const FIXED: ReadonlyArray<readonly [string, (r: MigrationRequest) => unknown, (m: MigrationRecord) => unknown]> = [
  ['properties.migrationOption', (r) => r.properties.migrationOption, (m) => m.migrationOption],
  ['properties.sourceType', (r) => r.properties.sourceType, (m) => m.sourceType],
  ['properties.sslMode', (r) => r.properties.sslMode, (m) => m.sslMode],
  // The source and target servers, wherever the request named them (the logins are updatable fields).
  ['properties.sourceDbServerResourceId', (r) => `${r.source.host}:${r.source.port}`, (m) => `${m.source.host}:${m.source.port}`],
  ['properties.targetDbServerFullyQualifiedDomainName', (r) => `${r.target.host}:${r.target.port}`, (m) => `${m.target.host}:${m.target.port}`],
  ['properties.migrationInstanceResourceId', (r) => r.properties.migrationInstanceResourceId ?? null, (m) => m.migrationInstanceResourceId ?? null],
  // Validation checked the way back before any copy, and cutover makes its slot: it cannot come or go later.
  ['properties.fallbackAfterCutover', (r) => r.properties.fallbackAfterCutover, (m) => m.fallback?.enabled === true],
];

/**
 * The changes a PUT on an existing migration asks for. Passwords are write-only: `storedPasswords`
 * (the decrypted ones) tell a new password from the one already held.
 */
export function changesOfPut(req: MigrationRequest, m: MigrationRecord, storedPasswords: { source: string; target: string } | undefined): ChangeSet {
  const fixed = FIXED.filter(([, of, stored]) => JSON.stringify(of(req)) !== JSON.stringify(stored(m)));
  if (fixed.length > 0) {
    const what = fixed.map(([path, of, stored]) => `${path} is ${JSON.stringify(stored(m))} and cannot change to ${JSON.stringify(of(req))}`).join('; ');
    throw conflict('PropertyChangeNotAllowed', `Migration ${m.name} already exists on server ${m.server}, and a PUT may change only its updatable properties: ${what}. Create a migration with another name to use other servers or options`);
  }
  const p = req.properties;
  const admin = p.secretParameters.adminCredentials;
  const fields: FieldChanges = {
    overwriteDbsInTarget: p.overwriteDbsInTarget,
    migrateRoles: p.migrateRoles,
    startDataMigration: p.startDataMigration,
    migrationMode: p.migrationMode,
    migrationWindowStartTimeInUtc: p.migrationWindowStartTimeInUtc ?? null,
    migrationWindowEndTimeInUtc: p.migrationWindowEndTimeInUtc ?? null,
    dbsToMigrate: p.dbsToMigrate,
    sourceServerUsername: req.source.user,
    targetServerUsername: req.target.user,
    ...(admin.sourceServerPassword !== storedPasswords?.source ? { sourceServerPassword: admin.sourceServerPassword } : {}),
    ...(admin.targetServerPassword !== storedPasswords?.target ? { targetServerPassword: admin.targetServerPassword } : {}),
  };
  if (p.triggerCutover && p.cancel) {
    throw RequestValidationError.from([{ path: ['properties', 'cancel'], message: 'cannot be "True" together with triggerCutover', fix: 'Send either triggerCutover or cancel, not both.' }]);
  }
  const action = p.triggerCutover
    ? { kind: 'triggerCutover' as const, ...(p.dbsToTriggerCutoverOn ? { dbs: p.dbsToTriggerCutoverOn } : {}) }
    : p.cancel
      ? { kind: 'cancel' as const, ...(p.dbsToCancelMigrationOn ? { dbs: p.dbsToCancelMigrationOn } : {}) }
      : undefined;
  return { ...(action ? { action } : {}), fields, tags: req.tags ?? {}, ...(req.location ? { location: req.location } : {}) };
}
