/**
 * Role migration (migrateRoles) on real clusters, proven by pg_dumpall and pg_dump: a source (its own
 * cluster) with a
 * role hierarchy (groups, logins with SCRAM and MD5 passwords, a superuser, REPLICATION and
 * BYPASSRLS roles, admin options, role settings, comments, a parameter privilege, database
 * privileges and per-database settings, default privileges and grants on schemas, tables,
 * sequences and functions) goes to
 *   1. the rig target as a superuser: the roles' pg_dumpall lines, every object's owner and ACL
 *      (pg_dump) and the database's owner, ACL and role settings equal the source's; a re-run
 *      changes nothing;
 *   2. a second cluster with a NON-superuser CREATEROLE login: SUPERUSER, REPLICATION and BYPASSRLS
 *      are dropped and reported per role, everything else equals the source;
 *   3. the second cluster again, read by a NON-superuser source login: no verifier can be read,
 *      and every login role is reported with the command to set its password.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connect } from '../../shared/pg/connect';
import { applyDatabaseRoles, migrateRoles, ROLE_CODES, type RolesItem } from '../../shared/roles';
import { startCluster, type Cluster, type ServerInfo } from '../support/cluster';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';
import { applyAll, planFor, schemaDump } from '../fixtures/schema/oracle';
import { describeFailures } from '../../shared/schema';

const run = promisify(execFile);
// The source is this file's own cluster: the rig source holds other files' roles, which a
// superuser role migration would copy to the shared target.
let source: ServerInfo;
const target = inject('target');
const p = `r${randomBytes(3).toString('hex')}_`;
const R = {
  owner: `${p}owner`, readers: `${p}readers`, writers: `${p}writers`, app: `${p}app`, report: `${p}report`,
  admin: `${p}admin`, repl: `${p}repl`, rls: `${p}rls`, noinherit: `${p}noinh`,
};
/** Logins made for the test (not part of the migrated hierarchy's assertions). */
const L = { migrator: `${p}migrator`, reader: `${p}srcreader` };
const ALL = [...Object.values(R), ...Object.values(L)];
const q = (r: string) => `"${r}"`;

let sourceCluster: Cluster;
let cluster2: Cluster;
let sourceDb: string;
const made: Array<[ServerInfo, string]> = [];

async function session(server: ServerInfo, over: { user?: string; password?: string; database?: string } = {}): Promise<Client> {
  return connect(endpointOf(server, over));
}

async function withSession<T>(server: ServerInfo, over: { user?: string; password?: string; database?: string }, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await session(server, over);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Whether a pg_dumpall line names a role (quoted or not). */
function mentions(line: string, role: string): boolean {
  return line.includes(`"${role}"`) || new RegExp(`(^|[^\\w"])${role}([^\\w"]|$)`).test(line);
}

/** pg_dumpall --globals-only, only the lines naming a role of this test, GRANTED BY left out. */
async function globals(server: ServerInfo, exclude: readonly string[] = []): Promise<string[]> {
  const { stdout } = await run('/usr/lib/postgresql/15/bin/pg_dumpall', ['-h', server.host, '-p', String(server.port), '-U', server.user, '--globals-only'], {
    env: { ...process.env, PGPASSWORD: server.password, PGSSLMODE: 'prefer' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .map((l) => l.replace(/ GRANTED BY \S+;$/, ';'))
    .filter((l) => l.includes(p) && !l.startsWith('--') && !exclude.some((x) => mentions(l, x)))
    .sort();
}

const SOURCE_ROLES = `
  CREATE ROLE ${q(R.owner)} NOLOGIN;
  CREATE ROLE ${q(R.readers)} NOLOGIN;
  COMMENT ON ROLE ${q(R.readers)} IS 'read-only group: it''s for reports';
  CREATE ROLE ${q(R.writers)} NOLOGIN IN ROLE ${q(R.readers)};
  CREATE ROLE ${q(R.app)} LOGIN PASSWORD 'app-secret' CONNECTION LIMIT 20 IN ROLE ${q(R.writers)};
  ALTER ROLE ${q(R.app)} SET search_path = app, "$user", public;
  ALTER ROLE ${q(R.app)} SET statement_timeout = '30s';
  SET password_encryption = 'md5';
  CREATE ROLE ${q(R.report)} LOGIN PASSWORD 'report-secret' VALID UNTIL '2031-01-01 00:00:00+00';
  RESET password_encryption;
  GRANT ${q(R.readers)} TO ${q(R.report)} WITH ADMIN OPTION;
  GRANT pg_read_all_stats TO ${q(R.report)};
  CREATE ROLE ${q(R.admin)} SUPERUSER LOGIN PASSWORD 'admin-secret';
  CREATE ROLE ${q(R.repl)} LOGIN REPLICATION PASSWORD 'repl-secret';
  CREATE ROLE ${q(R.rls)} NOLOGIN BYPASSRLS CREATEDB CREATEROLE;
  CREATE ROLE ${q(R.noinherit)} LOGIN NOINHERIT PASSWORD 'noinh-secret' IN ROLE ${q(R.owner)};
  GRANT SET ON PARAMETER log_statement TO ${q(R.app)};
  CREATE ROLE ${q(L.reader)} LOGIN PASSWORD 'reader-secret';
`;

function schemaSql(db: string): string {
  return `
    REVOKE CONNECT, TEMPORARY ON DATABASE ${q(db)} FROM PUBLIC;
    GRANT CONNECT ON DATABASE ${q(db)} TO ${q(R.readers)};
    GRANT CREATE, CONNECT ON DATABASE ${q(db)} TO ${q(R.owner)} WITH GRANT OPTION;
    ALTER DATABASE ${q(db)} OWNER TO ${q(R.owner)};
    ALTER ROLE ${q(R.app)} IN DATABASE ${q(db)} SET work_mem = '32MB';
    CREATE SCHEMA app AUTHORIZATION ${q(R.owner)};
    SET ROLE ${q(R.owner)};
    CREATE TABLE app.accounts (id int PRIMARY KEY, name text);
    CREATE SEQUENCE app.ticket;
    CREATE FUNCTION app.answer() RETURNS int LANGUAGE sql AS 'SELECT 42';
    GRANT USAGE ON SCHEMA app TO ${q(R.readers)};
    GRANT SELECT ON app.accounts TO ${q(R.readers)};
    GRANT INSERT, UPDATE ON app.accounts TO ${q(R.writers)};
    GRANT SELECT (name) ON app.accounts TO ${q(R.report)};
    GRANT USAGE ON SEQUENCE app.ticket TO ${q(R.writers)};
    REVOKE EXECUTE ON FUNCTION app.answer() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION app.answer() TO ${q(R.app)};
    ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO ${q(R.readers)};
    ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO ${q(R.writers)};
    RESET ROLE;
    GRANT SELECT ON app.accounts TO ${q(R.rls)};
    GRANT ${q(R.readers)} TO ${q(L.reader)};
  `;
}

async function dropAll(server: ServerInfo, databases: string[]): Promise<void> {
  // DROP OWNED fails on a role the server does not have: only the ones it has.
  const { rows } = await sql(server, 'postgres', 'SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [ALL]);
  const present = (rows as Array<{ rolname: string }>).map((r) => q(r.rolname));
  if (present.length === 0) return;
  // Grants on databases and parameters are shared: DROP OWNED in any database revokes them.
  for (const db of ['postgres', ...databases]) await sql(server, db, `DROP OWNED BY ${present.join(', ')}`).catch(() => undefined);
  for (const r of present) await sql(server, 'postgres', `DROP ROLE IF EXISTS ${r}`).catch(() => undefined);
}

beforeAll(async () => {
  [sourceCluster, cluster2] = await Promise.all([startCluster({ label: 'roles-src' }), startCluster({ label: 'roles2' })]);
  source = sourceCluster.info;
  await sql(source, 'postgres', SOURCE_ROLES);
  sourceDb = await createTestDatabase(source, 'roles_src');
  made.push([source, sourceDb]);
  await sql(source, sourceDb, schemaSql(sourceDb));
}, 120_000);

afterAll(async () => {
  for (const [server, db] of made) await dropAll(server, [db]);
  for (const [server, db] of made) await dropTestDatabase(server, db).catch(() => undefined);
  await dropAll(target, []);
  await Promise.allSettled([sourceCluster?.stop(), cluster2?.stop()]);
}, 120_000);

function messages(item: RolesItem, code: string): string[] {
  return item.messages.filter((m) => m.code === code).map((m) => m.message);
}

describe('migrateRoles to a superuser target', () => {
  let targetDb: string;

  it('creates the hierarchy before the schema; roles, owners, ACLs and database settings equal the source', async () => {
    const out = await withSession(source, {}, (s) => withSession(target, {}, (t) => migrateRoles(s, t)));
    expect(out.fatal).toBeUndefined();
    expect(out.outcomes.filter((o) => o.status !== 'done')).toEqual([]);
    const created = messages(out.item, ROLE_CODES.created);
    for (const r of [...Object.values(R), L.reader]) expect(created.some((m) => m.startsWith(`Role ${q(r)} created`)), r).toBe(true);
    expect(messages(out.item, ROLE_CODES.refused)).toEqual([]);
    expect(messages(out.item, ROLE_CODES.noPassword)).toEqual([]);
    // The MD5 verifier was copied, with the advice to store a SCRAM one (the target hashes with SCRAM).
    expect(messages(out.item, ROLE_CODES.md5)).toEqual([expect.stringContaining(`Role ${q(R.report)} has an MD5 password verifier`)]);
    // The report never holds a verifier.
    expect(JSON.stringify(out.item)).not.toMatch(/SCRAM-SHA-256\$|md5[0-9a-f]{32}/);
    expect(await globals(target)).toEqual(await globals(source));

    // The database as prepareTargetDatabase makes it, then the schema phase, then its privileges.
    targetDb = sourceDb;
    await sql(target, 'postgres', `CREATE DATABASE ${q(targetDb)} TEMPLATE template0 ENCODING 'UTF8'`);
    made.push([target, targetDb]);
    const plan = await planFor(source, sourceDb, target, targetDb);
    expect(plan.warnings.filter((w) => w.code === 'missing-role')).toEqual([]);
    const reports = await applyAll(plan, target, targetDb);
    for (const r of reports) expect(describeFailures(r), r.phase).toEqual([]);
    const dbItem = await withSession(source, {}, (s) => withSession(target, {}, (t) => applyDatabaseRoles({ source: s, target: t, db: targetDb })));
    expect(dbItem.messages.filter((m) => m.state !== 'Succeeded')).toEqual([]);

    expect(await schemaDump(target, targetDb)).toEqual(await schemaDump(source, sourceDb));
    const dbFacts = `SELECT pg_get_userbyid(d.datdba) AS owner, d.datacl::text[] AS acl,
        (SELECT array_agg(r.rolname || ':' || array_to_string(s.setconfig, ',')) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE s.setdatabase = d.oid) AS settings
      FROM pg_database d WHERE datname = $1`;
    const facts = (await sql(target, 'postgres', dbFacts, [targetDb])).rows[0];
    expect(facts).toEqual((await sql(source, 'postgres', dbFacts, [sourceDb])).rows[0]);
    expect(facts.owner).toBe(R.owner);
  }, 120_000);

  it('a re-run converges: everything exists, matches, and nothing changes', async () => {
    const before = await globals(target);
    const out = await withSession(source, {}, (s) => withSession(target, {}, (t) => migrateRoles(s, t)));
    expect(out.outcomes).toEqual([]);
    expect(out.summary.created).toBe(0);
    const exists = out.item.messages.filter((m) => m.code === ROLE_CODES.exists);
    expect(exists.length).toBe(Object.values(R).length + 1);
    expect(exists.filter((m) => m.state !== 'Succeeded')).toEqual([]);
    const again = await withSession(source, {}, (s) => withSession(target, {}, (t) => applyDatabaseRoles({ source: s, target: t, db: targetDb })));
    expect(again.messages.filter((m) => m.state !== 'Succeeded')).toEqual([]);
    expect(await globals(target)).toEqual(before);
    expect(await schemaDump(target, targetDb)).toEqual(await schemaDump(source, sourceDb));
  }, 120_000);
});

describe('migrateRoles to other targets', () => {
  it('a NON-superuser source login cannot read verifiers: login roles are created without one and listed with the command', async () => {
    const t2 = cluster2.info;
    const out = await withSession(source, { user: L.reader, password: 'reader-secret' }, (s) => withSession(t2, {}, (t) => migrateRoles(s, t)));
    expect(out.fatal).toBeUndefined();
    const noPassword = out.item.messages.filter((m) => m.code === ROLE_CODES.noPassword);
    // Every LOGIN role of the hierarchy; the reader is the source login (reserved), groups have no login.
    expect(noPassword.map((m) => m.message.split(' ')[1]).sort()).toEqual([R.app, R.report, R.admin, R.repl, R.noinherit].map(q).sort());
    for (const m of noPassword) {
      expect(m.state).toBe('Warning');
      expect(m.fix).toMatch(/^Set one on the target: ALTER ROLE "r[0-9a-f]{6}_\w+" PASSWORD '…';$/);
    }
    const verifiers = await sql(t2, 'postgres', 'SELECT count(*)::int AS n FROM pg_authid WHERE rolname LIKE $1 AND rolpassword IS NOT NULL', [`${p}%`]);
    expect(verifiers.rows[0]).toEqual({ n: 0 });
    expect(messages(out.item, ROLE_CODES.reserved).join()).toContain(`${q(L.reader)} (the source login of this migration)`);
    // Without pg_authid the rest still matches: compare without passwords.
    const noPw = (lines: string[]) => lines.map((l) => l.replace(/ PASSWORD '[^']*'/, ''));
    expect(noPw(await globals(t2))).toEqual(noPw(await globals(source, [L.reader])));
    await dropAll(t2, []);
  }, 120_000);

  it('a NON-superuser CREATEROLE target login: SUPERUSER, REPLICATION and BYPASSRLS are dropped and reported per role', async () => {
    const t2 = cluster2.info;
    await sql(t2, 'postgres', `CREATE ROLE ${q(L.migrator)} LOGIN CREATEROLE CREATEDB PASSWORD 'migrator-secret'`);
    const login = { user: L.migrator, password: 'migrator-secret' };
    const out = await withSession(source, {}, (s) => withSession(t2, login, (t) => migrateRoles(s, t)));
    expect(out.fatal).toBeUndefined();
    const refused = out.item.messages.filter((m) => m.code === ROLE_CODES.refused);
    expect(refused.map((m) => m.message.replace(/:.*/, '')).sort()).toEqual([
      `Role ${q(R.admin)} was created without SUPERUSER`,
      `Role ${q(R.repl)} was created without REPLICATION`,
      `Role ${q(R.rls)} was created without BYPASSRLS`,
    ].sort());
    for (const m of refused) expect(m.state).toBe('Warning');
    // Verifiers were readable and copied; only the parameter privilege needs a superuser.
    expect(messages(out.item, ROLE_CODES.noPassword)).toEqual([]);
    const failed = out.item.messages.filter((m) => m.code === ROLE_CODES.failed);
    expect(failed.map((m) => m.message.replace(/:.*/, ''))).toEqual([`Could not grant SET on parameter log_statement to ${q(R.app)}`]);
    expect(failed[0]?.fix).toBe(`Run on the target once the cause is fixed: GRANT SET ON PARAMETER "log_statement" TO ${q(R.app)};`);
    expect(messages(out.item, ROLE_CODES.selfGrant)).toHaveLength(1);

    // pg_dumpall equals the source's, minus the refused attributes, the parameter privilege and the
    // migration login's own memberships (it was made a member of what it created).
    const expected = (await globals(source))
      .filter((l) => !l.startsWith('GRANT SET ON PARAMETER'))
      .map((l) => (mentions(l, R.admin) ? l.replace(' SUPERUSER ', ' NOSUPERUSER ') : l))
      .map((l) => (mentions(l, R.repl) ? l.replace(' REPLICATION ', ' NOREPLICATION ') : l))
      .map((l) => (mentions(l, R.rls) ? l.replace(' BYPASSRLS', ' NOBYPASSRLS') : l))
      .sort();
    expect(await globals(t2, [L.migrator])).toEqual(expected);
    const loginMemberships = await sql(t2, 'postgres', `SELECT count(*)::int AS n FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member WHERE m.rolname = $1`, [L.migrator]);
    expect(loginMemberships.rows[0]).toEqual({ n: out.summary.created });
    expect(out.summary.created).toBe(Object.values(R).length + 1);

    // A re-run converges: the refusals are still reported, nothing is created again.
    const again = await withSession(source, {}, (s) => withSession(t2, login, (t) => migrateRoles(s, t)));
    expect(again.outcomes).toEqual([]);
    expect(again.item.messages.filter((m) => m.code === ROLE_CODES.refused)).toHaveLength(3);
    expect(again.item.messages.filter((m) => m.code === ROLE_CODES.exists && m.state !== 'Succeeded')).toEqual([]);
    expect(await globals(t2, [L.migrator])).toEqual(expected);
  }, 120_000);

  it('a login without CREATEROLE fails at once with 603116 and creates nothing', async () => {
    const t2 = cluster2.info;
    await dropAll(t2, []);
    await sql(t2, 'postgres', `CREATE ROLE ${q(L.migrator)} LOGIN PASSWORD 'migrator-secret'`);
    const out = await withSession(source, {}, (s) => withSession(t2, { user: L.migrator, password: 'migrator-secret' }, (t) => migrateRoles(s, t)));
    expect(out.fatal).toMatch(/can neither create roles/);
    expect(out.item.state).toBe('Failed');
    expect(out.item.messages[0]?.code).toBe('603116');
    expect(await globals(t2, [L.migrator])).toEqual([]);
  }, 60_000);
});

describe('migrateRoles PostgreSQL 17 → 17 with a NON-superuser CREATEROLE login', () => {
  let s17: Cluster;
  let t17: Cluster;
  beforeAll(async () => {
    [s17, t17] = await Promise.all([startCluster({ major: 17, label: 'roles17s' }), startCluster({ major: 17, label: 'roles17t' })]);
    await sql(s17.info, 'postgres', `
      CREATE ROLE ${q(R.readers)} NOLOGIN;
      CREATE ROLE ${q(R.app)} LOGIN PASSWORD 'app-secret';
      GRANT ${q(R.readers)} TO ${q(R.app)} WITH INHERIT FALSE, SET FALSE;
      CREATE ROLE ${q(R.writers)} NOLOGIN;
      GRANT ${q(R.readers)} TO ${q(R.writers)} WITH ADMIN OPTION;
      CREATE ROLE ${q(R.repl)} NOLOGIN REPLICATION;
      CREATE ROLE ${q(R.rls)} NOLOGIN BYPASSRLS CREATEDB;`);
    await sql(t17.info, 'postgres', `CREATE ROLE ${q(L.migrator)} LOGIN CREATEROLE REPLICATION PASSWORD 'migrator-secret'`);
  }, 120_000);
  afterAll(async () => {
    await Promise.allSettled([s17?.stop(), t17?.stop()]);
  });

  it('keeps INHERIT/SET/ADMIN options, grants REPLICATION the login holds, refuses what it lacks, and can act as what it created', async () => {
    const out = await withSession(s17.info, {}, (s) => withSession(t17.info, { user: L.migrator, password: 'migrator-secret' }, (t) => migrateRoles(s, t)));
    expect(out.fatal).toBeUndefined();
    expect(out.outcomes.filter((o) => o.status !== 'done')).toEqual([]);
    expect(out.item.messages.filter((m) => m.code === ROLE_CODES.refused).map((m) => m.message).sort()).toEqual([
      `Role ${q(R.rls)} was created without BYPASSRLS: the target login does not have BYPASSRLS itself, so it cannot grant it`,
      `Role ${q(R.rls)} was created without CREATEDB: the target login does not have CREATEDB itself, so it cannot grant it`,
    ]);
    const membership = `SELECT g.rolname AS role, m.rolname AS member, bool_or(am.admin_option) AS admin, bool_or(am.inherit_option) AS inherit, bool_or(am.set_option) AS set
      FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
     WHERE g.rolname LIKE $1 AND m.rolname LIKE $1 AND m.rolname <> $2 GROUP BY 1, 2 ORDER BY 1, 2`;
    expect((await sql(t17.info, 'postgres', membership, [`${p}%`, L.migrator])).rows).toEqual((await sql(s17.info, 'postgres', membership, [`${p}%`, L.migrator])).rows);
    const attrs = `SELECT rolname, rolreplication, rolbypassrls, rolcreatedb FROM pg_roles WHERE rolname LIKE $1 AND rolname <> $2 ORDER BY 1`;
    expect((await sql(t17.info, 'postgres', attrs, [`${p}%`, L.migrator])).rows).toEqual(
      (await sql(s17.info, 'postgres', attrs, [`${p}%`, L.migrator])).rows.map((r: { rolname: string }) => (r.rolname === R.rls ? { ...r, rolbypassrls: false, rolcreatedb: false } : r)));
    const verifier = `SELECT rolpassword FROM pg_authid WHERE rolname = $1`;
    expect((await sql(t17.info, 'postgres', verifier, [R.app])).rows).toEqual((await sql(s17.info, 'postgres', verifier, [R.app])).rows);
    // createrole_self_grant gave the login SET and INHERIT on each role: it may give them objects.
    const self = await sql(t17.info, 'postgres', `SELECT g.rolname, bool_or(am.set_option) AS set, bool_or(am.inherit_option) AS inherit
      FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member WHERE m.rolname = $1 GROUP BY 1 ORDER BY 1`, [L.migrator]);
    expect(self.rows).toEqual([R.app, R.readers, R.repl, R.rls, R.writers].sort().map((r) => ({ rolname: r, set: true, inherit: true })));
  }, 120_000);
});
