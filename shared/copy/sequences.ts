/**
 * Sequence positions: read last_value / is_called of every sequence of the source database and
 * setval them on the target, so the next nextval() there continues where the source is. Logical
 * decoding does not carry sequence changes, so this runs at the end of the copy and again at
 * cutover (the finishCopy and completeDatabase steps).
 *
 * Owned sequences (serial, identity) are matched through their owning column — pg_depend on both
 * sides, as pg_get_serial_sequence() does — so a differently named identity sequence on the
 * target is still found; others, and owned ones whose column is not found, by qualified name.
 * Sequences with no counterpart on the target are reported, never skipped silently.
 */
import type { ClientBase } from 'pg';
import { userSchema } from '../pg/user-schemas';
import { quoteQualified } from '../pg/ident';

export interface SequenceValue {
  schema: string;
  name: string;
  /** Decimal (bigint range). */
  lastValue: string;
  isCalled: boolean;
  /** The column that owns it (serial / identity), if any. */
  owner?: { schema: string; table: string; column: string };
}

export interface SequenceSync {
  /** Sequences set on the target. */
  set: number;
  /** Source sequences with no counterpart on the target, as qualified names ("schema.name", quoted where needed). */
  missing: string[];
}

const USER_NS = userSchema('n');

/** Reads are batched: one UNION ALL statement per this many sequences. */
const READ_BATCH = 200;

/** Every user sequence of the database (extension members excluded), with its owning column. */
export async function readSequences(client: ClientBase): Promise<SequenceValue[]> {
  const { rows: list } = await client.query<{ schema: string; name: string; tschema: string | null; tname: string | null; col: string | null }>(
    `SELECT n.nspname AS schema, c.relname AS name, tn.nspname AS tschema, tc.relname AS tname, a.attname AS col
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
            AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
       LEFT JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
       LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
       LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE c.relkind = 'S' AND ${USER_NS}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                         WHERE e.classid = 'pg_catalog.pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
      ORDER BY 1, 2`,
  );
  const out: SequenceValue[] = [];
  for (let i = 0; i < list.length; i += READ_BATCH) {
    const part = list.slice(i, i + READ_BATCH);
    const text = part
      .map((s, j) => `SELECT ${j} AS i, last_value::text AS last_value, is_called FROM ${quoteQualified(s.schema, s.name)}`)
      .join(' UNION ALL ');
    const { rows } = await client.query<{ i: number; last_value: string; is_called: boolean }>(text);
    for (const r of rows) {
      const s = part[r.i];
      if (!s) continue;
      out.push({
        schema: s.schema,
        name: s.name,
        lastValue: r.last_value,
        isCalled: r.is_called,
        ...(s.tschema && s.tname && s.col ? { owner: { schema: s.tschema, table: s.tname, column: s.col } } : {}),
      });
    }
  }
  return out;
}

/**
 * Sets the values on the target in one statement: each sequence found through its owning column,
 * else by name. Committed synchronously (the apply session commits asynchronously, and cutover
 * reuses it). Returns how many were set and which the target lacks.
 */
export async function writeSequences(client: ClientBase, values: SequenceValue[]): Promise<SequenceSync> {
  if (values.length === 0) return { set: 0, missing: [] };
  const col = <T>(f: (v: SequenceValue) => T) => values.map(f);
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL synchronous_commit = on');
    const { rows } = await client.query<{ name: string; done: boolean }>(
      `WITH m AS (
         SELECT x.*, coalesce(
                  (SELECT d.objid::regclass
                     FROM pg_catalog.pg_namespace tn
                     JOIN pg_catalog.pg_class t ON t.relnamespace = tn.oid
                     JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND NOT a.attisdropped
                     JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = t.oid
                          AND d.refobjsubid = a.attnum AND d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
                     JOIN pg_catalog.pg_class sq ON sq.oid = d.objid AND sq.relkind = 'S'
                    WHERE tn.nspname = x.ts AND t.relname = x.tt AND a.attname = x.tc
                    LIMIT 1),
                  pg_catalog.to_regclass(pg_catalog.format('%I.%I', x.s, x.n))) AS seq
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::text[], $6::text[], $7::text[]) AS x(s, n, v, c, ts, tt, tc))
       SELECT pg_catalog.format('%I.%I', m.s, m.n) AS name,
              CASE WHEN m.seq IS NULL THEN false ELSE pg_catalog.setval(m.seq, m.v::int8, m.c) IS NOT NULL END AS done
         FROM m`,
      [
        col((v) => v.schema),
        col((v) => v.name),
        col((v) => v.lastValue),
        col((v) => v.isCalled),
        col((v) => v.owner?.schema ?? null),
        col((v) => v.owner?.table ?? null),
        col((v) => v.owner?.column ?? null),
      ],
    );
    await client.query('COMMIT');
    const missing = rows.filter((r) => !r.done).map((r) => r.name);
    return { set: rows.length - missing.length, missing };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Reads every source sequence and sets it on the target; reports what the target lacks. */
export async function copySequences(source: ClientBase, target: ClientBase): Promise<SequenceSync> {
  return writeSequences(target, await readSequences(source));
}
