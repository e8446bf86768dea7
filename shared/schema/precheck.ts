/**
 * The existence checks of many schema objects in a few round trips: each check is one SELECT
 * returning `state`, so a batch of them is one UNION ALL, each check's parameters renumbered
 * after the ones before it. A phase of thousands of small objects otherwise pays one round trip
 * per check before its statement.
 *
 * The states are a snapshot taken before the objects run. They stand for an object's first
 * attempt only (apply.ts): nothing else creates these objects meanwhile but a twin delivery of the
 * same activity, whose CREATE makes ours fail with a duplicate, and the retry checks again.
 */
import type { Client } from 'pg';
import type { SchemaObject } from './model';
import type { Sessions } from './sessions';

/** Checks per query; well under PostgreSQL's 65,535 parameters whatever a check takes. */
const BATCH = 200;

type Checked = SchemaObject & { check: NonNullable<SchemaObject['check']> };

/** The check's SQL with its parameters $1.. moved to $(offset+1).. */
function renumbered(sql: string, offset: number): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
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

async function statesOf(client: Client, objects: readonly SchemaObject[]): Promise<Map<string, string>> {
  const checked = objects.filter((o): o is Checked => o.check !== undefined);
  const states = new Map<string, string>();
  for (let from = 0; from < checked.length; from += BATCH) {
    const batch = checked.slice(from, from + BATCH);
    const params: unknown[] = [];
    const parts = batch.map((o, k) => {
      const sql = renumbered(o.check.sql, params.length);
      params.push(...o.check.params);
      return `SELECT ${k} AS k, s.state::text AS state FROM (${sql}) AS s`;
    });
    try {
      const { rows } = await client.query<{ k: number; state: string }>(parts.join('\nUNION ALL\n'), params);
      for (const r of rows) {
        const o = batch[Number(r.k)];
        if (o && typeof r.state === 'string') states.set(o.id, r.state);
      }
    } catch {
      return states;
    }
  }
  return states;
}
