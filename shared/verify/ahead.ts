/**
 * Verification ahead of cutover. While a database replicates and waits for cutover, its tables
 * are compared one by one (row counts and checksums, as at cutover); cutover then compares again
 * only the tables that may have changed since. What proves a table unchanged since its comparison:
 *
 * - on the target, a write guard: a statement trigger (ENABLE ALWAYS, so it fires for the
 *   applier in replica mode and for anyone writing directly) on the table and on every table it
 *   inherits from, counting the transactions that write it (INSERT, UPDATE, DELETE, TRUNCATE,
 *   COPY) in pgferry_meta.table_writes, transactionally with the write. The count is read before the
 *   target's checksum and must be the same at cutover;
 * - on the source, which pgferry must not alter, the table's cumulative statistics (rows
 *   inserted, updated and deleted) and its file node (TRUNCATE and rewrites change it), read
 *   before the source's checksum and the same at cutover. These do not depend on the applier: a
 *   change the applier missed still moves them.
 *
 * A table is skipped at cutover only if its comparison matched and both are unchanged. Every
 * change the source makes after the comparison reaches the target before cutover compares (the
 * drain), and moves the target's count when applied, so the source statistics are the second,
 * independent witness. Their one limit: a backend reports them when its transaction ends or within
 * about a second of going idle (PostgreSQL 15 and later; a statistics collector before), so a change
 * committed in the last second before cutover compares is seen by the target's count alone.
 * Statistics reset on the source (pg_stat_reset) only make tables look changed: they are compared
 * again. With track_counts off on the source nothing is verified ahead.
 *
 * The guards and the table of results live in pgferry's bookkeeping schema on the target, dropped
 * (with the triggers, which depend on the function) when the database ends.
 */
import type { ClientBase } from 'pg';
import { quoteIdent, quoteQualified } from '../pg/ident';
import { sqlstateOf } from '../pg/retryable';
import { BOOKKEEPING_SCHEMA } from '../pg/user-schemas';
import type { TableSpec } from './checksum';
import { compareTable, prepareCompare } from './compare';

const SCHEMA = quoteIdent(BOOKKEEPING_SCHEMA);
const WRITES = `${SCHEMA}.table_writes`;
const AHEAD = `${SCHEMA}.verified_ahead`;
const GUARD_FUNCTION = `${SCHEMA}.count_writes()`;
/** Most tables one share guards and looks at. */
export const AHEAD_WINDOW = 200;
/**
 * Largest table (heap and TOAST on the target) compared ahead: a share reads a table whole and the
 * CDC loop (and a cutover requested meanwhile) waits for it, so bigger tables, about 45 s of
 * reading at the rate measured here (docs/scale.md), are left to cutover.
 */
export const AHEAD_MAX_TABLE_BYTES = 4 * 1024 ** 3;
/** The guard trigger's name on every guarded table. */
export const GUARD_TRIGGER = 'pgferry_count_writes';

const CREATE_OBJECTS = `
  CREATE SCHEMA IF NOT EXISTS ${SCHEMA};
  CREATE TABLE IF NOT EXISTS ${WRITES} (relid oid PRIMARY KEY, writes bigint NOT NULL);
  CREATE TABLE IF NOT EXISTS ${AHEAD} (
    schema_name text NOT NULL,
    table_name text NOT NULL,
    writes bigint NOT NULL,
    source_changes text NOT NULL,
    rows bigint NOT NULL,
    verified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, table_name));
  CREATE OR REPLACE FUNCTION ${GUARD_FUNCTION} RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
  BEGIN
    -- Once per table and transaction: updating the row again at every statement of a long
    -- transaction (the applier's) would make each update walk the versions the transaction made.
    IF current_setting('pgferry.writes_' || TG_RELID::text, true) IS DISTINCT FROM txid_current()::text THEN
      INSERT INTO ${WRITES} AS w (relid, writes) VALUES (TG_RELID, 1) ON CONFLICT (relid) DO UPDATE SET writes = w.writes + 1;
      PERFORM set_config('pgferry.writes_' || TG_RELID::text, txid_current()::text, true);
    END IF;
    RETURN NULL;
  END $fn$;
  GRANT EXECUTE ON FUNCTION ${GUARD_FUNCTION} TO PUBLIC`;

/** The table's key in the maps below. */
const keyOf = (t: { schema: string; table: string }) => `${t.schema}.${t.table}`;

/** Rows `up(n, relid)`: the n-th table of $1 (qualified names) and every table it inherits from. */
const WITH_ANCESTORS = `WITH RECURSIVE t AS (SELECT n::int, pg_catalog.to_regclass(q)::oid AS root FROM unnest($1::text[]) WITH ORDINALITY AS u(q, n)),
     up(n, relid) AS (SELECT n, root FROM t WHERE root IS NOT NULL UNION SELECT up.n, i.inhparent FROM up JOIN pg_catalog.pg_inherits i ON i.inhrelid = up.relid)`;
/** `up.relid` carries an enabled-always guard ($2 the trigger's name, $3 its function). */
const GUARDED = `EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = up.relid AND g.tgname = $2 AND g.tgfoid = $3::regprocedure AND g.tgenabled = 'A')`;
/** Rows `u.n` and `c` (pg_class): the n-th table of $1 (qualified names) that exists. */
const EACH_TABLE = `unnest($1::text[]) WITH ORDINALITY AS u(q, n) JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(u.q)`;

/** Runs `sql` with the tables' qualified names as $1 (and `params` after) and keys its rows (column n: the table's place) by table. */
async function perTable<R, V>(client: ClientBase, sql: string, tables: readonly TableSpec[], params: unknown[], value: (r: R) => V): Promise<Map<string, V>> {
  const out = new Map<string, V>();
  if (tables.length === 0) return out;
  const { rows } = await client.query<R & { n: number }>(sql, [tables.map((t) => quoteQualified(t.schema, t.table)), ...params]);
  for (const r of rows) {
    const t = tables[r.n - 1];
    if (t) out.set(keyOf(t), value(r));
  }
  return out;
}

async function exists(client: ClientBase, what: string, fn = 'to_regclass'): Promise<boolean> {
  const { rows } = await client.query<{ r: string | null }>(`SELECT pg_catalog.${fn}($1)::text AS r`, [what]);
  return Boolean(rows[0]?.r);
}

/** Creates the counting function and the tables once (concurrent first callers race harmlessly). */
export async function ensureGuardObjects(target: ClientBase): Promise<void> {
  if ((await exists(target, `${BOOKKEEPING_SCHEMA}.count_writes()`, 'to_regprocedure')) && (await exists(target, `${BOOKKEEPING_SCHEMA}.verified_ahead`))) return;
  for (let attempt = 0; ; attempt++) {
    try {
      await target.query(CREATE_OBJECTS);
      return;
    } catch (err) {
      // 23505 / 42P06 / 42P07: a twin created it in the same moment; XX000: "tuple concurrently updated".
      if (attempt < 3 && ['23505', '42P06', '42P07', 'XX000'].includes(sqlstateOf(err) ?? '')) continue;
      throw err;
    }
  }
}

/**
 * Puts the guard on each table and on every table it inherits from, one table per transaction
 * (one lock at a time, so no deadlock with the applier). Returns the tables that could not be
 * guarded (not their owner, locked too long): they are never verified ahead.
 */
export async function guardTables(target: ClientBase, tables: ReadonlyArray<{ schema: string; table: string }>): Promise<Set<string>> {
  const failed = new Set<string>();
  if (tables.length === 0) return failed;
  const { rows } = await target.query<{ n: number; rel: string }>(
    `${WITH_ANCESTORS}
     SELECT up.n, up.relid::regclass::text AS rel FROM up
      WHERE NOT ${GUARDED}`,
    [tables.map((t) => quoteQualified(t.schema, t.table)), GUARD_TRIGGER, GUARD_FUNCTION],
  );
  await target.query(`SET lock_timeout = '5s'`);
  try {
    const done = new Set<string>();
    for (const r of rows) {
      if (done.has(r.rel)) continue;
      done.add(r.rel);
      // r.rel is regclass output: already quoted and qualified as needed.
      await target.query(
        `DROP TRIGGER IF EXISTS ${quoteIdent(GUARD_TRIGGER)} ON ${r.rel};
         CREATE TRIGGER ${quoteIdent(GUARD_TRIGGER)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${r.rel} FOR EACH STATEMENT EXECUTE FUNCTION ${GUARD_FUNCTION};
         ALTER TABLE ${r.rel} ENABLE ALWAYS TRIGGER ${quoteIdent(GUARD_TRIGGER)}`,
      ).catch(() => {
        const t = tables[r.n - 1];
        if (t) failed.add(keyOf(t));
      });
    }
  } finally {
    await target.query(`RESET lock_timeout`);
  }
  return failed;
}

interface TargetWrites {
  /** Writing statements counted on the table and its ancestors. */
  writes: string;
  /** The table and every ancestor carry the guard. */
  guarded: boolean;
}

/** The guard counts of the tables (absent: the table does not exist on the target). */
export async function targetWrites(target: ClientBase, tables: readonly TableSpec[]): Promise<Map<string, TargetWrites>> {
  if (tables.length === 0 || !(await exists(target, `${BOOKKEEPING_SCHEMA}.table_writes`))) return new Map();
  return perTable<TargetWrites, TargetWrites>(
    target,
    `${WITH_ANCESTORS}
     SELECT up.n, coalesce(sum(w.writes), 0)::text AS writes,
            bool_and(${GUARDED}) AS guarded
       FROM up LEFT JOIN ${WRITES} w ON w.relid = up.relid
      GROUP BY up.n`,
    tables,
    [GUARD_TRIGGER, GUARD_FUNCTION],
    (r) => ({ writes: r.writes, guarded: r.guarded }),
  );
}

/** Whether the source keeps the per-table statistics this relies on. */
export async function sourceCountsChanges(source: ClientBase): Promise<boolean> {
  const { rows } = await source.query<{ on: string }>(`SELECT pg_catalog.current_setting('track_counts') AS on`);
  return rows[0]?.on === 'on';
}

/**
 * What the source's statistics say of each table: rows inserted + updated + deleted, and its file
 * node, as text. Read in its own statement, so the statistics are fresh (not a transaction's cached ones).
 */
export async function sourceChanges(source: ClientBase, tables: readonly TableSpec[]): Promise<Map<string, string>> {
  return perTable<{ changes: string }, string>(
    source,
    `SELECT u.n::int, (pg_catalog.pg_stat_get_tuples_inserted(c.oid) + pg_catalog.pg_stat_get_tuples_updated(c.oid) + pg_catalog.pg_stat_get_tuples_deleted(c.oid))::text
              || '/' || coalesce(pg_catalog.pg_relation_filenode(c.oid)::text, '-') AS changes
       FROM ${EACH_TABLE}`,
    tables,
    [],
    (r) => r.changes,
  );
}

export interface AheadShare {
  /** Tables compared equal and recorded. */
  verified: number;
  /** Tables that could not be verified ahead (changed while read, differ now, not guardable). */
  missed: number;
  /** Tables looked at (the caller resumes after them). */
  done: number;
}

/**
 * Compares the tables in order until the deadline (at least one), recording each that matches
 * with the witnesses read before its checksums. A table that differs is not an error here: it may
 * have changed between the two reads; cutover compares it again.
 */
export async function verifyAhead(source: ClientBase, target: ClientBase, all: readonly TableSpec[], deadline: number, maxTableBytes = AHEAD_MAX_TABLE_BYTES): Promise<AheadShare> {
  const share: AheadShare = { verified: 0, missed: 0, done: 0 };
  if (all.length === 0) return share;
  if (!(await sourceCountsChanges(source))) throw new Error('track_counts is off on the source, so a table unchanged since its comparison cannot be told');
  await ensureGuardObjects(target);
  const tables = all.slice(0, AHEAD_WINDOW);
  const unguardable = await guardTables(target, tables);
  // A later pass: tables whose comparison still holds are not read again.
  const held = await stillVerified(source, target, tables);
  const sizes = await targetSizes(target, tables);
  const { utf8Bytes } = await prepareCompare(source, target);
  for (const t of tables) {
    const key = keyOf(t);
    if (held.has(key)) {
      share.done++;
      share.verified++;
      continue;
    }
    if (share.done > 0 && Date.now() >= deadline) break;
    share.done++;
    const [writes, changes] = await Promise.all([targetWrites(target, [t]), sourceChanges(source, [t])]);
    const w = writes.get(key);
    const c = changes.get(key);
    let recorded = false;
    if (!unguardable.has(key) && w?.guarded && c !== undefined && (sizes.get(key) ?? 0) <= maxTableBytes) {
      const cmp = await compareTable(source, target, t, utf8Bytes);
      if (cmp.match) {
        await target.query(
          `INSERT INTO ${AHEAD} (schema_name, table_name, writes, source_changes, rows) VALUES ($1, $2, $3::bigint, $4, $5::bigint)
           ON CONFLICT (schema_name, table_name) DO UPDATE SET writes = EXCLUDED.writes, source_changes = EXCLUDED.source_changes, rows = EXCLUDED.rows, verified_at = now()`,
          [t.schema, t.table, w.writes, c, cmp.rowsTarget],
        );
        recorded = true;
      }
    }
    if (recorded) share.verified++;
    else {
      share.missed++;
      await forgetAhead(target, [t]);
    }
  }
  return share;
}

/** Heap and TOAST bytes of each table on the target. */
function targetSizes(target: ClientBase, tables: readonly TableSpec[]): Promise<Map<string, number>> {
  return perTable<{ bytes: string }, number>(target, `SELECT u.n::int, pg_catalog.pg_table_size(c.oid)::text AS bytes FROM ${EACH_TABLE}`, tables, [], (r) => Number(r.bytes));
}

async function forgetAhead(target: ClientBase, tables: readonly TableSpec[]): Promise<void> {
  if (!(await exists(target, `${BOOKKEEPING_SCHEMA}.verified_ahead`))) return;
  await target.query(`DELETE FROM ${AHEAD} WHERE (schema_name, table_name) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, [tables.map((t) => t.schema), tables.map((t) => t.table)]);
}

/**
 * The tables whose comparison ahead of cutover still holds: recorded as matching, still guarded,
 * and with the same target count and source statistics as when they were compared.
 */
export async function stillVerified(source: ClientBase, target: ClientBase, tables: readonly TableSpec[]): Promise<Set<string>> {
  const out = new Set<string>();
  if (tables.length === 0 || !(await exists(target, `${BOOKKEEPING_SCHEMA}.verified_ahead`))) return out;
  if (!(await sourceCountsChanges(source))) return out;
  const { rows } = await target.query<{ schema_name: string; table_name: string; writes: string; source_changes: string }>(
    `SELECT schema_name, table_name, writes::text AS writes, source_changes FROM ${AHEAD}
      WHERE (schema_name, table_name) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  );
  if (rows.length === 0) return out;
  const recorded = new Set(rows.map((r) => keyOf({ schema: r.schema_name, table: r.table_name })));
  const candidates = tables.filter((t) => recorded.has(keyOf(t)));
  const [writes, changes] = await Promise.all([targetWrites(target, candidates), sourceChanges(source, candidates)]);
  for (const r of rows) {
    const key = keyOf({ schema: r.schema_name, table: r.table_name });
    const w = writes.get(key);
    if (w?.guarded && w.writes === r.writes && changes.get(key) === r.source_changes) out.add(key);
  }
  return out;
}

/** The key stillVerified uses for a table. */
export const aheadKey = keyOf;

/**
 * Takes the guards off the target's tables (dropping the function drops every trigger that
 * calls it) with what was recorded. For a database that ends otherwise than by cutover; cutover's
 * clean-up drops the whole bookkeeping schema.
 */
export async function dropGuards(target: ClientBase): Promise<void> {
  await target.query(`DROP FUNCTION IF EXISTS ${GUARD_FUNCTION} CASCADE; DROP TABLE IF EXISTS ${WRITES}, ${AHEAD}`);
}
