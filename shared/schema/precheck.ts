/**
 * The existence checks of many schema objects in a few round trips: each check is one SELECT
 * returning `state`; the checks of one shape run as one query over arrays of their names. A
 * phase of thousands of small objects otherwise pays one round trip per check before its
 * statement.
 *
 * The states are a snapshot taken before the objects run. They stand for an object's first
 * attempt only (apply.ts): nothing else creates these objects meanwhile but a twin delivery of the
 * same activity, whose CREATE makes ours fail with a duplicate, and the retry checks again.
 */
import type { Client } from 'pg';
import type { SchemaObject } from './model';
import type { Sessions } from './sessions';

/** Checks per query: one array element per check and parameter. */
const BATCH = 1000;

type Checked = SchemaObject & { check: NonNullable<SchemaObject['check']> };

/**
 * The check's SQL run once per row of `x`: its parameters $1.. become the columns x.p1.. (text,
 * which every check compares or casts as it did its text parameter).
 */
function overRows(sql: string): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => `x.p${n}`);
}

/**
 * The state of each object with a check ('done', 'absent' or 'broken'), by id. A failure of the
 * batched query is no failure of the phase: the objects are then checked one by one as before.
 */
export async function precheckStates(sessions: Sessions, objects: readonly SchemaObject[]): Promise<Map<string, string>> {
  if (!objects.some((o) => o.check)) return new Map();
  let client: Client;
  try {
    client = await sessions.acquire();
  } catch {
    return new Map();
  }
  const states = await statesOf(client, objects);
  sessions.release(client);
  return states;
}

/**
 * Checks of the same shape (the same SQL, names differing only in their values) in one set-based
 * query each: the names as arrays, unnested WITH ORDINALITY, the check joined LATERAL to each row.
 * Planned once whatever the number of objects (a UNION ALL of hundreds of checks spent more time
 * planning than running).
 */
async function statesOf(client: Client, objects: readonly SchemaObject[]): Promise<Map<string, string>> {
  const shapes = new Map<string, Checked[]>();
  for (const o of objects) {
    // Only checks asking about names (every real one): any other is checked on its own, later.
    if (!o.check || o.check.params.length === 0 || !o.check.params.every((v) => typeof v === 'string')) continue;
    const list = shapes.get(o.check.sql);
    if (list) list.push(o as Checked);
    else shapes.set(o.check.sql, [o as Checked]);
  }
  const states = new Map<string, string>();
  for (const [sql, checked] of shapes) {
    const width = checked[0]?.check.params.length ?? 0;
    const columns = Array.from({ length: width }, (_, i) => `p${i + 1}`);
    const arrays = columns.map((_, i) => `$${i + 1}::text[]`);
    const text = `SELECT x.k, s.state::text AS state FROM unnest(${arrays.join(', ')}) WITH ORDINALITY AS x(${columns.join(', ')}, k)
      CROSS JOIN LATERAL (${overRows(sql)}) AS s`;
    for (let from = 0; from < checked.length; from += BATCH) {
      const batch = checked.slice(from, from + BATCH);
      const params = columns.map((_, i) => batch.map((o) => o.check.params[i] as string));
      try {
        const { rows } = await client.query<{ k: string | number; state: string }>(text, params);
        for (const r of rows) {
          const o = batch[Number(r.k) - 1];
          if (o && typeof r.state === 'string') states.set(o.id, r.state);
        }
      } catch {
        break;
      }
    }
  }
  return states;
}
