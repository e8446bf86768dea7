/**
 * Roles as the catalogs of one cluster describe them: attributes, memberships, per-role settings,
 * comments and parameter privileges, plus the connected login's own powers. Each read is one small
 * query that receives its client. Password verifiers are read apart (readVerifiers) and never
 * join these rows, which travel into reports.
 */
import type { ClientBase } from 'pg';
import { sqlstateOf } from '../pg/retryable';

/** The attributes CREATE ROLE takes as keywords. */
export const ATTRIBUTES = ['SUPERUSER', 'INHERIT', 'CREATEROLE', 'CREATEDB', 'LOGIN', 'REPLICATION', 'BYPASSRLS'] as const;
export type Attribute = (typeof ATTRIBUTES)[number];

export interface RoleRow {
  name: string;
  /** The cluster's bootstrap superuser (oid 10). */
  bootstrap: boolean;
  attributes: Record<Attribute, boolean>;
  /** -1: no limit. */
  connectionLimit: number;
  /** ISO text in UTC, 'infinity', or null. */
  validUntil: string | null;
  comment: string | null;
}

export interface MembershipRow {
  role: string;
  member: string;
  admin: boolean;
  /** PostgreSQL 16+: the grant's own INHERIT and SET options; null before. */
  inherit: boolean | null;
  set: boolean | null;
}

export interface RoleSettingRow {
  role: string;
  /** `name=value` elements, as pg_db_role_setting stores them. */
  settings: string[];
}

export interface ParameterGrantRow {
  parameter: string;
  /** null: PUBLIC. */
  grantee: string | null;
  privilege: string;
  grantable: boolean;
}

export interface LoginPowers {
  name: string;
  superuser: boolean;
  createrole: boolean;
  createdb: boolean;
  replication: boolean;
  bypassrls: boolean;
}

export interface ClusterRoles {
  versionNum: number;
  login: LoginPowers;
  roles: RoleRow[];
  memberships: MembershipRow[];
  /** Settings of a role in every database (ALTER ROLE … SET). */
  settings: RoleSettingRow[];
  /** PostgreSQL 15+ (GRANT … ON PARAMETER); empty before or when unreadable. */
  parameterGrants: ParameterGrantRow[];
  /** password_encryption of the cluster. */
  passwordEncryption: string;
}

/** Reads everything but verifiers. Timestamps are read in UTC/ISO so any session can parse them back. */
export async function readClusterRoles(client: ClientBase): Promise<ClusterRoles> {
  await client.query(`SELECT pg_catalog.set_config('datestyle', 'ISO, YMD', false), pg_catalog.set_config('timezone', 'UTC', false)`);
  const v = await client.query<{ num: string; enc: string }>(`SELECT current_setting('server_version_num') AS num, current_setting('password_encryption') AS enc`);
  const versionNum = Number(v.rows[0]?.num);
  const roles = await readRoles(client);
  const me = await client.query<{ name: string }>('SELECT current_user AS name');
  const name = me.rows[0]?.name ?? '';
  const mine = roles.find((r) => r.name === name);
  if (!mine) throw new Error(`the login ${name} is missing from pg_roles`);
  return {
    versionNum,
    login: {
      name,
      superuser: mine.attributes.SUPERUSER,
      createrole: mine.attributes.CREATEROLE,
      createdb: mine.attributes.CREATEDB,
      replication: mine.attributes.REPLICATION,
      bypassrls: mine.attributes.BYPASSRLS,
    },
    roles,
    memberships: await readMemberships(client, versionNum),
    settings: await readRoleSettings(client),
    parameterGrants: versionNum >= 150000 ? await readParameterGrants(client) : [],
    passwordEncryption: v.rows[0]?.enc ?? 'md5',
  };
}

export async function readRoles(client: ClientBase): Promise<RoleRow[]> {
  const { rows } = await client.query<{
    name: string; bootstrap: boolean; superuser: boolean; inherit: boolean; createrole: boolean; createdb: boolean;
    login: boolean; replication: boolean; bypassrls: boolean; conn_limit: number; valid_until: string | null; comment: string | null;
  }>(`
    SELECT r.rolname AS name, r.oid = 10 AS bootstrap, r.rolsuper AS superuser, r.rolinherit AS inherit,
           r.rolcreaterole AS createrole, r.rolcreatedb AS createdb, r.rolcanlogin AS login,
           r.rolreplication AS replication, r.rolbypassrls AS bypassrls, r.rolconnlimit AS conn_limit,
           r.rolvaliduntil::text AS valid_until, pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment
      FROM pg_catalog.pg_roles r
     ORDER BY r.rolname`);
  return rows.map((r) => ({
    name: r.name,
    bootstrap: r.bootstrap,
    attributes: {
      SUPERUSER: r.superuser, INHERIT: r.inherit, CREATEROLE: r.createrole, CREATEDB: r.createdb,
      LOGIN: r.login, REPLICATION: r.replication, BYPASSRLS: r.bypassrls,
    },
    connectionLimit: r.conn_limit,
    validUntil: r.valid_until,
    comment: r.comment,
  }));
}

/** One row per (role, member): PostgreSQL 16 may hold several grants from different grantors. */
export async function readMemberships(client: ClientBase, versionNum: number): Promise<MembershipRow[]> {
  const options = versionNum >= 160000 ? 'bool_or(am.inherit_option) AS inherit, bool_or(am.set_option) AS set' : 'NULL::boolean AS inherit, NULL::boolean AS set';
  const { rows } = await client.query<MembershipRow>(`
    SELECT g.rolname AS role, m.rolname AS member, bool_or(am.admin_option) AS admin, ${options}
      FROM pg_catalog.pg_auth_members am
      JOIN pg_catalog.pg_roles g ON g.oid = am.roleid
      JOIN pg_catalog.pg_roles m ON m.oid = am.member
     GROUP BY 1, 2 ORDER BY 1, 2`);
  return rows;
}

/** ALTER ROLE … SET settings that apply in every database (per-database ones go with the database). */
export async function readRoleSettings(client: ClientBase): Promise<RoleSettingRow[]> {
  const { rows } = await client.query<RoleSettingRow>(`
    SELECT r.rolname AS role, s.setconfig AS settings
      FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
     WHERE s.setdatabase = 0
     ORDER BY 1`);
  return rows;
}

export async function readParameterGrants(client: ClientBase): Promise<ParameterGrantRow[]> {
  try {
    const { rows } = await client.query<ParameterGrantRow>(`
      SELECT p.parname AS parameter, CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee,
             a.privilege_type AS privilege, a.is_grantable AS grantable
        FROM pg_catalog.pg_parameter_acl p, LATERAL pg_catalog.aclexplode(p.paracl) a
       ORDER BY 1, 2, 3`);
    return rows;
  } catch (err) {
    if (sqlstateOf(err) === '42501') return [];
    throw err;
  }
}

/**
 * Password verifiers (SCRAM-SHA-256$… or md5…), readable from pg_authid by a superuser only.
 * null when the login may not read them. The map is a secret: it goes to the target and nowhere else.
 */
export async function readVerifiers(client: ClientBase): Promise<Map<string, string> | null> {
  try {
    const { rows } = await client.query<{ name: string; verifier: string }>(
      'SELECT rolname AS name, rolpassword AS verifier FROM pg_catalog.pg_authid WHERE rolpassword IS NOT NULL');
    return new Map(rows.map((r) => [r.name, r.verifier]));
  } catch (err) {
    if (sqlstateOf(err) === '42501') return null;
    throw err;
  }
}
