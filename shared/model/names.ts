/**
 * Names users choose: the migration (route segment), the target server (route segment) and the
 * databases to migrate.
 */
import { z } from 'zod';
import { reject, toErrorBody, type FieldPath, type ModelIssue, type Parsed } from './errors';

/** The portal's rule (letters, digits, hyphens, not starting with a hyphen), capped like an ARM name. */
export const MIGRATION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
/** Azure's server-name rule: 3–63 lowercase letters, digits and hyphens, no hyphen at either end. */
export const SERVER_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** PostgreSQL's NAMEDATALEN − 1: longer names are silently truncated by the server. */
export const MAX_DATABASE_NAME_BYTES = 63;
export const DEFAULT_MAX_DATABASES = 8;

/** Databases that exist on every server and are never a migration's payload, with the reason. */
export const RESERVED_DATABASES: ReadonlyMap<string, string> = new Map([
  ['template0', 'is a PostgreSQL template database: it exists on every server and is never migrated'],
  ['template1', 'is a PostgreSQL template database: it exists on every server and is never migrated'],
  ['azure_maintenance', 'is an Azure-managed system database: Azure creates it on every server'],
  ['azure_sys', 'is an Azure-managed system database: Azure creates it on every server'],
]);

type Check = { ok: true; value: string } | { ok: false; message: string; fix: string };

function checkMigrationName(value: unknown): Check {
  if (typeof value !== 'string' || value === '') {
    return { ok: false, message: 'is required', fix: 'Name the migration in the URL, e.g. …/migrations/migration-1.' };
  }
  if (value.length > 63) return { ok: false, message: `is ${value.length} characters long; at most 63 are allowed`, fix: 'Use a shorter name.' };
  if (value.startsWith('-')) return { ok: false, message: 'starts with a hyphen', fix: 'Start the name with a letter or digit, e.g. "migration-1".' };
  if (!MIGRATION_NAME_PATTERN.test(value)) {
    return {
      ok: false,
      message: 'contains characters other than letters, digits and hyphens',
      fix: 'Use only letters, digits and hyphens, e.g. "migration-1".',
    };
  }
  return { ok: true, value };
}

function checkServerName(value: unknown): Check {
  if (typeof value !== 'string' || value === '') {
    return { ok: false, message: 'is required', fix: 'Name the target server in the URL, e.g. …/flexibleServers/pg-target-01/….' };
  }
  if (!SERVER_NAME_PATTERN.test(value)) {
    return {
      ok: false,
      message: 'is not a valid Azure server name',
      fix: 'Use 3–63 lowercase letters, digits and hyphens, not starting or ending with a hyphen, e.g. "pg-target-01".',
    };
  }
  return { ok: true, value };
}

function toParsed(check: Check, field: string): Parsed<string> {
  if (check.ok) return check;
  return { ok: false, error: toErrorBody([{ path: [field], message: check.message, fix: check.fix }]) };
}

/** The `{name}` route segment (also the body of checkMigrationNameAvailability). Errors use the field `name`. */
export function parseMigrationName(name: unknown): Parsed<string> {
  return toParsed(checkMigrationName(name), 'name');
}

/** The `{server}` route segment. Errors use the field `serverName`. */
export function parseServerName(name: unknown): Parsed<string> {
  return toParsed(checkServerName(name), 'serverName');
}

/** One database name as PostgreSQL stores it (exact, case-sensitive). */
export const databaseNameSchema = z.string().superRefine((name, ctx) => {
  if (name === '') {
    reject(ctx, 'is an empty database name', 'Remove the empty entry or write the database name.');
  } else if (name.includes('\u0000')) {
    reject(ctx, 'contains a NUL character, which PostgreSQL names cannot hold', 'Remove the NUL (\\u0000) from the name.');
  } else if (name.trim() !== name) {
    reject(ctx, `has spaces around "${name.trim()}"`, `Remove the surrounding spaces: "${name.trim()}".`);
  } else if (Buffer.byteLength(name, 'utf8') > MAX_DATABASE_NAME_BYTES) {
    reject(
      ctx,
      `is ${Buffer.byteLength(name, 'utf8')} bytes long; PostgreSQL names hold at most ${MAX_DATABASE_NAME_BYTES}`,
      'Check the name: PostgreSQL truncates longer names, so no database can have this one.',
    );
  } else {
    const why = RESERVED_DATABASES.get(name);
    if (why !== undefined) reject(ctx, `names "${name}", which ${why}`, `Remove "${name}" from the list.`);
  }
});

/** Issues for names listed twice; the later occurrence is the one reported. */
export function duplicateIssues(names: readonly string[], path: FieldPath): ModelIssue[] {
  const firstIndex = new Map<string, number>();
  const issues: ModelIssue[] = [];
  names.forEach((name, index) => {
    const first = firstIndex.get(name);
    if (first === undefined) firstIndex.set(name, index);
    else issues.push({ path: [...path, index], message: `repeats "${name}" (already at [${first}])`, fix: `List "${name}" once.` });
  });
  return issues;
}

/** Issues for names (of `listField`) that are not in `allowed` (the migration's dbsToMigrate). */
export function subsetIssues(names: readonly string[], allowed: readonly string[], path: FieldPath): ModelIssue[] {
  const known = new Set(allowed);
  const listed = allowed.map((n) => `"${n}"`).join(', ');
  return names.flatMap((name, index) =>
    known.has(name)
      ? []
      : [{ path: [...path, index], message: `names "${name}", which is not in dbsToMigrate (${listed})`, fix: `Use only databases this migration moves: ${listed}.` }],
  );
}

/** `dbsToMigrate`: 1..max distinct database names. */
export function databaseListSchema(maxDatabases: number) {
  return z.array(databaseNameSchema).superRefine((names, ctx) => {
    if (names.length === 0) {
      reject(ctx, 'lists no databases', 'Name at least one database to migrate, e.g. ["ticketdb"].');
    } else if (names.length > maxDatabases) {
      reject(
        ctx,
        `lists ${names.length} databases; at most ${maxDatabases} are allowed per migration`,
        `Split the databases across several migrations, or raise the PGFERRY_MAX_DATABASES app setting (currently ${maxDatabases}, at most 50).`,
      );
    }
    for (const issue of duplicateIssues(names, [])) reject(ctx, issue.message, issue.fix, issue.path);
  });
}

/** `dbsToTriggerCutoverOn` / `dbsToCancelMigrationOn`: distinct names; empty means all databases. */
export const databaseSubsetSchema = z.array(databaseNameSchema).superRefine((names, ctx) => {
  for (const issue of duplicateIssues(names, [])) reject(ctx, issue.message, issue.fix, issue.path);
});
