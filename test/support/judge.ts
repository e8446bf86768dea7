/**
 * An independent judge of "the target is an exact copy of the source", for tests. It shares no
 * code with pgferry (only the rig's connection helper): a bug in pgferry's verification cannot
 * make this judge agree with it.
 *
 * Both sides are read under the same fixed session settings, so the text of every value depends
 * on the value alone, never on a server's defaults or major:
 *  - every user table (leaf tables; a partitioned parent holds no rows of its own) as
 *    `COPY (SELECT every column ORDER BY every column::text COLLATE "C") TO STDOUT`, streamed into
 *    sha256 with a row count. Sorting by the text of the values (not by the types' own order) makes
 *    the order total and the same on both sides even for types without a btree order (json, point)
 *    and for values equal in their type but written differently (numeric 1.0 and 1.00);
 *  - sequences (last_value, is_called; their parameters are schema facts);
 *  - large objects (oid, owner, ACL, sha256 of the data);
 *  - the schema as facts (judge-catalog.ts).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { expect } from 'vitest';
import type { ServerInfo } from './cluster';
import { withAdmin } from './databases';
import { schemaFactQueries, userSchemaSql } from './judge-catalog';

export interface JudgeOptions {
  /** The target database's name when it differs from the source's. */
  targetDb?: string;
  /**
   * Parts left out, for tests of one stage of the engine (e.g. the table copy before sequences and
   * large objects were copied). End-to-end tests compare everything.
   */
  skip?: ReadonlyArray<'schema' | 'sequences' | 'largeObjects'>;
  /** At most this many differing rows are shown per table (default 3). */
  sampleRows?: number;
}

export interface Judgement {
  equal: boolean;
  /** One readable line per difference; empty when equal. */
  differences: string[];
  /** User tables compared (read on the source). */
  tables: number;
  /** Rows compared (on the source). */
  rows: number;
}

/** The session settings both sides are read under. */
export const JUDGE_SETTINGS: ReadonlyArray<readonly [string, string]> = [
  ['DateStyle', 'ISO'],
  ['TimeZone', 'UTC'],
  ['IntervalStyle', 'postgres'],
  ['extra_float_digits', '3'],
  ['bytea_output', 'hex'],
  ['lc_monetary', 'C'],
  ['client_encoding', 'UTF8'],
  ['search_path', ''],
];

/** `"name"` with embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface TableColumns {
  schema: string;
  table: string;
  columns: string[];
}

/** The COPY statement that reads a table in the judge's canonical order. */
export function tableCopySql(t: TableColumns): string {
  const cols = t.columns.map(quoteIdent);
  const from = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
  if (cols.length === 0) return `COPY (SELECT FROM ${from}) TO STDOUT`;
  const order = cols.map((c) => `${c}::text COLLATE "C"`).join(', ');
  return `COPY (SELECT ${cols.join(', ')} FROM ${from} ORDER BY ${order}) TO STDOUT`;
}

/** Lines in `a` and not in `b`, as a multiset (a duplicated row counts twice). */
export function multisetMinus(a: readonly string[], b: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const x of b) left.set(x, (left.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of a) {
    const n = left.get(x) ?? 0;
    if (n > 0) left.set(x, n - 1);
    else out.push(x);
  }
  return out;
}

/** Differences between two keyed maps of comparable text, named by `what`. */
export function compareKeyed(what: string, source: ReadonlyMap<string, string>, target: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of source) {
    const t = target.get(k);
    if (t === undefined) out.push(`${what} ${k}: only on the source (${v})`);
    else if (t !== v) out.push(`${what} ${k}: source ${v} ≠ target ${t}`);
  }
  for (const [k, v] of target) if (!source.has(k)) out.push(`${what} ${k}: only on the target (${v})`);
  return out;
}

/** Schema facts present on one side only, paired by their leading words so a changed fact reads as one line. */
export function compareFacts(source: readonly string[], target: readonly string[]): string[] {
  const onlySource = multisetMinus(source, target);
  const onlyTarget = multisetMinus(target, source);
  return [...onlySource.map((f) => `schema: only on the source: ${f}`), ...onlyTarget.map((f) => `schema: only on the target: ${f}`)];
}

const short = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}…` : s);

async function openJudged(server: ServerInfo, db: string, fn: (c: pg.Client) => Promise<void>): Promise<void> {
  await withAdmin(server, db, async (c) => {
    for (const [name, value] of JUDGE_SETTINGS) await c.query(`SELECT set_config($1, $2, false)`, [name, value]);
    // One snapshot for the whole reading: a database still being written gives one consistent picture.
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      await fn(c);
    } finally {
      await c.query('ROLLBACK').catch(() => undefined);
    }
  });
}

/** Every user table with its columns in table order. */
async function userTables(c: pg.Client): Promise<TableColumns[]> {
  const { rows } = await c.query<TableColumns>(`
    SELECT n.nspname AS schema, c.relname AS table,
           coalesce(array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attnum IS NOT NULL), '{}') AS columns
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE (c.relkind = 'r' OR (c.relkind = 'm' AND c.relispopulated)) AND ${userSchemaSql('n')}
     GROUP BY 1, 2 ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`);
  return rows;
}

const tableName = (t: { schema: string; table: string }) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\0') === [...b].sort().join('\0');

async function hashTable(c: pg.Client, t: TableColumns): Promise<{ rows: number; sha: string }> {
  const hash = createHash('sha256');
  let rows = 0;
  // COPY's text format escapes newlines inside values, so each row ends in exactly one newline byte.
  for await (const chunk of c.query(copyTo(tableCopySql(t))) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
  }
  return { rows, sha: hash.digest('hex') };
}

async function tableLines(c: pg.Client, t: TableColumns): Promise<string[]> {
  const parts: Buffer[] = [];
  for await (const chunk of c.query(copyTo(tableCopySql(t))) as AsyncIterable<Buffer>) parts.push(chunk);
  const text = Buffer.concat(parts).toString('utf8');
  return text === '' ? [] : text.slice(0, -1).split('\n');
}

async function sequenceValues(c: pg.Client): Promise<Map<string, string>> {
  const { rows } = await c.query<{ schema: string; table: string }>(`
    SELECT n.nspname AS schema, c.relname AS table
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND ${userSchemaSql('n')}`);
  const out = new Map<string, string>();
  for (const name of rows.map(tableName)) {
    const v = await c.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM ${name}`);
    out.set(name, `last_value ${v.rows[0]?.last_value} is_called ${v.rows[0]?.is_called}`);
  }
  return out;
}

async function largeObjects(c: pg.Client): Promise<Map<string, string>> {
  const { rows } = await c.query<{ oid: string; v: string }>(`
    SELECT m.oid::text AS oid,
           'owner ' || pg_get_userbyid(m.lomowner) || ' acl ' || coalesce(m.lomacl::text, 'default')
           || ' sha256 ' || encode(sha256(lo_get(m.oid)), 'hex') || ' bytes ' || length(lo_get(m.oid)) AS v
      FROM pg_largeobject_metadata m`);
  return new Map(rows.map((r) => [r.oid, r.v]));
}

async function schemaFacts(c: pg.Client, maintain: boolean): Promise<string[]> {
  const facts: string[] = [];
  for (const q of Object.values(schemaFactQueries(maintain))) {
    const { rows } = await c.query<{ fact: string }>(q);
    facts.push(...rows.map((r) => r.fact));
  }
  return facts.sort();
}

interface Side {
  tables: Map<string, { t: TableColumns; rows: number; sha: string }>;
  sequences: Map<string, string>;
  largeObjects: Map<string, string>;
  facts: string[];
}

/**
 * Reads one side. A table whose columns are the same set as on the source is read in the source's
 * column order, so a reordered column shows as one schema fact rather than every row differing.
 */
async function readSide(server: ServerInfo, db: string, sourceOrder: ReadonlyMap<string, string[]>, skip: ReadonlySet<string>, maintain: boolean): Promise<Side> {
  const side: Side = { tables: new Map(), sequences: new Map(), largeObjects: new Map(), facts: [] };
  await openJudged(server, db, async (c) => {
    for (const own of await userTables(c)) {
      const order = sourceOrder.get(tableName(own));
      const t = order && sameSet(order, own.columns) ? { ...own, columns: order } : own;
      side.tables.set(tableName(t), { t, ...(await hashTable(c, t)) });
    }
    if (!skip.has('sequences')) side.sequences = await sequenceValues(c);
    if (!skip.has('largeObjects')) side.largeObjects = await largeObjects(c);
    if (!skip.has('schema')) side.facts = await schemaFacts(c, maintain);
  });
  return side;
}

async function rowSample(source: ServerInfo, target: ServerInfo, db: string, targetDb: string, t: TableColumns, n: number): Promise<string[]> {
  let s: string[] = [];
  let d: string[] = [];
  await openJudged(source, db, async (c) => void (s = await tableLines(c, t)));
  await openJudged(target, targetDb, async (c) => void (d = await tableLines(c, t)));
  return [
    ...multisetMinus(s, d).slice(0, n).map((l) => `    source only: ${short(l)}`),
    ...multisetMinus(d, s).slice(0, n).map((l) => `    target only: ${short(l)}`),
  ];
}

/** Reads both databases and lists every difference in data, sequences, large objects and schema. */
export async function judgeDatabase(source: ServerInfo, target: ServerInfo, db: string, opts: JudgeOptions = {}): Promise<Judgement> {
  const targetDb = opts.targetDb ?? db;
  const skip = new Set(opts.skip ?? []);
  // MAINTAIN exists from 17: compared only when both sides have it.
  const maintain = source.major >= 17 && target.major >= 17;
  const sourceOrder = new Map<string, string[]>();
  await openJudged(source, db, async (c) => {
    for (const t of await userTables(c)) sourceOrder.set(tableName(t), t.columns);
  });
  const [s, t] = await Promise.all([readSide(source, db, sourceOrder, skip, maintain), readSide(target, targetDb, sourceOrder, skip, maintain)]);
  const differences: string[] = [];
  for (const [name, st] of s.tables) {
    const tt = t.tables.get(name);
    if (!tt) differences.push(`table ${name}: missing on the target (${st.rows} rows on the source)`);
    else if (!sameSet(tt.t.columns, st.t.columns)) differences.push(`table ${name}: columns ${st.t.columns.join(',')} ≠ target ${tt.t.columns.join(',')}`);
    else if (tt.rows !== st.rows || tt.sha !== st.sha) {
      const head = `table ${name}: ${st.rows} rows on the source, ${tt.rows} on the target${tt.rows === st.rows ? ', contents differ' : ''}`;
      differences.push([head, ...(await rowSample(source, target, db, targetDb, st.t, opts.sampleRows ?? 3))].join('\n'));
    }
  }
  for (const [name, tt] of t.tables) if (!s.tables.has(name)) differences.push(`table ${name}: only on the target (${tt.rows} rows)`);
  differences.push(...compareKeyed('sequence', s.sequences, t.sequences));
  differences.push(...compareKeyed('large object', s.largeObjects, t.largeObjects));
  differences.push(...compareFacts(s.facts, t.facts));
  const rows = [...s.tables.values()].reduce((n, x) => n + x.rows, 0);
  return { equal: differences.length === 0, differences, tables: s.tables.size, rows };
}

/** Fails the test with every difference, one per line, unless the target is an exact copy of the source. */
export async function expectJudgedEqual(source: ServerInfo, target: ServerInfo, db: string, opts: JudgeOptions = {}): Promise<Judgement> {
  const j = await judgeDatabase(source, target, db, opts);
  if (!j.equal) expect.fail(`judge: ${db} → ${opts.targetDb ?? db}: ${j.differences.length} difference(s)\n${j.differences.join('\n')}`);
  return j;
}
