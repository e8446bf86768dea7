/**
 * The PUT body of a migration, `{ properties, location?, tags? }`, in the ARM / az CLI shape.
 * Fields are checked one by one, then against each other; the result carries the resolved
 * source and target addresses so no later code parses `host:port@user` again. Where ARM leaves a
 * value open, the default is the az CLI's (migrationMode Offline, ValidateAndMigrate); the target
 * defaults to the route's server (shared/model/target.ts).
 */
import { z } from 'zod';
import { MIGRATION_MODES, MIGRATION_OPTIONS, SOURCE_TYPES, SSL_MODES } from './states';
import type { MigrationMode, MigrationOption, SourceType, SslMode } from './states';
import { fromSafeParse, reject, type Parsed } from './errors';
import { armEnum, armFlag } from './flags';
import { DEFAULT_PORT, sameServer } from './endpoints';
import { hostPortField, locationSchema, passwordSchema, sourceResourceIdField, tagsSchema, usernameSchema, utcDateTimeSchema } from './fields';
import { DEFAULT_MAX_DATABASES, databaseListSchema, databaseSubsetSchema, subsetIssues } from './names';
import { MIGRATION_BODY_KEYS, withNormalizedKeys } from './normalize';
import { targetAddressOf, type TargetDefaults } from './target';

/** What the model needs from the app settings and the route. */
export interface ModelSettings {
  /** Most databases one migration may list (PGFERRY_MAX_DATABASES). */
  maxDatabases: number;
  /** The route's server and the settings that place it: the target when the request names none. */
  target?: TargetDefaults;
}

/** ARM's default SSL mode: VerifyFull for a Single Server source (its certificate is Azure's), Prefer otherwise. */
export function defaultSslMode(sourceType: SourceType): SslMode {
  return sourceType === 'PostgreSQLSingleServer' ? 'VerifyFull' : 'Prefer';
}

export interface SecretParameters {
  adminCredentials: {
    sourceServerPassword: string;
    targetServerPassword: string;
  };
  /** When absent, the `@user` part of sourceDbServerResourceId names the source login. */
  sourceServerUsername?: string;
  /** When absent, PGFERRY_TARGET_USERNAME (ARM would use the target's admin login). */
  targetServerUsername?: string;
}

/** `properties` after parsing: canonical keys, exact ARM enum spellings, flags as booleans. */
export interface MigrationRequestProperties {
  /** Online keeps replicating changes after the copy until cutover; Offline stops after the copy. */
  migrationMode: MigrationMode;
  migrationOption: MigrationOption;
  sourceType: SourceType;
  sslMode: SslMode;
  /** As sent: `host:port@user` or an Azure server resource id. */
  sourceDbServerResourceId?: string;
  /** As sent; when set, its host wins over sourceDbServerResourceId's. */
  sourceDbServerFullyQualifiedDomainName?: string;
  /** As sent; absent: the route's server (`{server}.postgres.database.azure.com` or the settings'). */
  targetDbServerFullyQualifiedDomainName?: string;
  /** Write-only: stored encrypted, never echoed. */
  secretParameters: SecretParameters;
  dbsToMigrate: string[];
  /** When false and a database exists on the target, the run waits for confirmation. */
  overwriteDbsInTarget: boolean;
  migrateRoles: boolean;
  setupLogicalReplicationOnSourceDbIfNeeded: boolean;
  /** False holds the run in WaitingForDataMigrationScheduling until a PATCH starts it. */
  startDataMigration: boolean;
  triggerCutover: boolean;
  cancel: boolean;
  /** Empty or absent: all of dbsToMigrate. */
  dbsToTriggerCutoverOn?: string[];
  dbsToCancelMigrationOn?: string[];
  /** UTC, as `toISOString()`. */
  migrationWindowStartTimeInUtc?: string;
  migrationWindowEndTimeInUtc?: string;
  /** ARM's runtime server: stored and shown as given (pgferry runs in its own function app). */
  migrationInstanceResourceId?: string;
  /** pgferry: keep a way back after cutover (reverse replication until finalize or fall back; docs/runbook-cutover.md). */
  fallbackAfterCutover: boolean;
}

/** Where pgferry connects, resolved from the ARM fields. */
export interface ResolvedServer {
  /** Host name or IP; IPv6 without brackets. */
  host: string;
  port: number;
  user: string;
}

export interface MigrationRequest {
  location?: string;
  tags?: Record<string, string>;
  properties: MigrationRequestProperties;
  source: ResolvedServer & {
    /** Set when the source was named by its Azure resource id. */
    azureServerName?: string;
  };
  target: ResolvedServer;
}

const secretParametersSchema = z
  .object({
    adminCredentials: z.object({ sourceServerPassword: passwordSchema, targetServerPassword: passwordSchema }).strict(),
    sourceServerUsername: usernameSchema.optional(),
    targetServerUsername: usernameSchema.optional(),
  })
  .strict();

function propertiesSchema(maxDatabases: number, targetDefaults: TargetDefaults | undefined) {
  return z
    .object({
      // The az CLI's default (`--migration-mode offline`); ARM leaves it open.
      migrationMode: armEnum(MIGRATION_MODES).default('Offline'),
      migrationOption: armEnum(MIGRATION_OPTIONS).default('ValidateAndMigrate'),
      sourceType: armEnum(SOURCE_TYPES).default('OnPremises'),
      sslMode: armEnum(SSL_MODES).optional(),
      sourceDbServerResourceId: sourceResourceIdField.optional(),
      sourceDbServerFullyQualifiedDomainName: hostPortField('pg.contoso.com:5432').optional(),
      targetDbServerFullyQualifiedDomainName: hostPortField('myserver.postgres.database.azure.com').optional(),
      secretParameters: secretParametersSchema,
      // The Azure VM tutorial's file puts the target login beside secretParameters, not in it.
      targetServerUsername: usernameSchema.optional(),
      dbsToMigrate: databaseListSchema(maxDatabases),
      overwriteDbsInTarget: armFlag.default(false),
      migrateRoles: armFlag.default(false),
      setupLogicalReplicationOnSourceDbIfNeeded: armFlag.default(false),
      startDataMigration: armFlag.default(true),
      triggerCutover: armFlag.default(false),
      cancel: armFlag.default(false),
      dbsToTriggerCutoverOn: databaseSubsetSchema.optional(),
      dbsToCancelMigrationOn: databaseSubsetSchema.optional(),
      migrationWindowStartTimeInUtc: utcDateTimeSchema.optional(),
      migrationWindowEndTimeInUtc: utcDateTimeSchema.optional(),
      migrationInstanceResourceId: z.string().min(1).max(1024).optional(),
      fallbackAfterCutover: armFlag.default(false),
    })
    .strict()
    .superRefine((p, ctx) => {
      const resourceId = p.sourceDbServerResourceId?.address;
      const fqdn = p.sourceDbServerFullyQualifiedDomainName?.address;
      if (resourceId === undefined && fqdn === undefined) {
        reject(
          ctx,
          'is required unless sourceDbServerFullyQualifiedDomainName is set',
          'Set sourceDbServerResourceId to "host:port@user" (e.g. "10.0.0.4:5432@migrator") or a Single Server resource id, or set sourceDbServerFullyQualifiedDomainName to the source host.',
          ['sourceDbServerResourceId'],
        );
      }
      if (p.secretParameters.sourceServerUsername === undefined && resourceId?.user === undefined) {
        reject(
          ctx,
          'is required when sourceDbServerResourceId names no user',
          'Set properties.secretParameters.sourceServerUsername, or end properties.sourceDbServerResourceId with "@<user>", as in "10.0.0.4:5432@migrator".',
          ['secretParameters', 'sourceServerUsername'],
        );
      }
      const target = targetAddressOf(p.targetDbServerFullyQualifiedDomainName?.address, targetDefaults);
      if (!target.ok) reject(ctx, target.message, target.fix, ['targetDbServerFullyQualifiedDomainName']);
      const inSecrets = p.secretParameters.targetServerUsername;
      if (inSecrets !== undefined && p.targetServerUsername !== undefined && inSecrets !== p.targetServerUsername) {
        reject(ctx, 'differs from secretParameters.targetServerUsername', 'Name the target login once, in secretParameters.targetServerUsername.', ['targetServerUsername']);
      }
      if ((inSecrets ?? p.targetServerUsername ?? targetDefaults?.username) === undefined) {
        reject(
          ctx,
          'is required: no target login is named and PGFERRY_TARGET_USERNAME is not set',
          'Set properties.secretParameters.targetServerUsername to the target login (its admin or a member of azure_pg_admin): Azure fills this in with the server\'s admin login, but pgferry cannot look it up; or set the app setting PGFERRY_TARGET_USERNAME.',
          ['secretParameters', 'targetServerUsername'],
        );
      }
      const sourceHost = fqdn?.host ?? resourceId?.host;
      if (sourceHost !== undefined && target.ok) {
        const source = { host: sourceHost, port: fqdn?.port ?? resourceId?.port ?? DEFAULT_PORT };
        if (sameServer(source, target)) {
          reject(
            ctx,
            `points at the source server (${target.defaulted ? 'the default target of the route' : 'as given'})`,
            'Set it to the target server: migrating a server onto itself would overwrite the databases being read.',
            ['targetDbServerFullyQualifiedDomainName'],
          );
        }
      }
      if (p.setupLogicalReplicationOnSourceDbIfNeeded) {
        reject(
          ctx,
          'is "True", but pgferry cannot change the source server\'s parameters or restart it',
          'Set wal_level = logical on the source yourself (ALTER SYSTEM SET wal_level = logical, then restart; on a managed source, its logical replication parameter) and send "False" or leave it out; validation names what is missing.',
          ['setupLogicalReplicationOnSourceDbIfNeeded'],
        );
      }
      if (p.triggerCutover && p.migrationMode === 'Offline') {
        reject(
          ctx,
          'is "True", but cutover applies only to Online migrations',
          'Remove triggerCutover, or set migrationMode to "Online"; an Offline migration completes on its own after the copy.',
          ['triggerCutover'],
        );
      }
      if (p.fallbackAfterCutover && p.migrationMode === 'Offline') {
        reject(
          ctx,
          'is "True", but a way back after cutover needs an Online migration',
          'Set migrationMode to "Online" (the target\'s changes flow back to the source until you finalize or fall back), or remove fallbackAfterCutover.',
          ['fallbackAfterCutover'],
        );
      }
      if (p.triggerCutover && p.cancel) {
        reject(ctx, 'cannot be "True" together with triggerCutover', 'Send either triggerCutover or cancel, not both.', ['cancel']);
      }
      for (const [list, flag, action] of [
        ['dbsToTriggerCutoverOn', 'triggerCutover', p.triggerCutover],
        ['dbsToCancelMigrationOn', 'cancel', p.cancel],
      ] as const) {
        const names = p[list];
        if (names === undefined) continue;
        if (names.length > 0 && !action) {
          reject(ctx, `lists databases but ${flag} is not "True"`, `Set ${flag} to "True" as well, or remove ${list}.`, [list]);
        }
        for (const issue of subsetIssues(names, p.dbsToMigrate, [list])) reject(ctx, issue.message, issue.fix, issue.path);
      }
      const start = p.migrationWindowStartTimeInUtc;
      const end = p.migrationWindowEndTimeInUtc;
      if (start !== undefined && end !== undefined && end <= start) {
        reject(
          ctx,
          'is not after migrationWindowStartTimeInUtc',
          'Set the end of the migration window after its start (both in UTC).',
          ['migrationWindowEndTimeInUtc'],
        );
      }
    })
    .transform((p): Omit<MigrationRequest, 'location' | 'tags'> => {
      const resourceId = p.sourceDbServerResourceId?.address;
      const fqdn = p.sourceDbServerFullyQualifiedDomainName?.address;
      const target = targetAddressOf(p.targetDbServerFullyQualifiedDomainName?.address, targetDefaults);
      const { sourceDbServerResourceId, sourceDbServerFullyQualifiedDomainName, targetDbServerFullyQualifiedDomainName, targetServerUsername, sslMode, ...rest } = p;
      const targetUser = p.secretParameters.targetServerUsername ?? targetServerUsername ?? targetDefaults?.username ?? '';
      const properties: MigrationRequestProperties = {
        ...rest,
        sslMode: sslMode ?? defaultSslMode(p.sourceType),
        secretParameters: { ...p.secretParameters, targetServerUsername: targetUser },
      };
      if (targetDbServerFullyQualifiedDomainName !== undefined) properties.targetDbServerFullyQualifiedDomainName = targetDbServerFullyQualifiedDomainName.text;
      if (sourceDbServerResourceId !== undefined) properties.sourceDbServerResourceId = sourceDbServerResourceId.text;
      if (sourceDbServerFullyQualifiedDomainName !== undefined) {
        properties.sourceDbServerFullyQualifiedDomainName = sourceDbServerFullyQualifiedDomainName.text;
      }
      const source: MigrationRequest['source'] = {
        // The refinement guarantees one of the two and a user; the fallbacks only satisfy the types.
        host: fqdn?.host ?? resourceId?.host ?? '',
        port: fqdn?.port ?? resourceId?.port ?? DEFAULT_PORT,
        user: p.secretParameters.sourceServerUsername ?? resourceId?.user ?? '',
      };
      if (resourceId?.azureServerName !== undefined) source.azureServerName = resourceId.azureServerName;
      // The refinement guarantees a target; the fallback only satisfies the types.
      return { properties, source, target: target.ok ? { host: target.host, port: target.port, user: targetUser } : { host: '', port: DEFAULT_PORT, user: targetUser } };
    });
}

/** The PUT body schema; input is raw JSON (any key case), output a MigrationRequest. */
export function migrationRequestSchema(settings: Partial<ModelSettings> = {}) {
  const body = z
    .object({
      properties: propertiesSchema(settings.maxDatabases ?? DEFAULT_MAX_DATABASES, settings.target),
      location: locationSchema.optional(),
      tags: tagsSchema.optional(),
    })
    .strict()
    .transform(({ properties, location, tags }): MigrationRequest => ({
      ...(location !== undefined && { location }),
      ...(tags !== undefined && { tags }),
      ...properties,
    }));
  return withNormalizedKeys(MIGRATION_BODY_KEYS, body);
}

export function parseMigrationRequest(body: unknown, settings: Partial<ModelSettings> = {}): Parsed<MigrationRequest> {
  return fromSafeParse(migrationRequestSchema(settings).safeParse(body));
}
