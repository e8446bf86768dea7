/**
 * The PATCH body of an existing migration. A PATCH is either one action (cut over or cancel, with
 * its database list) or a change of fields that may change after creation — never both, so a
 * half-applied request cannot exist. Which field may change when is decided against the stored
 * migration, one rule per property (shared/api/updates.ts); checks of the action's databases are
 * in `checkPatchAgainst`.
 */
import { z } from 'zod';
import { MIGRATION_MODES, type MigrationMode } from './states';
import { fromSafeParse, reject, type ModelIssue, type Parsed } from './errors';
import { armEnum, armFlag } from './flags';
import { locationSchema, passwordSchema, tagsSchema, usernameSchema, utcDateTimeSchema } from './fields';
import { DEFAULT_MAX_DATABASES, databaseListSchema, databaseSubsetSchema, subsetIssues } from './names';
import { MIGRATION_PATCH_KEYS, withNormalizedKeys } from './normalize';
import type { ModelSettings } from './migration-request';

export type PatchAction = 'triggerCutover' | 'cancel' | 'update';

export interface MigrationPatchProperties {
  triggerCutover?: boolean;
  cancel?: boolean;
  /** Empty or absent: every database of the migration. */
  dbsToTriggerCutoverOn?: string[];
  /** Empty or absent: every database of the migration. */
  dbsToCancelMigrationOn?: string[];
  /** True confirms overwriting databases that already exist on the target. */
  overwriteDbsInTarget?: boolean;
  migrateRoles?: boolean;
  /** True starts a migration created with startDataMigration False. */
  startDataMigration?: boolean;
  /** Changes the mode before the data migration starts. */
  migrationMode?: MigrationMode;
  /** Moves the migration window before the data migration starts. */
  migrationWindowStartTimeInUtc?: string;
  migrationWindowEndTimeInUtc?: string;
  /** Refused unless it repeats the stored list: pgferry takes the databases at creation. */
  dbsToMigrate?: string[];
  /** New credentials, e.g. after a password rotation; stored encrypted, never echoed. */
  secretParameters?: {
    adminCredentials?: { sourceServerPassword?: string; targetServerPassword?: string };
    sourceServerUsername?: string;
    targetServerUsername?: string;
  };
}

export interface MigrationPatch {
  /** What the PATCH does; `update` when it only changes fields. */
  action: PatchAction;
  tags?: Record<string, string>;
  /** A migration cannot move: a location other than the stored one is refused. */
  location?: string;
  properties: MigrationPatchProperties;
}

/** Fields fixed at creation: changing them would invalidate the slots and copies already made. */
export const FIXED_AT_CREATION = [
  'migrationOption',
  'sourceType',
  'sslMode',
  'sourceDbServerResourceId',
  'sourceDbServerFullyQualifiedDomainName',
  'targetDbServerFullyQualifiedDomainName',
  'migrationInstanceResourceId',
] as const;

const ACTIONS = [
  { flag: 'triggerCutover', list: 'dbsToTriggerCutoverOn', action: 'triggerCutover' },
  { flag: 'cancel', list: 'dbsToCancelMigrationOn', action: 'cancel' },
  // Refused when "True" (pgferry cannot set up the source), but still one action among the others.
  { flag: 'setupLogicalReplicationOnSourceDbIfNeeded', list: undefined, action: 'setupLogicalReplication' },
] as const;

const secretParametersPatchSchema = z
  .object({
    adminCredentials: z
      .object({ sourceServerPassword: passwordSchema.optional(), targetServerPassword: passwordSchema.optional() })
      .strict()
      .optional(),
    sourceServerUsername: usernameSchema.optional(),
    targetServerUsername: usernameSchema.optional(),
  })
  .strict();

function propertiesSchema(maxDatabases: number) {
  const fixed = Object.fromEntries(FIXED_AT_CREATION.map((key) => [key, z.unknown()])) as Record<
    (typeof FIXED_AT_CREATION)[number],
    z.ZodUnknown
  >;
  return z
    .object({
      triggerCutover: armFlag.optional(),
      cancel: armFlag.optional(),
      setupLogicalReplicationOnSourceDbIfNeeded: armFlag.optional(),
      dbsToTriggerCutoverOn: databaseSubsetSchema.optional(),
      dbsToCancelMigrationOn: databaseSubsetSchema.optional(),
      overwriteDbsInTarget: armFlag.optional(),
      migrateRoles: armFlag.optional(),
      startDataMigration: armFlag.optional(),
      migrationMode: armEnum(MIGRATION_MODES).optional(),
      migrationWindowStartTimeInUtc: utcDateTimeSchema.optional(),
      migrationWindowEndTimeInUtc: utcDateTimeSchema.optional(),
      dbsToMigrate: databaseListSchema(maxDatabases).optional(),
      secretParameters: secretParametersPatchSchema.optional(),
      // Where the Azure VM tutorial's file puts the target login; read as secretParameters.targetServerUsername.
      targetServerUsername: usernameSchema.optional(),
      ...fixed,
    })
    .strict();
}

type PatchInput = z.infer<ReturnType<typeof propertiesSchema>>;

function chosenActions(p: PatchInput) {
  return ACTIONS.filter((a) => p[a.flag] === true);
}

/** Keys that change something, leaving out action flags that are False (a no-op). */
function changedFields(p: PatchInput): string[] {
  const actionFlags = new Set<string>(ACTIONS.map((a) => a.flag));
  return Object.keys(p).filter((key) => p[key as keyof PatchInput] !== undefined && !(actionFlags.has(key) && p[key as keyof PatchInput] !== true));
}

/** The PATCH body schema; input is raw JSON (any key case), output a MigrationPatch. */
export function migrationPatchSchema(settings: Partial<ModelSettings> = {}) {
  const body = z
    .object({
      properties: propertiesSchema(settings.maxDatabases ?? DEFAULT_MAX_DATABASES).optional(),
      tags: tagsSchema.optional(),
      location: locationSchema.optional(),
    })
    .strict()
    .superRefine(({ properties: p = {}, tags, location }, ctx) => {
      const at = (key: string) => ['properties', key];
      if (p.setupLogicalReplicationOnSourceDbIfNeeded === true) {
        reject(
          ctx,
          'is "True", but pgferry cannot change the source server\'s parameters or restart it',
          'Set wal_level = logical on the source yourself (ALTER SYSTEM SET wal_level = logical, then restart; on a managed source, its logical replication parameter); validation names what is missing.',
          at('setupLogicalReplicationOnSourceDbIfNeeded'),
        );
      }
      const inSecrets = p.secretParameters?.targetServerUsername;
      if (inSecrets !== undefined && p.targetServerUsername !== undefined && inSecrets !== p.targetServerUsername) {
        reject(ctx, 'differs from secretParameters.targetServerUsername', 'Name the target login once, in secretParameters.targetServerUsername.', at('targetServerUsername'));
      }
      for (const key of FIXED_AT_CREATION) {
        if (p[key] !== undefined) {
          reject(ctx, 'cannot be changed on an existing migration', 'Remove it from the PATCH; to use other servers or options, create a new migration.', at(key));
        }
      }
      const actions = chosenActions(p);
      const [first, second] = actions;
      if (first !== undefined && second !== undefined) {
        reject(ctx, `cannot be "True" together with ${first.flag}`, `Send one action per PATCH: either ${first.flag} or ${second.flag}.`, at(second.flag));
      }
      for (const { flag, list } of ACTIONS) {
        if (list !== undefined && (p[list]?.length ?? 0) > 0 && p[flag] !== true) {
          reject(ctx, `lists databases but ${flag} is not "True"`, `Set ${flag} to "True" in the same PATCH, or remove ${list}.`, at(list));
        }
      }
      if (first !== undefined) {
        const allowed = new Set<string>(ACTIONS.flatMap((a) => [a.flag, a.list ?? a.flag]));
        for (const key of changedFields(p)) {
          if (allowed.has(key) || (FIXED_AT_CREATION as readonly string[]).includes(key)) continue;
          reject(
            ctx,
            `cannot be changed in the same PATCH as ${first.flag}`,
            `Send ${first.flag} on its own${first.list === undefined ? '' : ` (with ${first.list})`}, and this change in a separate PATCH.`,
            at(key),
          );
        }
      } else if (changedFields(p).length === 0 && tags === undefined && location === undefined) {
        reject(
          ctx,
          'is missing or changes nothing',
          'Send {"properties": {"triggerCutover": "True"}} to cut over, {"properties": {"cancel": "True"}} to cancel, or the fields to change.',
          ['properties'],
        );
      }
      const start = p.migrationWindowStartTimeInUtc;
      const end = p.migrationWindowEndTimeInUtc;
      if (start !== undefined && end !== undefined && end <= start) {
        reject(ctx, 'is not after migrationWindowStartTimeInUtc', 'Set the end of the migration window after its start (both in UTC).', at('migrationWindowEndTimeInUtc'));
      }
    })
    .transform(({ properties: p = {}, tags, location }): MigrationPatch => {
      const properties: MigrationPatchProperties = {};
      for (const key of changedFields(p)) {
        if ((FIXED_AT_CREATION as readonly string[]).includes(key) || key === 'targetServerUsername' || key === 'setupLogicalReplicationOnSourceDbIfNeeded') continue;
        Object.assign(properties, { [key]: p[key as keyof PatchInput] });
      }
      if (p.targetServerUsername !== undefined) properties.secretParameters = { ...properties.secretParameters, targetServerUsername: p.targetServerUsername };
      const action = chosenActions(p)[0]?.action;
      return { action: action === 'triggerCutover' || action === 'cancel' ? action : 'update', ...(tags !== undefined && { tags }), ...(location !== undefined && { location }), properties };
    });
  return withNormalizedKeys(MIGRATION_PATCH_KEYS, body);
}

export function parseMigrationPatch(body: unknown, settings: Partial<ModelSettings> = {}): Parsed<MigrationPatch> {
  return fromSafeParse(migrationPatchSchema(settings).safeParse(body));
}

/**
 * Checks a parsed PATCH against the stored migration: the databases an action names must be
 * among `existingDbs`, and cutover needs an Online migration. Empty when the PATCH fits.
 */
export function checkPatchAgainst(existingDbs: readonly string[], patch: MigrationPatch, migrationMode?: MigrationMode): ModelIssue[] {
  const issues: ModelIssue[] = [];
  const p = patch.properties;
  if (p.triggerCutover === true && migrationMode === 'Offline') {
    issues.push({
      path: ['properties', 'triggerCutover'],
      message: 'is "True", but this migration is Offline and cutover applies only to Online migrations',
      fix: 'Remove triggerCutover: an Offline migration completes on its own after the copy.',
    });
  }
  issues.push(...subsetIssues(p.dbsToTriggerCutoverOn ?? [], existingDbs, ['properties', 'dbsToTriggerCutoverOn']));
  issues.push(...subsetIssues(p.dbsToCancelMigrationOn ?? [], existingDbs, ['properties', 'dbsToCancelMigrationOn']));
  return issues;
}

/** The databases an action applies to: its list when given and non-empty, else all of them. */
export function actionDatabases(existingDbs: readonly string[], patch: MigrationPatch): string[] {
  const list = patch.action === 'triggerCutover' ? patch.properties.dbsToTriggerCutoverOn : patch.action === 'cancel' ? patch.properties.dbsToCancelMigrationOn : undefined;
  return list !== undefined && list.length > 0 ? [...list] : [...existingDbs];
}
