/**
 * Database-level checks for one selected database: presence on both sides, extensions,
 * collations and encodings, and the schema features that decide whether an online migration can
 * replay every change.
 */
import type pg from 'pg';
import type { MigrationMode } from '../model/states';
import { quoteIdent } from '../pg/ident';
import { finding, nameList, type Finding } from './codes';
import * as facts from './db-facts';
import { targetHasLocale, type TargetFacts } from './target-facts';

/**
 * Extensions that only work when their library is preloaded (the seed's list, plus timescaledb
 * and citus which refuse to load otherwise), mapped to the library to preload.
 */
export const PRELOAD_EXTENSIONS: Record<string, string> = {
  pg_cron: 'pg_cron',
  pg_hint_plan: 'pg_hint_plan',
  pg_partman: 'pg_partman_bgw',
  pg_prewarm: 'pg_prewarm',
  pg_stat_statements: 'pg_stat_statements',
  pgaudit: 'pgaudit',
  pglogical: 'pglogical',
  timescaledb: 'timescaledb',
  citus: 'citus',
};

export interface DbCheckContext {
  db: string;
  mode: MigrationMode;
  overwrite: boolean;
  sourceVersionNum: number;
  targetVersionNum: number;
  target: TargetFacts;
  targetUser: string;
  targetCanCreateDb: boolean;
  /** Roles will be created by the migration (migrateRoles), so missing ones are not a loss. */
  migrateRoles: boolean;
  /** Superuser-owned objects keep their owner only where the target login is a superuser too. */
  targetIsSuperuser: boolean;
  /** Source libraries preloaded (to tell whether pg_partman's worker or pg_prewarm's autoprewarm are in use); null if unreadable. */
  sourcePreload: string[] | null;
  /** The decoding plugin an Online migration will use (undefined when the probe found none or did not run). */
  plugin?: 'wal2json' | 'pgoutput';
  /** Runs fn on the existing target database (for emptiness), or undefined when it does not exist. */
  onTargetDb<T>(fn: (c: pg.Client) => Promise<T>): Promise<T | undefined>;
}

export interface DbFindings {
  database: Finding[];
  extensions: Finding[];
  collations: Finding[];
  schema: Finding[];
}

export async function presenceFindings(ctx: DbCheckContext, sourceEncoding: string): Promise<Finding[]> {
  const out: Finding[] = [];
  const existing = ctx.target.databases.get(ctx.db);
  if (!existing) {
    if (!ctx.targetCanCreateDb) out.push(finding('603911', { db: ctx.db, user: ctx.targetUser, userQuoted: quoteIdent(ctx.targetUser) }));
    return out;
  }
  const summary = await ctx.onTargetDb((c) => facts.userObjectSummary(c));
  const nonEmpty = summary !== undefined && summary.tables + summary.other > 0;
  const objects = summary ? `${summary.tables} relation(s), ${summary.other} other object(s)` : 'unknown content';
  if (nonEmpty) out.push(finding(ctx.overwrite ? '603910' : '603101', { db: ctx.db, objects }));
  // An empty database is kept as it is, so its encoding must fit; a non-empty one is replaced
  // (after the overwrite confirmation) or dropped by hand before anything is copied.
  if (!ctx.overwrite && !nonEmpty && existing.encoding !== sourceEncoding) {
    out.push(finding('603914', { db: ctx.db, target: existing.encoding, source: sourceEncoding }));
  }
  return out;
}

export function extensionFindings(ctx: DbCheckContext, exts: facts.SourceExtension[]): Finding[] {
  const out: Finding[] = [];
  const ok: string[] = [];
  for (const e of exts) {
    const targetVersion = ctx.target.availableExtensions.get(e.name);
    if (targetVersion === undefined) {
      out.push(finding('603108', { ext: e.name, version: e.version, db: ctx.db, why: 'not available',
        fix: `Install ${e.name} on the target server, or drop it from the source database if unused (DROP EXTENSION ${quoteIdent(e.name)})` }));
      continue;
    }
    if (ctx.target.allowList && !ctx.target.allowList.has(e.name.toLowerCase())) {
      out.push(finding('603108', { ext: e.name, version: e.version, db: ctx.db, why: 'not allow-listed (azure.extensions)',
        fix: `Add ${e.name} to the azure.extensions server parameter of the target (az postgres flexible-server parameter set --name azure.extensions --value ...)` }));
      continue;
    }
    const lib = preloadLibraryFor(e.name, ctx.sourcePreload);
    if (lib && ctx.target.preload && !ctx.target.preload.has(lib)) {
      out.push(finding('603109', { ext: e.name, lib }));
      continue;
    }
    if (targetVersion && compareVersions(targetVersion, e.version) < 0) {
      out.push(finding('603912', { ext: e.name, version: e.version, targetVersion }));
    }
    ok.push(e.name);
  }
  out.unshift(finding('603913', { count: ok.length, names: nameList(ok) }));
  return out;
}

/** pg_partman needs its worker preloaded only where the source runs it; pg_prewarm likewise. */
function preloadLibraryFor(ext: string, sourcePreload: string[] | null): string | undefined {
  const lib = PRELOAD_EXTENSIONS[ext];
  if (!lib) return undefined;
  if ((ext === 'pg_partman' || ext === 'pg_prewarm') && sourcePreload && !sourcePreload.includes(lib)) return undefined;
  return lib;
}

/** Compares dotted versions numerically ("1.10" > "1.9"); non-numeric parts compare as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = Number(x);
    const ny = Number(y);
    const c = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return Math.sign(c);
  }
  return 0;
}

export function collationFindings(ctx: DbCheckContext, loc: facts.DatabaseLocale, used: facts.UsedCollation[]): Finding[] {
  const out: Finding[] = [];
  const t = ctx.target;
  if (loc.provider === 'c') {
    for (const [what, value] of [['LC_COLLATE', loc.collate], ['LC_CTYPE', loc.ctype]] as const) {
      if (!targetHasLocale(t, value)) out.push(finding('603401', { db: ctx.db, locale: value, what }));
    }
  } else if (loc.provider === 'i' && !t.icuAvailable) {
    out.push(finding('603401', { db: ctx.db, locale: loc.iculocale ?? loc.collate, what: 'ICU locale' }));
  }
  const userDefined: string[] = [];
  for (const c of used) {
    const label = `${quoteIdent(c.schema)}.${quoteIdent(c.name)}`;
    if (c.schema === 'pg_catalog') {
      if (!t.catalogCollations.has(c.name)) {
        out.push(finding('603402', { collation: label, locale: c.locale, uses: nameList(c.uses, 5) || 'indexes', db: ctx.db }));
      }
      continue;
    }
    userDefined.push(label);
    const available = c.provider === 'i' ? t.icuAvailable : c.provider === 'd' || targetHasLocale(t, c.locale);
    if (!available) out.push(finding('603402', { collation: label, locale: c.locale, uses: nameList(c.uses, 5) || 'no columns yet', db: ctx.db }));
  }
  if (userDefined.length > 0) out.push(finding('603403', { db: ctx.db, names: nameList(userDefined) }));
  if (!out.some((f) => f.state === 'Failed')) {
    out.unshift(finding('603915', { encoding: loc.encoding, collate: loc.collate, ctype: loc.ctype, columns: used.length || '' }));
  }
  return out;
}

export interface SchemaInputs {
  tables: facts.TableIdentity[];
  withOids: string[];
  casts: string[];
  baseTypes: string[];
  languages: Array<{ name: string; functions: string[] }>;
  roles: string[];
  superuserOwned: { owners: string[]; objects: string[]; count: number };
  largeObjects: number;
  sourceUser: string;
}

export function schemaFindings(ctx: DbCheckContext, s: SchemaInputs): Finding[] {
  const out: Finding[] = [];
  const qualified = (t: facts.TableIdentity) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;

  const unreadable = s.tables.filter((t) => !t.readable).map(qualified);
  if (unreadable.length > 0) {
    out.push(finding('603110', { user: s.sourceUser, userQuoted: quoteIdent(s.sourceUser), count: unreadable.length, tables: nameList(unreadable) }));
  }
  const noIdentity = s.tables.filter((t) => !t.unlogged && (t.replident === 'n' || (t.replident === 'd' && !t.hasPk))).map(qualified);
  if (noIdentity.length > 0) {
    const example = `ALTER TABLE ${noIdentity[0]} REPLICA IDENTITY FULL;`;
    out.push(finding(ctx.mode === 'Online' ? '603916' : '603917', { db: ctx.db, count: noIdentity.length, tables: nameList(noIdentity), example }));
  }
  const full = s.tables.filter((t) => t.replident === 'f').map(qualified);
  if (full.length > 0 && ctx.mode === 'Online') out.push(finding('603918', { db: ctx.db, count: full.length, tables: nameList(full) }));
  if (ctx.mode === 'Online' && ctx.plugin === 'wal2json') out.push(...wal2jsonAmbiguity(ctx.db, s.tables));
  const unlogged = s.tables.filter((t) => t.unlogged).map(qualified);
  if (unlogged.length > 0 && ctx.mode === 'Online') out.push(finding('603923', { db: ctx.db, count: unlogged.length, tables: nameList(unlogged) }));
  if (s.withOids.length > 0 && ctx.targetVersionNum >= 120000) out.push(finding('603404', { db: ctx.db, count: s.withOids.length, tables: nameList(s.withOids) }));
  if (s.casts.length > 0) out.push(finding('603409', { db: ctx.db, count: s.casts.length, names: nameList(s.casts) }));
  if (s.baseTypes.length > 0) out.push(finding('603919', { db: ctx.db, count: s.baseTypes.length, names: nameList(s.baseTypes) }));
  for (const lang of s.languages) {
    if (!ctx.target.languages.has(lang.name) && !ctx.target.availableExtensions.has(lang.name)) {
      out.push(finding('603413', { db: ctx.db, lang: lang.name, functions: nameList(lang.functions, 5) }));
    }
  }
  const missingRoles = s.roles.filter((r) => !ctx.target.roles.has(r));
  if (missingRoles.length > 0) out.push(finding(ctx.migrateRoles ? '603928' : '603920', { db: ctx.db, count: missingRoles.length, names: nameList(missingRoles) }));
  if (s.superuserOwned.count > 0 && !ctx.targetIsSuperuser) {
    out.push(finding('603921', { db: ctx.db, count: s.superuserOwned.count, owners: s.superuserOwned.owners.join(', '), objects: nameList(s.superuserOwned.objects) }));
  }
  if (s.largeObjects > 0) out.push(finding('603922', { db: ctx.db, count: s.largeObjects }));
  if (!out.some((f) => f.code === '603916' || f.code === '603917')) {
    out.unshift(finding('603924', { db: ctx.db, tables: s.tables.length }));
  }
  return out;
}

/**
 * wal2json prints NULL, NaN and ±Infinity of float and numeric columns alike: a keyless table,
 * whose old rows are found by their whole content, may hold rows that differ only there, and a
 * change to one of them then stops the migration (cdc/apply/specials.ts). Said up front, with
 * the two ways out.
 */
function wal2jsonAmbiguity(db: string, tables: facts.TableIdentity[]): Finding[] {
  const keyless = tables.filter((t) => t.replident === 'f' && !t.hasPk && t.floatColumns.length > 0);
  const first = keyless[0];
  if (!first) return [];
  const named = keyless.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)} (${t.floatColumns.map(quoteIdent).join(', ')})`);
  const example = `ALTER TABLE ${quoteIdent(first.schema)}.${quoteIdent(first.table)} ADD PRIMARY KEY (…);`;
  return [finding('603931', { db, count: keyless.length, tables: nameList(named), example })];
}

/** Reads everything the schema check needs from one source database. */
export async function readSchemaInputs(client: pg.Client, versionNum: number, sourceUser: string): Promise<SchemaInputs> {
  return {
    tables: await facts.tableIdentities(client),
    withOids: await facts.tablesWithOids(client, versionNum),
    casts: await facts.userCasts(client),
    baseTypes: await facts.userBaseTypes(client),
    languages: await facts.userLanguages(client),
    roles: await facts.referencedRoles(client),
    superuserOwned: await facts.superuserOwnedObjects(client),
    largeObjects: await facts.largeObjectCount(client),
    sourceUser,
  };
}
