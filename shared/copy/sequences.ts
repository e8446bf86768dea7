/**
 * Sequence positions: read last_value / is_called of every sequence on the source and setval
 * them on the target, so the next nextval() continues where the source is. Logical decoding does
 * not carry sequence changes, so this runs at the end of the copy and again at cutover.
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
}

const USER_NS = userSchema('n');

/** Reads are batched: one UNION ALL statement per this many sequences. */
const READ_BATCH = 200;

export async function readSequences(client: ClientBase): Promise<SequenceValue[]> {
  const { rows: list } = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'S' AND ${USER_NS}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                         WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
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
      if (s) out.push({ schema: s.schema, name: s.name, lastValue: r.last_value, isCalled: r.is_called });
    }
  }
  return out;
}

/** Sets the values on the target; returns the sequences the target does not have. */
export async function writeSequences(client: ClientBase, values: SequenceValue[]): Promise<string[]> {
  if (values.length === 0) return [];
  const { rows } = await client.query<{ name: string; done: boolean }>(
    `SELECT pg_catalog.format('%I.%I', x.s, x.n) AS name,
            CASE WHEN pg_catalog.to_regclass(pg_catalog.format('%I.%I', x.s, x.n)) IS NULL THEN false
                 ELSE pg_catalog.setval(pg_catalog.format('%I.%I', x.s, x.n)::regclass, x.v::int8, x.c) IS NOT NULL END AS done
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[]) AS x(s, n, v, c)`,
    [values.map((v) => v.schema), values.map((v) => v.name), values.map((v) => v.lastValue), values.map((v) => v.isCalled)],
  );
  return rows.filter((r) => !r.done).map((r) => r.name);
}

export async function copySequences(source: ClientBase, target: ClientBase): Promise<{ copied: number; missing: string[] }> {
  const values = await readSequences(source);
  const missing = await writeSequences(target, values);
  return { copied: values.length - missing.length, missing };
}
