/**
 * Source versus target parameters, reduced to what an application can feel, each difference with
 * the command that would make the target behave like the source. Pure: the catalogs are read in
 * catalog.ts, and nothing here (or anywhere in the report) changes the target.
 */
import { quoteIdent } from '../pg/ident';
import { setClause, splitGucList } from '../roles/sql';
import type { DatabaseSettingRow, SettingRow } from './catalog';
import { CATEGORIES, ONLY_WHEN_LOWER, categoryOf, type Category } from './categories';

export interface ParameterDifference {
  /** The parameter as pg_settings spells it (TimeZone, DateStyle, work_mem …). */
  name: string;
  /** The source's value, as SHOW prints it (64MB, 30s, Asia/Tokyo). */
  source: string | null;
  /** The target's value; null when the target does not have the parameter (or the database setting). */
  target: string | null;
  scope: 'server' | 'database';
  /** For scope 'database': the migrated database the setting belongs to. */
  database?: string;
  category: Category | 'other';
  /** What makes the target match: az CLI for server parameters, ALTER DATABASE for database ones. */
  command: string;
  reason: string;
}

export interface CompareInput {
  /** Target flexible server name (the route's {server}), for the az command. */
  server: string;
  source: readonly SettingRow[];
  target: readonly SettingRow[];
  sourceDatabases: readonly DatabaseSettingRow[];
  targetDatabases: readonly DatabaseSettingRow[];
}

const CATEGORY_ORDER = Object.keys(CATEGORIES) as Category[];

export function compareParameters(i: CompareInput): ParameterDifference[] {
  const target = new Map(i.target.map((t) => [t.name.toLowerCase(), t]));
  const server: ParameterDifference[] = [];
  for (const s of i.source) {
    const category = categoryOf(s.name);
    if (!category || s.context === 'internal') continue;
    const t = target.get(s.name.toLowerCase());
    if (!t) {
      // An extension's settings exist only where it is loaded: worth saying when the source tuned them.
      if (s.source !== 'default') server.push(serverDiff(i.server, s, null, category, `${CATEGORIES[category].reason}; the target does not know this parameter (load its extension through shared_preload_libraries first)`));
      continue;
    }
    if (s.name.toLowerCase() === 'shared_preload_libraries') {
      const missing = libraries(s.setting).filter((l) => !libraries(t.setting).includes(l));
      if (missing.length === 0) continue;
      const merged = [...libraries(t.setting), ...missing].join(',');
      server.push(serverDiff(i.server, { ...s, setting: merged }, t, category, `${missing.join(', ')} not preloaded on the target: ${CATEGORIES[category].reason}; a restart is needed`, s.setting));
      continue;
    }
    if (same(s, t)) continue;
    if (ONLY_WHEN_LOWER.has(category) && !(toNumber(t) < toNumber(s))) continue;
    const restart = s.context === 'postmaster' ? '; a restart is needed' : '';
    server.push(serverDiff(i.server, s, t, category, `${CATEGORIES[category].reason}${restart}`));
  }
  server.sort((a, b) => CATEGORY_ORDER.indexOf(a.category as Category) - CATEGORY_ORDER.indexOf(b.category as Category) || a.name.localeCompare(b.name));
  return [...server, ...databaseDiffs(i.sourceDatabases, i.targetDatabases)];
}

function serverDiff(server: string, s: SettingRow, t: SettingRow | null, category: Category, reason: string, shownSource?: string): ParameterDifference {
  return {
    name: s.name,
    source: shownSource ?? display(s.setting, s.unit),
    target: t ? display(t.setting, t.unit) : null,
    scope: 'server',
    category,
    command: `az postgres flexible-server parameter set --resource-group <resource-group> --server-name ${shellQuote(server)} --name ${shellQuote(s.name)} --value ${shellQuote(s.setting)}`,
    reason,
  };
}

function databaseDiffs(source: readonly DatabaseSettingRow[], target: readonly DatabaseSettingRow[]): ParameterDifference[] {
  const out: ParameterDifference[] = [];
  for (const d of source) {
    const onTarget = new Map((target.find((t) => t.database === d.database)?.settings ?? []).map((e) => split(e)).map(([n, v]) => [n.toLowerCase(), v]));
    for (const element of d.settings) {
      const [name, value] = split(element);
      const have = onTarget.get(name.toLowerCase());
      if (have === value) continue;
      const category = categoryOf(name);
      out.push({
        name,
        source: value,
        target: have ?? null,
        scope: 'database',
        database: d.database,
        category: category ?? 'other',
        command: `ALTER DATABASE ${quoteIdent(d.database)} ${setClause(element).clause};`,
        reason: `set on database ${d.database} on the source (ALTER DATABASE … SET)${category ? `: ${CATEGORIES[category].reason}` : ''}`,
      });
    }
  }
  return out.sort((a, b) => (a.database ?? '').localeCompare(b.database ?? '') || a.name.localeCompare(b.name));
}

function split(element: string): [string, string] {
  const eq = element.indexOf('=');
  return eq < 0 ? [element, ''] : [element.slice(0, eq), element.slice(eq + 1)];
}

function libraries(list: string): string[] {
  return splitGucList(list).map((l) => l.trim()).filter((l) => l.length > 0);
}

const MEMORY: Record<string, number> = { B: 1, kB: 1024, '8kB': 8192, MB: 1024 ** 2, '16MB': 16 * 1024 ** 2 };
const TIME: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000 };

function toNumber(r: SettingRow): number {
  const n = Number(r.setting);
  const f = (r.unit && (MEMORY[r.unit] ?? TIME[r.unit])) || 1;
  return n < 0 ? n : n * f;
}

/** Same value, comparing numbers in their base unit and words without regard to case or spacing. */
export function same(a: SettingRow, b: SettingRow): boolean {
  if (a.vartype === 'integer' || a.vartype === 'real') return toNumber(a) === toNumber(b);
  const norm = (v: string) => v.trim().replace(/\s*,\s*/g, ',');
  if (a.vartype === 'bool' || a.vartype === 'enum') return norm(a.setting).toLowerCase() === norm(b.setting).toLowerCase();
  return norm(a.setting) === norm(b.setting);
}

/** A value with its unit as SHOW prints it: 65536 kB → 64MB, 30000 ms → 30s. */
export function display(setting: string, unit: string | null): string {
  const n = Number(setting);
  if (unit === null || !Number.isFinite(n) || n <= 0 || !Number.isInteger(n)) return setting;
  if (unit in MEMORY) {
    const bytes = n * (MEMORY[unit] as number);
    for (const [u, f] of [['TB', 1024 ** 4], ['GB', 1024 ** 3], ['MB', 1024 ** 2], ['kB', 1024]] as const) if (bytes % f === 0) return `${bytes / f}${u}`;
    return `${bytes}B`;
  }
  if (unit in TIME) {
    const ms = n * (TIME[unit] as number);
    if (!Number.isInteger(ms)) return `${n}${unit}`;
    for (const [u, f] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) if (ms % f === 0) return `${ms / f}${u}`;
    return `${ms}ms`;
  }
  return `${setting}${unit}`;
}

/** A word for a POSIX shell: bare when safe, else single-quoted. */
export function shellQuote(v: string): string {
  return /^[A-Za-z0-9_.,:/@%+=-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}
