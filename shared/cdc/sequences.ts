/**
 * Sequences at cutover: every sequence of the source database (identity and serial ones
 * included) is set on the target to the source's last_value / is_called, so the next nextval()
 * on the target continues where the source stopped. Owned sequences (serial, identity) are
 * matched through their column — pg_depend on the source, pg_get_serial_sequence on the target —
 * so a differently named identity sequence on the target is still found.
 */
import type { ClientBase } from 'pg';
import { userSchema } from '../pg/user-schemas';
import { quoteQualified } from '../pg/ident';

export interface SequenceValue {
  schema: string;
  name: string;
  /** bigint as text. */
  lastValue: string;
  isCalled: boolean;
  /** The column that owns it (serial / identity), if any. */
  owner?: { schema: string; table: string; column: string };
}

export async function readSequences(source: ClientBase): Promise<SequenceValue[]> {
  const { rows } = await source.query<{ schema: string; name: string; tschema: string | null; tname: string | null; col: string | null }>(
    `SELECT n.nspname AS schema, c.relname AS name, tn.nspname AS tschema, tc.relname AS tname, a.attname AS col
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
            AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
       LEFT JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
       LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
       LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE c.relkind = 'S' AND ${userSchema('n')}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
      ORDER BY 1, 2`,
  );
  const out: SequenceValue[] = [];
  for (const r of rows) {
    const v = await source.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text AS last_value, is_called FROM ${quoteQualified(r.schema, r.name)}`);
    const value = v.rows[0];
    if (!value) continue;
    out.push({
      schema: r.schema,
      name: r.name,
      lastValue: value.last_value,
      isCalled: value.is_called,
      ...(r.tschema && r.tname && r.col ? { owner: { schema: r.tschema, table: r.tname, column: r.col } } : {}),
    });
  }
  return out;
}

export interface SequenceSyncResult {
  /** "schema.name" on the target → value set. */
  set: Array<{ sequence: string; lastValue: string; isCalled: boolean }>;
  /** Source sequences with no counterpart on the target. */
  missing: string[];
}

/** Sets every sequence in one transaction, committed synchronously. */
export async function setSequences(target: ClientBase, seqs: SequenceValue[]): Promise<SequenceSyncResult> {
  const result: SequenceSyncResult = { set: [], missing: [] };
  await target.query('BEGIN');
  try {
    await target.query('SET LOCAL synchronous_commit = on');
    for (const s of seqs) {
      let regclass: string | null = null;
      if (s.owner) {
        const r = await target.query<{ seq: string | null }>(`SELECT pg_catalog.pg_get_serial_sequence($1, $2) AS seq`, [quoteQualified(s.owner.schema, s.owner.table), s.owner.column]).catch(() => ({ rows: [] as Array<{ seq: string | null }> }));
        regclass = r.rows[0]?.seq ?? null;
      }
      if (!regclass) {
        const r = await target.query<{ seq: string | null }>(`SELECT to_regclass($1)::text AS seq`, [quoteQualified(s.schema, s.name)]);
        regclass = r.rows[0]?.seq ?? null;
      }
      if (!regclass) {
        result.missing.push(`${s.schema}.${s.name}`);
        continue;
      }
      await target.query(`SELECT pg_catalog.setval($1::regclass, $2::int8, $3)`, [regclass, s.lastValue, s.isCalled]);
      result.set.push({ sequence: regclass, lastValue: s.lastValue, isCalled: s.isCalled });
    }
    await target.query('COMMIT');
  } catch (err) {
    await target.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return result;
}
