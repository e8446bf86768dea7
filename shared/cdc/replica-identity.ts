/**
 * Replica identity for a fallback window. The reverse stream checks every update and delete
 * against the source row it meets (apply/guarded.ts), which needs the target's whole old row in
 * the WAL: REPLICA IDENTITY FULL on the target's tables while the window lasts. When it ends, each
 * table gets back the identity it has on the source — the target's was copied from it — so the
 * step is stateless and safe to repeat: it only alters what differs.
 *
 * ALTER TABLE … REPLICA IDENTITY takes an ACCESS EXCLUSIVE lock (briefly); at cutover no
 * application is connected yet, at the end one may be, so each statement waits at most
 * LOCK_TIMEOUT and a timeout (55P03) is retried by the activity.
 */
import type { ClientBase } from 'pg';
import { quoteIdent, quoteQualified } from '../pg/ident';
import { userSchema } from '../pg/user-schemas';

const LOCK_TIMEOUT = '10s';

interface Identity {
  schema: string;
  table: string;
  /** pg_class.relreplident: d default, n nothing, f full, i index. */
  ident: string;
  /** The index of REPLICA IDENTITY USING INDEX. */
  index: string | null;
}

/** Permanent ordinary tables of user schemas (the ones logical decoding replicates), with their identity. */
async function identities(client: ClientBase): Promise<Identity[]> {
  const { rows } = await client.query<Identity>(
    `SELECT n.nspname AS schema, c.relname AS table, c.relreplident::text AS ident,
            (SELECT i.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
              WHERE x.indrelid = c.oid AND x.indisreplident) AS index
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND ${userSchema('n')}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x
                         WHERE x.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND x.objid = c.oid AND x.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return rows;
}

function clause(i: Identity): string {
  if (i.ident === 'f') return 'FULL';
  if (i.ident === 'n') return 'NOTHING';
  if (i.ident === 'i' && i.index) return `USING INDEX ${quoteIdent(i.index)}`;
  return 'DEFAULT';
}

async function alter(client: ClientBase, schema: string, table: string, what: string): Promise<void> {
  await client.query(`SET lock_timeout = '${LOCK_TIMEOUT}'`);
  try {
    await client.query(`ALTER TABLE ${quoteQualified(schema, table)} REPLICA IDENTITY ${what}`);
  } finally {
    await client.query('RESET lock_timeout');
  }
}

/** REPLICA IDENTITY FULL on every table that has another one; returns how many were altered. */
export async function useFullReplicaIdentity(client: ClientBase): Promise<number> {
  let altered = 0;
  for (const i of await identities(client)) {
    if (i.ident === 'f') continue;
    await alter(client, i.schema, i.table, 'FULL');
    altered++;
  }
  return altered;
}

/** Gives each table of `subject` the replica identity its namesake has on `reference`; returns how many were altered. */
export async function matchReplicaIdentity(reference: ClientBase, subject: ClientBase): Promise<number> {
  const wanted = new Map((await identities(reference)).map((i) => [`${i.schema}\u0000${i.table}`, i]));
  let altered = 0;
  for (const i of await identities(subject)) {
    const w = wanted.get(`${i.schema}\u0000${i.table}`);
    if (!w || clause(w) === clause(i)) continue;
    await alter(subject, i.schema, i.table, clause(w));
    altered++;
  }
  return altered;
}
