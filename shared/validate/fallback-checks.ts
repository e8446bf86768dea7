/**
 * fallbackAfterCutover, checked before any copy: the way back reads the target's changes by
 * logical decoding (wal_level, a free slot and sender per database, REPLICATION for the target
 * login — on Azure flexible server the fix is the `az postgres flexible-server parameter set`
 * command), and writes them to the source, so the source login must be able to write every table,
 * keep the source's triggers and referential actions from firing (as the forward apply keeps the
 * target's), and record its replay position there.
 */
import type { ClientBase } from 'pg';
import { quoteIdent, quoteQualified } from '../pg/ident';
import { userSchema } from '../pg/user-schemas';
import { canUseOrigins } from '../cdc/progress';
import { finding, nameList, type Finding } from './codes';
import type { ServerParams } from './source-facts';

/** The target side: logical decoding and a slot per database. */
export function fallbackTargetFindings(t: ServerParams, databases: number, server: string): Finding[] {
  const out: Finding[] = [];
  if (t.walLevel !== 'logical') out.push(finding('603960', { value: t.walLevel ?? 'unknown', server }));
  const freeSlots = t.maxReplicationSlots === null ? databases : t.maxReplicationSlots - t.slotsUsed;
  if (freeSlots < databases) out.push(finding('603961', { max: t.maxReplicationSlots ?? 0, used: t.slotsUsed, needed: databases, suggest: t.slotsUsed + databases + 2, server }));
  const freeSenders = t.maxWalSenders === null ? databases : t.maxWalSenders - t.sendersUsed;
  if (freeSenders < databases) out.push(finding('603962', { max: t.maxWalSenders ?? 0, used: t.sendersUsed, needed: databases, suggest: t.sendersUsed + databases + 2, server }));
  if (!t.canReplicate) out.push(finding('603963', { user: t.currentUser, userQuoted: quoteIdent(t.currentUser) }));
  if (out.length === 0) out.push(finding('603964', { slots: freeSlots, senders: freeSenders, user: t.currentUser }));
  return out;
}

interface TableRights {
  schema: string;
  table: string;
  owner: string;
  /** The login has the owner's privileges. */
  owned: boolean;
  /** Write privileges it lacks. */
  missing: string[];
  /** Trigger or rule states (pg_trigger.tgenabled / pg_rewrite.ev_enabled) of the table. */
  states: string[];
}

async function tableRights(c: ClientBase): Promise<TableRights[]> {
  const { rows } = await c.query<TableRights>(
    `SELECT n.nspname AS schema, cl.relname AS table, pg_catalog.pg_get_userbyid(cl.relowner) AS owner,
            pg_catalog.pg_has_role(current_user, cl.relowner, 'USAGE') AS owned,
            array_remove(ARRAY[
              CASE WHEN NOT has_table_privilege(cl.oid, 'INSERT') THEN 'INSERT' END,
              CASE WHEN NOT has_table_privilege(cl.oid, 'UPDATE') THEN 'UPDATE' END,
              CASE WHEN NOT has_table_privilege(cl.oid, 'DELETE') THEN 'DELETE' END,
              CASE WHEN NOT has_table_privilege(cl.oid, 'TRUNCATE') THEN 'TRUNCATE' END], NULL) AS missing,
            ARRAY(SELECT t.tgenabled::text FROM pg_catalog.pg_trigger t WHERE t.tgrelid = cl.oid AND NOT t.tgisinternal
                  UNION ALL
                  SELECT r.ev_enabled::text FROM pg_catalog.pg_rewrite r WHERE r.ev_class = cl.oid AND r.rulename <> '_RETURN') AS states
       FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
      WHERE cl.relkind = 'r' AND cl.relpersistence = 'p' AND ${userSchema('n')}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x
                         WHERE x.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND x.objid = cl.oid AND x.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return rows;
}

/** Whether the login may SET session_replication_role = replica (superuser; a SET grant from 15). */
async function mayUseReplicaRole(c: ClientBase, versionNum: number): Promise<boolean> {
  const grant = versionNum >= 150000 ? `has_parameter_privilege('session_replication_role', 'SET')` : 'false';
  const { rows } = await c.query<{ ok: boolean }>(`SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) OR ${grant} AS ok`);
  return rows[0]?.ok === true;
}

/** Foreign keys whose ON DELETE / ON UPDATE action would fire again on a change written back. */
async function actingForeignKeys(c: ClientBase): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT pg_catalog.format('%I on %I.%I', co.conname, n.nspname, cl.relname) AS name
       FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_class cl ON cl.oid = co.conrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
      WHERE co.contype = 'f' AND (co.confdeltype NOT IN ('a', 'r') OR co.confupdtype NOT IN ('a', 'r')) AND ${userSchema('n')}
      ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

/** The source side, per database: writes, held triggers, referential actions, the replay position. */
export async function fallbackSourceFindings(c: ClientBase, db: string, user: string, versionNum: number): Promise<Finding[]> {
  const out: Finding[] = [];
  const userQuoted = quoteIdent(user);
  const tables = await tableRights(c);
  const unwritable = tables.filter((t) => t.missing.length > 0);
  if (unwritable.length > 0) {
    const schemas = [...new Set(unwritable.map((t) => quoteIdent(t.schema)))].join(', ');
    out.push(finding('603965', { user, userQuoted, db, count: unwritable.length, schemas, tables: nameList(unwritable.map((t) => `${quoteQualified(t.schema, t.table)} (${t.missing.join(', ')})`)) }));
  }
  const replica = await mayUseReplicaRole(c, versionNum);
  const replicaFix = versionNum >= 150000
    ? `GRANT SET ON PARAMETER session_replication_role TO ${userQuoted}; (or migrate with a superuser)`
    : 'Use a superuser login on the source (before PostgreSQL 15 only a superuser may set session_replication_role)';
  // Triggers and rules that fire in the apply session's mode are disabled for the window: that needs the owner's privileges.
  const fires = replica ? ['R', 'A'] : ['O', 'A'];
  const unheld = tables.filter((t) => !t.owned && t.states.some((s) => fires.includes(s)));
  if (unheld.length > 0) {
    const why = replica ? 'has tables with ENABLE REPLICA or ENABLE ALWAYS triggers it does not own' : 'cannot use session_replication_role = replica and does not own tables with triggers or rules';
    const owners = [...new Set(unheld.map((t) => quoteIdent(t.owner)))].join(', ');
    out.push(finding('603966', { user, userQuoted, db, why, count: unheld.length, tables: nameList(unheld.map((t) => quoteQualified(t.schema, t.table))), owners, replicaFix }));
  }
  if (!replica) {
    const fks = await actingForeignKeys(c);
    if (fks.length > 0) out.push(finding('603967', { user, db, count: fks.length, names: nameList(fks), replicaFix }));
  }
  const { rows } = await c.query<{ create: boolean }>(`SELECT has_database_privilege(current_database(), 'CREATE') AS create`);
  if (rows[0]?.create !== true && !(await canUseOrigins(c))) out.push(finding('603968', { user, userQuoted, db, dbQuoted: quoteIdent(db) }));
  if (out.length === 0) out.push(finding('603969', { user, db, count: tables.length, replica: replica ? 'yes' : 'no' }));
  return out;
}
