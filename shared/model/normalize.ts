/**
 * Case-insensitive keys, as the az CLI reads its `--properties` file: `SourceDBServerResourceId`,
 * `sourcedbserverresourceid` and `sourceDbServerResourceId` are one field. Every object level has
 * its own list of canonical names; anything else is refused with a suggestion, because a typo in
 * a migration file silently ignored is a migration done wrong.
 *
 * JSON `null` counts as "not set", as in ARM request bodies.
 */
import { z } from 'zod';
import { reject, type FieldPath, type ModelIssue } from './errors';
import { closest, quoteList } from './suggest';

export type KeyNode =
  /** A leaf (string, flag, array of strings): passed through unchanged. */
  | { readonly kind: 'value' }
  /** Free-form keys (tags): kept exactly as sent. */
  | { readonly kind: 'map' }
  | { readonly kind: 'object'; readonly fields: Readonly<Record<string, FieldSpec>> };

export interface FieldSpec {
  node?: KeyNode;
  /** Other spellings beyond letter case: older API versions, the CLI file, a spec typo. */
  aliases?: readonly string[];
  /** Server-set (ARM ignores it on input), so a GET response can be sent back as a PUT. */
  readOnly?: boolean;
}

const VALUE: KeyNode = { kind: 'value' };
const MAP: KeyNode = { kind: 'map' };
const READ_ONLY: FieldSpec = { readOnly: true };
const object = (fields: Record<string, FieldSpec>): KeyNode => ({ kind: 'object', fields });

const ADMIN_CREDENTIALS = object({ sourceServerPassword: {}, targetServerPassword: {} });

const SECRET_PARAMETERS = object({
  adminCredentials: { node: ADMIN_CREDENTIALS },
  sourceServerUsername: {},
  targetServerUsername: {},
});

/** Keys of `properties`, for PUT and PATCH alike (PATCH refuses the ones it cannot change). */
export const MIGRATION_PROPERTIES_KEYS = object({
  migrationMode: {},
  migrationOption: {},
  sourceType: {},
  sslMode: {},
  sourceDbServerResourceId: {},
  sourceDbServerFullyQualifiedDomainName: {},
  targetDbServerFullyQualifiedDomainName: {},
  secretParameters: { node: SECRET_PARAMETERS },
  // Where the Azure VM tutorial's file puts it; read as secretParameters.targetServerUsername.
  targetServerUsername: {},
  dbsToMigrate: {},
  overwriteDbsInTarget: {},
  migrateRoles: {},
  setupLogicalReplicationOnSourceDbIfNeeded: {},
  startDataMigration: {},
  triggerCutover: {},
  cancel: {},
  // 2022-05-01-preview spelt it `dBsToTiggerCutoverOn`; files written then still say so, and
  // `az … migration update --cutover` (az 2.45) sends `DBsToTriggerCutoverMigrationOn`.
  dbsToTriggerCutoverOn: { aliases: ['dbsToTiggerCutoverOn', 'dbsToTriggerCutoverMigrationOn'] },
  dbsToCancelMigrationOn: {},
  migrationWindowStartTimeInUtc: {},
  migrationWindowEndTimeInUtc: {},
  // The az CLI file calls the runtime server `MigrationRuntimeResourceId`.
  migrationInstanceResourceId: { aliases: ['migrationRuntimeResourceId'] },
  fallbackAfterCutover: {},
  migrationId: READ_ONLY,
  // pgferry's fallback window, as a GET shows it (sent back in a PUT, they are ignored).
  triggerFallback: READ_ONLY,
  finalizeCutover: READ_ONLY,
  fallback: READ_ONLY,
  currentStatus: READ_ONLY,
  targetDbServerResourceId: READ_ONLY,
  sourceDbServerMetadata: READ_ONLY,
  targetDbServerMetadata: READ_ONLY,
  startedOn: READ_ONLY,
  endedOn: READ_ONLY,
});

const ARM_ENVELOPE: Record<string, FieldSpec> = { id: READ_ONLY, name: READ_ONLY, type: READ_ONLY, systemData: READ_ONLY };

/** The PUT body: `{ properties, location?, tags? }`. */
export const MIGRATION_BODY_KEYS = object({
  properties: { node: MIGRATION_PROPERTIES_KEYS },
  location: {},
  tags: { node: MAP },
  ...ARM_ENVELOPE,
});

/** The PATCH body: a migration cannot move region, so a `location` other than the stored one is refused. */
export const MIGRATION_PATCH_KEYS = object({
  properties: { node: MIGRATION_PROPERTIES_KEYS },
  tags: { node: MAP },
  location: {},
  ...ARM_ENVELOPE,
});

interface Lookup {
  byFolded: Map<string, string>;
  /** Every spelling users may mean, for suggestions (read-only fields excluded). */
  suggestible: string[];
  canonicalOf: Map<string, string>;
}

const lookups = new WeakMap<KeyNode, Lookup>();

function lookupFor(node: KeyNode & { kind: 'object' }): Lookup {
  let lookup = lookups.get(node);
  if (lookup === undefined) {
    lookup = { byFolded: new Map(), suggestible: [], canonicalOf: new Map() };
    for (const [canonical, spec] of Object.entries(node.fields)) {
      for (const spelling of [canonical, ...(spec.aliases ?? [])]) {
        lookup.byFolded.set(spelling.toLowerCase(), canonical);
        lookup.canonicalOf.set(spelling, canonical);
        if (!spec.readOnly) lookup.suggestible.push(spelling);
      }
    }
    lookups.set(node, lookup);
  }
  return lookup;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Maps every key to its canonical spelling, dropping read-only fields and nulls. */
export function normalizeKeys(value: unknown, node: KeyNode, path: FieldPath = []): { value: unknown; issues: ModelIssue[] } {
  const issues: ModelIssue[] = [];
  const result = normalizeInto(value, node, path, issues);
  return { value: result, issues };
}

function normalizeInto(value: unknown, node: KeyNode, path: FieldPath, issues: ModelIssue[]): unknown {
  if (node.kind !== 'object' || !isPlainObject(value)) return value;
  const lookup = lookupFor(node);
  const firstSpelling = new Map<string, string>();
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const canonical = lookup.byFolded.get(key.toLowerCase());
    if (canonical === undefined) {
      issues.push(unknownKey(key, path, lookup));
      continue;
    }
    const spec = node.fields[canonical];
    if (spec === undefined || spec.readOnly) continue;
    const earlier = firstSpelling.get(canonical);
    if (earlier !== undefined) {
      issues.push({
        path: [...path, canonical],
        message: `is given twice, as "${earlier}" and "${key}"`,
        fix: `Keep only one of "${earlier}" and "${key}": keys are case-insensitive, so both mean ${canonical}.`,
      });
      continue;
    }
    firstSpelling.set(canonical, key);
    if (child === null) continue;
    out[canonical] = normalizeInto(child, spec.node ?? VALUE, [...path, canonical], issues);
  }
  return out;
}

function unknownKey(key: string, path: FieldPath, lookup: Lookup): ModelIssue {
  const near = [...new Set(closest(key, lookup.suggestible).map((s) => lookup.canonicalOf.get(s) ?? s))];
  const allowed = [...new Set(lookup.suggestible.map((s) => lookup.canonicalOf.get(s) ?? s))];
  return {
    path: [...path, key],
    message: 'is not a known field',
    fix:
      near.length > 0
        ? `Did you mean ${quoteList(near)}? Keys are case-insensitive but otherwise must be spelt exactly; rename or remove it.`
        : `Remove it; the fields allowed here are ${allowed.join(', ')}.`,
  };
}

/** Runs `schema` on the key-normalised input, reporting key problems alongside its own. */
export function withNormalizedKeys<S extends z.ZodTypeAny>(node: KeyNode, schema: S) {
  return z.preprocess((value, ctx) => {
    const normalized = normalizeKeys(value, node);
    for (const issue of normalized.issues) reject(ctx, issue.message, issue.fix, issue.path);
    return normalized.value;
  }, schema);
}
