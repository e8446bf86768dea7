/**
 * What a PATCH — or a PUT on an existing migration — may change, one rule per ARM property.
 * Every property is either applied or refused with a 409 that names it and says why; a value
 * equal to the stored one is no change and always accepted (so a PUT can be sent again).
 *
 *   until 'dataMigration'  applied while the migration has not started its data migration (the
 *                          substates of shared/model/states.ts BEFORE_DATA_SUBSTATES); the
 *                          workflow reads them from the row when step 3 opens the data migration
 *   until 'end'            applied until the migration ends (passwords: rotation)
 *   until 'never'          fixed at creation
 * Tags change at any time, even on a migration that ended (as on any ARM resource).
 *
 * The rules are checked on the stored row and again inside the write that applies them, so a
 * change never lands after the moment that made it meaningless.
 */
import { BEFORE_DATA_SUBSTATES, isTerminal, type MigrationMode } from '../model/states';
import type { MigrationRecord } from '../store/migrations';
import { RequestValidationError } from '../model/errors';
import { conflict, type ApiError } from './errors';

/** Field changes a request asks for (canonical ARM names; passwords and logins flattened). */
export interface FieldChanges {
  overwriteDbsInTarget?: boolean;
  migrateRoles?: boolean;
  startDataMigration?: boolean;
  migrationMode?: MigrationMode;
  /** Null removes the window's start (a PUT without it). */
  migrationWindowStartTimeInUtc?: string | null;
  migrationWindowEndTimeInUtc?: string | null;
  dbsToMigrate?: string[];
  sourceServerUsername?: string;
  targetServerUsername?: string;
  sourceServerPassword?: string;
  targetServerPassword?: string;
}

export type FieldName = keyof FieldChanges;

type Until = 'dataMigration' | 'end' | 'never';

interface FieldRule<K extends FieldName> {
  until: Until;
  /** The stored value; undefined for write-only fields, whose every value counts as a change. */
  stored(m: MigrationRecord): FieldChanges[K] | undefined;
  /** The row with the change (write-only fields are stored elsewhere: the row is unchanged). */
  apply(m: MigrationRecord, value: NonNullable<FieldChanges[K]> | null): MigrationRecord;
  /** Why the change is refused once `until` has passed. */
  why: string;
}

const WINDOW_WHY = 'the window is waited for before the data migration starts; it has started';

/** The table: one rule per updatable property. */
export const FIELD_RULES: { [K in FieldName]-?: FieldRule<K> } = {
  overwriteDbsInTarget: {
    until: 'dataMigration',
    stored: (m) => m.overwriteDbsInTarget,
    apply: (m, v) => ({ ...m, overwriteDbsInTarget: v === true }),
    why: 'the target databases were prepared when the data migration started',
  },
  migrateRoles: {
    until: 'dataMigration',
    stored: (m) => m.migrateRoles,
    apply: (m, v) => ({ ...m, migrateRoles: v === true }),
    why: 'the roles are migrated when the data migration starts, and it has started',
  },
  startDataMigration: {
    until: 'dataMigration',
    stored: (m) => m.startDataMigration ?? true,
    apply: (m, v) => ({ ...m, startDataMigration: v === true }),
    why: 'the data migration has started',
  },
  migrationMode: {
    until: 'dataMigration',
    stored: (m) => m.migrationMode,
    apply: (m, v) => (v === null ? m : { ...m, migrationMode: v }),
    why: 'each database was started in its mode when the data migration started',
  },
  migrationWindowStartTimeInUtc: {
    until: 'dataMigration',
    stored: (m) => m.migrationWindowStartTimeInUtc ?? null,
    apply: (m, v) => withOptional(m, 'migrationWindowStartTimeInUtc', v),
    why: WINDOW_WHY,
  },
  migrationWindowEndTimeInUtc: {
    until: 'dataMigration',
    stored: (m) => m.migrationWindowEndTimeInUtc ?? null,
    apply: (m, v) => withOptional(m, 'migrationWindowEndTimeInUtc', v),
    why: WINDOW_WHY,
  },
  dbsToMigrate: {
    until: 'never',
    stored: (m) => m.dbsToMigrate,
    apply: (m) => m,
    why: 'pgferry takes the databases at creation (it never waits in WaitingForDBsToMigrateSpecification); create another migration for other databases',
  },
  sourceServerUsername: {
    until: 'dataMigration',
    stored: (m) => m.source.user,
    apply: (m, v) => (v === null ? m : { ...m, source: { ...m.source, user: v } }),
    why: 'objects and the replication slots were created as the old login once the data migration started',
  },
  targetServerUsername: {
    until: 'dataMigration',
    stored: (m) => m.target.user,
    apply: (m, v) => (v === null ? m : { ...m, target: { ...m.target, user: v } }),
    why: 'objects were created on the target as the old login once the data migration started',
  },
  sourceServerPassword: { until: 'end', stored: () => undefined, apply: (m) => m, why: 'the migration has ended and its credentials are deleted' },
  targetServerPassword: { until: 'end', stored: () => undefined, apply: (m) => m, why: 'the migration has ended and its credentials are deleted' },
};

/** Where each field sits in a request body, for the 409's message and the docs. */
export const FIELD_PATHS: Readonly<Record<FieldName, string>> = {
  overwriteDbsInTarget: 'properties.overwriteDbsInTarget',
  migrateRoles: 'properties.migrateRoles',
  startDataMigration: 'properties.startDataMigration',
  migrationMode: 'properties.migrationMode',
  migrationWindowStartTimeInUtc: 'properties.migrationWindowStartTimeInUtc',
  migrationWindowEndTimeInUtc: 'properties.migrationWindowEndTimeInUtc',
  dbsToMigrate: 'properties.dbsToMigrate',
  sourceServerUsername: 'properties.secretParameters.sourceServerUsername',
  targetServerUsername: 'properties.secretParameters.targetServerUsername',
  sourceServerPassword: 'properties.secretParameters.adminCredentials.sourceServerPassword',
  targetServerPassword: 'properties.secretParameters.adminCredentials.targetServerPassword',
};

function withOptional<K extends 'migrationWindowStartTimeInUtc' | 'migrationWindowEndTimeInUtc'>(m: MigrationRecord, key: K, v: string | null): MigrationRecord {
  const next = { ...m };
  if (v === null) delete next[key];
  else next[key] = v;
  return next;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether the migration is still before its data migration (what 'dataMigration' rules need). */
export function beforeDataMigration(m: MigrationRecord): boolean {
  return m.state === 'InProgress' && (BEFORE_DATA_SUBSTATES as readonly string[]).includes(m.subState);
}

/** The fields of `changes` that differ from the row (equal values are no change). */
export function changedFields(m: MigrationRecord, changes: FieldChanges): FieldName[] {
  return (Object.keys(changes) as FieldName[]).filter((k) => changes[k] !== undefined && !same(changes[k], FIELD_RULES[k].stored(m)));
}

/** Why `field` may not change on `m` now, or undefined when it may. */
export function refusal(m: MigrationRecord, field: FieldName): string | undefined {
  const rule = FIELD_RULES[field];
  if (rule.until === 'never') return rule.why;
  if (isTerminal(m.state)) return `the migration has ended ${m.state}; only tags can change now`;
  if (rule.until === 'end') return undefined;
  if (m.migrationOption === 'Validate') return 'this migration only validates (migrationOption Validate) and has no data migration';
  return beforeDataMigration(m) ? undefined : `${rule.why} (the migration is ${m.state} / ${m.subState})`;
}

/** The 409 for fields that may not change now, naming each. */
export function refuseChanges(m: MigrationRecord, fields: readonly FieldName[]): ApiError | undefined {
  const refused = fields.map((f) => [f, refusal(m, f)] as const).filter((r): r is readonly [FieldName, string] => r[1] !== undefined);
  if (refused.length === 0) return undefined;
  const what = refused.map(([f, why]) => `${FIELD_PATHS[f]} cannot change: ${why}`).join('; ');
  return conflict('PropertyChangeNotAllowed', `Migration ${m.name} on server ${m.server}: ${what}`);
}

/**
 * The row with `changes` applied, checked against this row (the one being written): throws the
 * 409 when a field may not change any more. The window must still end after it starts.
 */
export function applyFields(m: MigrationRecord, changes: FieldChanges): MigrationRecord {
  const fields = changedFields(m, changes);
  const refused = refuseChanges(m, fields);
  if (refused) throw refused;
  let next = m;
  for (const f of fields) next = (FIELD_RULES[f] as FieldRule<FieldName>).apply(next, (changes[f] ?? null) as never);
  if (next.fallback?.enabled === true && next.migrationMode === 'Offline') {
    // The way back needs the reverse stream an Online cutover starts (the request's model refuses the pair at creation).
    throw conflict('PropertyChangeNotAllowed', `Migration ${m.name} on server ${m.server}: ${FIELD_PATHS.migrationMode} cannot change to Offline: the migration keeps a way back after cutover (fallbackAfterCutover "True"), which needs Online`);
  }
  const start = next.migrationWindowStartTimeInUtc;
  const end = next.migrationWindowEndTimeInUtc;
  if (start !== undefined && end !== undefined && end <= start) {
    throw RequestValidationError.from([{
      path: ['properties', 'migrationWindowEndTimeInUtc'],
      message: `(${end}) is not after migrationWindowStartTimeInUtc (${start})`,
      fix: 'Set the end of the migration window after its start (both in UTC).',
    }]);
  }
  return next;
}
