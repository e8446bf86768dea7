/**
 * The last schema step of a migration: user triggers and rules of tables were created disabled
 * (RenderOptions.holdTriggers) so that neither the copy nor replay fires them; once replay has
 * drained, each gets the state it has on the source — ENABLE, ENABLE REPLICA, ENABLE ALWAYS or
 * DISABLE. The source is read again rather than remembered, so the step is stateless and safe to
 * repeat: it only alters what differs.
 *
 * Partition clones (13+) follow their parent's ALTER, so parents go first and a clone whose state
 * differs from its parent's on the source is set afterwards.
 */
import type { ClientBase } from 'pg';
import { quoteIdent, quoteQualified } from '../pg/ident';

export interface FiringState {
  kind: 'TRIGGER' | 'RULE';
  schema: string;
  table: string;
  name: string;
  /** O origin (ENABLE), D disabled, R replica, A always. */
  state: string;
}

const ALTER: Record<string, string> = { O: 'ENABLE', D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' };

const USER_TABLE = `c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'`;

/** Triggers (parents first) and rules of the user tables of a database, with their states. */
export async function readFiringStates(client: ClientBase): Promise<FiringState[]> {
  const v = Number((await client.query<{ v: string }>(`SELECT pg_catalog.current_setting('server_version_num') AS v`)).rows[0]?.v);
  const clone = v >= 130000 ? 't.tgparentid <> 0' : 'false';
  const { rows } = await client.query<FiringState>(
    `SELECT 'TRIGGER' AS kind, n.nspname AS schema, c.relname AS table, t.tgname AS name, t.tgenabled::text AS state, ${clone} AS clone
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT t.tgisinternal AND ${USER_TABLE}
     UNION ALL
     SELECT 'RULE', n.nspname, c.relname, r.rulename, r.ev_enabled::text, false
       FROM pg_catalog.pg_rewrite r
       JOIN pg_catalog.pg_class c ON c.oid = r.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE r.rulename <> '_RETURN' AND ${USER_TABLE}
      ORDER BY clone, kind, schema, "table", name`,
  );
  return rows.map((r) => ({ kind: r.kind, schema: r.schema, table: r.table, name: r.name, state: r.state }));
}

async function targetState(target: ClientBase, f: FiringState): Promise<string | undefined> {
  const sql =
    f.kind === 'TRIGGER'
      ? `SELECT tgenabled::text AS state FROM pg_catalog.pg_trigger WHERE tgrelid = pg_catalog.to_regclass($1) AND tgname = $2`
      : `SELECT ev_enabled::text AS state FROM pg_catalog.pg_rewrite WHERE ev_class = pg_catalog.to_regclass($1) AND rulename = $2`;
  const { rows } = await target.query<{ state: string }>(sql, [quoteQualified(f.schema, f.table), f.name]);
  return rows[0]?.state;
}

/**
 * Gives every trigger and rule the target has its source state; returns what was altered.
 * Needs ownership of the tables (the target login created them, or is a member of their owner).
 */
export async function restoreFiringStates(source: ClientBase, target: ClientBase): Promise<FiringState[]> {
  const altered: FiringState[] = [];
  for (const f of await readFiringStates(source)) {
    const now = await targetState(target, f);
    const alter = ALTER[f.state];
    if (now === undefined || now === f.state || !alter) continue;
    await target.query(`ALTER TABLE ${quoteQualified(f.schema, f.table)} ${alter} ${f.kind} ${quoteIdent(f.name)}`);
    altered.push(f);
  }
  return altered;
}

/**
 * The other way round, for a fallback window's reverse stream on the source: every user trigger
 * and rule that would fire in the apply session's mode (ENABLE REPLICA and ALWAYS ones under
 * session_replication_role = replica, ENABLE and ALWAYS ones without it) is disabled, as the
 * forward apply holds them on the target; restoreFiringStates(target, source) gives them back
 * their states at the end (the target holds the source's). Returns what was disabled.
 */
export async function holdFiringStates(client: ClientBase, replicaMode: boolean): Promise<FiringState[]> {
  const fires = replicaMode ? ['R', 'A'] : ['O', 'A'];
  const held: FiringState[] = [];
  for (const f of await readFiringStates(client)) {
    if (!fires.includes(f.state)) continue;
    await client.query(`ALTER TABLE ${quoteQualified(f.schema, f.table)} DISABLE ${f.kind} ${quoteIdent(f.name)}`);
    held.push(f);
  }
  return held;
}
