/**
 * What the target server offers, read once per validation from its maintenance database:
 * extensions, preload libraries, locales and collations, roles, and the selected databases.
 */
import type pg from 'pg';

export interface TargetFacts {
  /** name → default version of every extension the target can create. */
  availableExtensions: Map<string, string>;
  /** Azure's allow-list (azure.extensions), lower-case; null when the server has none. */
  allowList: Set<string> | null;
  /** shared_preload_libraries, lower-case; null when the login cannot read it. */
  preload: Set<string> | null;
  /** Normalised libc locales the target knows (from pg_collation), plus C and POSIX. */
  locales: Set<string>;
  /** pg_catalog collation names. */
  catalogCollations: Set<string>;
  icuAvailable: boolean;
  roles: Set<string>;
  /** Languages installed in the maintenance database. */
  languages: Set<string>;
  /** Existing databases by name, with encoding. */
  databases: Map<string, { encoding: string }>;
}

/** en_US.UTF-8, en_US.utf8 and en_us.UTF8 name the same libc locale. */
export function normaliseLocale(locale: string): string {
  const [lang, rest] = locale.split('.', 2);
  if (rest === undefined) return locale.toLowerCase();
  const [codeset, modifier] = rest.split('@', 2);
  const cs = (codeset ?? '').toLowerCase().replace(/[^a-z0-9]/g, '');
  return `${(lang ?? '').toLowerCase()}.${cs}${modifier ? `@${modifier.toLowerCase()}` : ''}`;
}

export async function readTargetFacts(client: pg.Client): Promise<TargetFacts> {
  const ext = await client.query<{ name: string; v: string | null }>('SELECT name, default_version AS v FROM pg_available_extensions');
  const settings = await client.query<{ allow: string | null; preload: string | null; num: string }>(`
    SELECT current_setting('azure.extensions', true) AS allow,
           (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS preload,
           current_setting('server_version_num') AS num`);
  const s = settings.rows[0];
  const versionNum = Number(s?.num ?? 0);
  const locale = versionNum >= 170000 ? 'coalesce(colllocale, collcollate)' : versionNum >= 150000 ? 'coalesce(colliculocale, collcollate)' : 'collcollate';
  const coll = await client.query<{ name: string; locale: string | null; provider: string; ns: string }>(`
    SELECT collname AS name, ${locale} AS locale, collprovider::text AS provider, collnamespace::regnamespace::text AS ns FROM pg_collation`);
  const roles = await client.query<{ name: string }>('SELECT rolname AS name FROM pg_roles');
  const langs = await client.query<{ name: string }>('SELECT lanname AS name FROM pg_language');
  const dbs = await client.query<{ name: string; encoding: string }>(
    'SELECT datname AS name, pg_encoding_to_char(encoding) AS encoding FROM pg_database');

  const split = (v: string | null | undefined) =>
    v === null || v === undefined ? null : new Set(v.split(',').map((x) => x.trim().replace(/^"|"$/g, '').toLowerCase()).filter(Boolean));
  const locales = new Set(['c', 'posix']);
  for (const c of coll.rows) if (c.provider === 'c' && c.locale) locales.add(normaliseLocale(c.locale));
  return {
    availableExtensions: new Map(ext.rows.map((r) => [r.name, r.v ?? ''])),
    allowList: s?.allow ? split(s.allow) : null,
    preload: split(s?.preload),
    locales,
    catalogCollations: new Set(coll.rows.filter((c) => c.ns === 'pg_catalog').map((c) => c.name)),
    icuAvailable: coll.rows.some((c) => c.provider === 'i'),
    roles: new Set(roles.rows.map((r) => r.name)),
    languages: new Set(langs.rows.map((r) => r.name)),
    databases: new Map(dbs.rows.map((r) => [r.name, { encoding: r.encoding }])),
  };
}

/** Whether the target has a libc locale (C.UTF-8 and C.utf8 are the same one). */
export function targetHasLocale(t: TargetFacts, locale: string): boolean {
  return t.locales.has(normaliseLocale(locale));
}
