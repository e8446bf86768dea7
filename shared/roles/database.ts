/**
 * What roles hold in one migrated database, applied once the database exists on the target: its
 * owner, its privileges (CONNECT, CREATE, TEMPORARY) and the roles' settings in it (ALTER ROLE …
 * IN DATABASE … SET). Objects inside the database get their owners and grants from the schema
 * phase; default privileges too (shared/schema/render/default-acl.ts). Every statement is
 * idempotent, so running this again converges.
 */
import type { ClientBase } from 'pg';
import { quoteIdent } from '../pg/ident';
import { isRetryable, sqlstateOf } from '../pg/retryable';
import { aclColumns, type AclFields } from '../schema/catalog/filters';
import { runs } from '../schema/render/acl';
import { reservedReason, type ReservedContext } from './policy';
import { ROLE_CODES, rolesItem, type RoleMessage, type RolesItem } from './report';
import { setClause } from './sql';

interface Unit {
  what: string;
  sql: string[];
}

export interface DatabaseRolesInput {
  /** A source session (any database). */
  source: ClientBase;
  /** A target session (the maintenance database). */
  target: ClientBase;
  db: string;
  /** Roles left alone; read from the sessions (the two logins, the source's bootstrap superuser) when absent. */
  reserved?: ReservedContext;
}

export async function applyDatabaseRoles(i: DatabaseRolesInput): Promise<RolesItem> {
  const src = await readDatabase(i.source, i.db);
  const tgt = await readDatabase(i.target, i.db);
  if (!src || !tgt) return rolesItem([{ state: 'Warning', code: ROLE_CODES.databaseFailed, message: `Database ${quoteIdent(i.db)} is missing on the ${src ? 'target' : 'source'}; its privileges were not applied`, fix: '' }]);
  const targetRoles = new Set((await i.target.query<{ name: string }>('SELECT rolname AS name FROM pg_catalog.pg_roles')).rows.map((r) => r.name));
  const left: string[] = [];
  const units = databaseUnits(i.db, src, tgt.owner, targetRoles, i.reserved ?? (await reservedOf(i.source, i.target)), left);
  const messages: RoleMessage[] = [];
  let applied = 0;
  for (const u of units) {
    try {
      await i.target.query('BEGIN');
      for (const s of u.sql) await i.target.query(s);
      await i.target.query('COMMIT');
      applied++;
    } catch (err) {
      await i.target.query('ROLLBACK').catch(() => undefined);
      if (isRetryable(err)) throw err;
      const code = sqlstateOf(err);
      messages.push({
        state: 'Warning', code: ROLE_CODES.databaseFailed,
        message: `Database ${quoteIdent(i.db)}: could not ${u.what}: ${err instanceof Error ? err.message : String(err)}${code ? ` (${code})` : ''}`,
        fix: `Run on the target once the cause is fixed: ${u.sql.filter((s) => !s.startsWith('SET LOCAL ROLE')).join('; ')};`,
      });
    }
  }
  for (const l of left) messages.push({ state: 'Warning', code: ROLE_CODES.databaseFailed, message: `Database ${quoteIdent(i.db)}: ${l}`, fix: 'Create the role on the target, then grant it by hand' });
  messages.unshift({ state: 'Succeeded', code: ROLE_CODES.database, message: `Database ${quoteIdent(i.db)}: owner ${quoteIdent(src.owner)}; ${applied} of ${units.length} owner, privilege and role-setting change(s) applied`, fix: '' });
  return rolesItem(messages);
}

async function reservedOf(source: ClientBase, target: ClientBase): Promise<ReservedContext> {
  const s = await source.query<{ me: string; boot: string }>(`SELECT current_user AS me, (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = 10) AS boot`);
  const t = await target.query<{ me: string }>('SELECT current_user AS me');
  return { sourceLogin: s.rows[0]?.me ?? '', targetLogin: t.rows[0]?.me ?? '', ...(s.rows[0]?.boot ? { sourceBootstrap: s.rows[0].boot } : {}) };
}

interface DatabaseRow extends AclFields {
  /** `role` → `name=value` settings of that role in this database. */
  settings: Array<{ role: string; settings: string[] }>;
}

async function readDatabase(c: ClientBase, db: string): Promise<DatabaseRow | undefined> {
  const { rows } = await c.query<DatabaseRow>(`
    SELECT ${aclColumns('d.datacl', 'd.datdba')},
           COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object('role', r.rolname, 'settings', s.setconfig) ORDER BY r.rolname)
                       FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
                      WHERE s.setdatabase = d.oid), '[]') AS settings
      FROM pg_catalog.pg_database d WHERE d.datname = $1`, [db]);
  return rows[0];
}

/** The changes, each a transaction: owner, then the ACL (as the schema phase rebuilds ACLs), then settings. */
export function databaseUnits(db: string, src: DatabaseRow, targetOwner: string, targetRoles: ReadonlySet<string>, reserved: ReservedContext, left: string[]): Unit[] {
  const d = quoteIdent(db);
  const units: Unit[] = [];
  const ownerKnown = targetRoles.has(src.owner);
  if (!ownerKnown) left.push(`owner ${quoteIdent(src.owner)} does not exist on the target; the database stays owned by ${quoteIdent(targetOwner)}`);
  else if (src.owner !== targetOwner) units.push({ what: `make ${quoteIdent(src.owner)} the owner`, sql: [`ALTER DATABASE ${d} OWNER TO ${quoteIdent(src.owner)}`] });
  if (!src.acl_default) {
    const sql = [`REVOKE ALL ON DATABASE ${d} FROM PUBLIC`];
    if (ownerKnown) sql.push(`REVOKE ALL ON DATABASE ${d} FROM ${quoteIdent(src.owner)}`);
    for (const run of runs(src.acl ?? [])) {
      if (run.grantee !== null && !targetRoles.has(run.grantee)) {
        left.push(`${run.privileges.join(', ')} for ${quoteIdent(run.grantee)} left out: the role does not exist on the target`);
        continue;
      }
      if (run.grantor !== src.owner && !targetRoles.has(run.grantor)) continue;
      const grant = `GRANT ${run.privileges.join(', ')} ON DATABASE ${d} TO ${run.grantee === null ? 'PUBLIC' : quoteIdent(run.grantee)}${run.grantable ? ' WITH GRANT OPTION' : ''}`;
      // A grant made by a holder of the grant option is recorded with that grantor.
      if (run.grantor === src.owner) sql.push(grant);
      else sql.push(`SET LOCAL ROLE ${quoteIdent(run.grantor)}`, grant, 'RESET ROLE');
    }
    units.push({ what: 'set the database privileges', sql });
  }
  for (const s of src.settings) {
    if (reservedReason(s.role, reserved) || !targetRoles.has(s.role)) continue;
    for (const element of s.settings) {
      const { name, clause } = setClause(element);
      units.push({ what: `set ${name} for ${quoteIdent(s.role)} in the database`, sql: [`ALTER ROLE ${quoteIdent(s.role)} IN DATABASE ${d} ${clause}`] });
    }
  }
  return units;
}
