/**
 * Source and target judged equal: every user table's rows (as text, sorted, with both sessions on
 * the same value formats), every sequence's state and every large object. An interim judge with the
 * API of the suite's independent judge (test/support/judge.ts, `judgeDatabase`), which replaces it
 * once that lands; it uses nothing of pgferry's own verification.
 */
import type pg from 'pg';
import type { ServerInfo } from '../../emulator/local/cluster';
import { withAdmin } from '../../emulator/local/admin';

export interface Judgement {
  equal: boolean;
  differences: string[];
  tables: number;
  rows: number;
}

const FORMATS = `SET extra_float_digits = 3; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET TimeZone = 'UTC'; SET bytea_output = 'hex'; SET client_encoding = 'UTF8'`;

async function tablesOf(c: pg.Client): Promise<string[]> {
  const { rows } = await c.query<{ q: string }>(`
    SELECT format('%I.%I', n.nspname, c.relname) AS q FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgferry_meta', 'pgferry_cdc') AND n.nspname NOT LIKE 'pg\\_toast%'
     ORDER BY 1`);
  return rows.map((r) => r.q);
}

/** Count and a digest of the rows sorted by their text (the same text on both sides means the same values). */
async function tableDigest(c: pg.Client, q: string): Promise<{ rows: number; md5: string }> {
  const { rows } = await c.query<{ n: number; md5: string | null }>(`SELECT count(*)::int AS n, md5(string_agg(r, E'\\n' ORDER BY r COLLATE "C")) AS md5 FROM (SELECT t::text AS r FROM ${q} t) x`);
  return { rows: rows[0]?.n ?? 0, md5: rows[0]?.md5 ?? '' };
}

/** For each table that differs, a few rows only one side has (as text, cut to 300 characters). */
async function rowSamples(s: pg.Client, t: pg.Client, tables: string[], differences: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const q of tables.filter((x) => differences.some((d) => d.startsWith(`table ${x}:`)))) {
    const read = async (c: pg.Client) => (await c.query<{ r: string }>(`SELECT t::text AS r FROM ${q} t`)).rows.map((x) => x.r);
    const [a, b] = await Promise.all([read(s), read(t)]);
    const only = (x: string[], y: string[]) => {
      const left = new Map<string, number>();
      for (const r of y) left.set(r, (left.get(r) ?? 0) + 1);
      return x.filter((r) => {
        const n = left.get(r) ?? 0;
        if (n > 0) left.set(r, n - 1);
        return n === 0;
      });
    };
    const cut = (r: string) => (r.length > 300 ? `${r.slice(0, 300)}…` : r);
    for (const r of only(a, b).slice(0, 3)) out.push(`row of ${q} only on the source: ${cut(r)}`);
    for (const r of only(b, a).slice(0, 3)) out.push(`row of ${q} only on the target: ${cut(r)}`);
  }
  return out;
}

async function sequences(c: pg.Client): Promise<Map<string, string>> {
  const { rows } = await c.query<{ q: string; v: string }>(`
    SELECT format('%I.%I', schemaname, sequencename) AS q, coalesce(last_value::text, 'unset') AS v FROM pg_sequences
     WHERE schemaname NOT IN ('pgferry_meta', 'pgferry_cdc')`);
  return new Map(rows.map((r) => [r.q, r.v]));
}

async function largeObjects(c: pg.Client): Promise<Map<string, string>> {
  const { rows } = await c.query<{ oid: string; md5: string }>(`SELECT oid::text, md5(lo_get(oid)) AS md5 FROM pg_largeobject_metadata`);
  return new Map(rows.map((r) => [r.oid, r.md5]));
}

function compareMaps(what: string, s: Map<string, string>, t: Map<string, string>, out: string[]): void {
  for (const [k, v] of s) {
    if (!t.has(k)) out.push(`${what} ${k}: missing on the target`);
    else if (t.get(k) !== v) out.push(`${what} ${k}: source ${v}, target ${t.get(k)}`);
  }
  for (const k of t.keys()) if (!s.has(k)) out.push(`${what} ${k}: only on the target`);
}

export async function judgeDatabase(source: ServerInfo, target: ServerInfo, db: string): Promise<Judgement> {
  return withAdmin(source, db, (s) => withAdmin(target, db, async (t) => {
    await Promise.all([s.query(FORMATS), t.query(FORMATS)]);
    const differences: string[] = [];
    const [st, tt] = await Promise.all([tablesOf(s), tablesOf(t)]);
    compareMaps('table', new Map(st.map((x) => [x, ''])), new Map(tt.map((x) => [x, ''])), differences);
    let rows = 0;
    for (const q of st.filter((x) => tt.includes(x))) {
      const [a, b] = await Promise.all([tableDigest(s, q), tableDigest(t, q)]);
      rows += a.rows;
      if (a.rows !== b.rows || a.md5 !== b.md5) differences.push(`table ${q}: source ${a.rows} rows (${a.md5}), target ${b.rows} rows (${b.md5})`);
    }
    if (differences.length > 0) differences.push(...(await rowSamples(s, t, st.filter((x) => tt.includes(x)), differences)));
    compareMaps('sequence', await sequences(s), await sequences(t), differences);
    compareMaps('large object', await largeObjects(s), await largeObjects(t), differences);
    return { equal: differences.length === 0, differences, tables: st.length, rows };
  }));
}
