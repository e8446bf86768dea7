/**
 * What pgferry needs to know about a server before it plans anything: version, logical
 * replication settings, the connected role's powers, and whether the session is encrypted.
 * Each fact is one small query that receives its client; all work on PostgreSQL 9.5 and later.
 */
import type { ClientBase } from 'pg';

export interface ServerFacts {
  /** server_version_num, e.g. 150008. */
  serverVersionNum: number;
  /** Numeric version without distribution suffix, e.g. '15.8' (or '9.6.24'). */
  serverVersion: string;
  majorVersion: number;
  currentUser: string;
  currentDatabase: string;
  isSuperuser: boolean;
  /** The role has the REPLICATION attribute itself. */
  hasReplicationAttribute: boolean;
  /** May create logical replication slots: superuser, REPLICATION, or AWS's rds_replication. */
  canReplicate: boolean;
  canCreateDb: boolean;
  canCreateRole: boolean;
  /** Provider administrator roles the user belongs to (azure_pg_admin, rds_superuser …). */
  providerRoles: string[];
  /** A standby: logical slots need PostgreSQL 16+ there. */
  inRecovery: boolean;
  walLevel: string;
  maxReplicationSlots: number;
  maxWalSenders: number;
  /** Replication slots already defined on the server. */
  replicationSlotsInUse: number;
  sslInUse: boolean;
  /** TLS protocol of this session, e.g. 'TLSv1.3'; null when not encrypted. */
  sslVersion: string | null;
}

/** Managed services' stand-ins for superuser, checked by membership. */
export const PROVIDER_ADMIN_ROLES = [
  'azure_pg_admin',
  'rds_superuser',
  'rds_replication',
  'cloudsqlsuperuser',
  'alloydbsuperuser',
] as const;

export async function serverFacts(client: ClientBase): Promise<ServerFacts> {
  // One after another: a client runs one query at a time anyway.
  const version = await serverVersion(client);
  const role = await roleFacts(client);
  const providerRoles = await providerRoleMemberships(client);
  const settings = await replicationSettings(client);
  const ssl = await sessionSsl(client);
  return {
    ...version,
    ...role,
    providerRoles,
    canReplicate: role.isSuperuser || role.hasReplicationAttribute || providerRoles.includes('rds_replication'),
    ...settings,
    ...ssl,
  };
}

export async function serverVersion(client: ClientBase): Promise<Pick<ServerFacts, 'serverVersionNum' | 'serverVersion' | 'majorVersion'>> {
  const { rows } = await client.query<{ num: string }>(`SELECT current_setting('server_version_num') AS num`);
  const serverVersionNum = Number(rows[0]?.num);
  return { serverVersionNum, ...formatVersion(serverVersionNum) };
}

/** 150008 → 15.8; 90624 → 9.6.24 (before 10, the major version had two parts). */
export function formatVersion(num: number): { serverVersion: string; majorVersion: number } {
  const major = Math.floor(num / 10000);
  // Before 10 the "major version" was major.minor; majorVersion keeps the first part for comparisons.
  const serverVersion = num >= 100000 ? `${major}.${num % 10000}` : `${major}.${Math.floor(num / 100) % 100}.${num % 100}`;
  return { serverVersion, majorVersion: major };
}

export async function roleFacts(
  client: ClientBase,
): Promise<Pick<ServerFacts, 'currentUser' | 'currentDatabase' | 'isSuperuser' | 'hasReplicationAttribute' | 'canCreateDb' | 'canCreateRole' | 'inRecovery'>> {
  const { rows } = await client.query<{
    current_user: string;
    current_database: string;
    rolsuper: boolean;
    rolreplication: boolean;
    rolcreatedb: boolean;
    rolcreaterole: boolean;
    in_recovery: boolean;
  }>(
    `SELECT current_user AS current_user, current_database() AS current_database,
            r.rolsuper, r.rolreplication, r.rolcreatedb, r.rolcreaterole,
            pg_is_in_recovery() AS in_recovery
       FROM pg_roles r
      WHERE r.rolname = current_user`,
  );
  const row = rows[0];
  if (!row) throw new Error('the current role is missing from pg_roles');
  return {
    currentUser: row.current_user,
    currentDatabase: row.current_database,
    isSuperuser: row.rolsuper,
    hasReplicationAttribute: row.rolreplication,
    canCreateDb: row.rolcreatedb,
    canCreateRole: row.rolcreaterole,
    inRecovery: row.in_recovery,
  };
}

export async function providerRoleMemberships(client: ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ rolname: string }>(
    `SELECT r.rolname
       FROM pg_roles r
      WHERE r.rolname = ANY($1::text[])
        AND pg_has_role(current_user, r.oid, 'MEMBER')
      ORDER BY r.rolname`,
    [PROVIDER_ADMIN_ROLES],
  );
  return rows.map((r) => r.rolname);
}

export async function replicationSettings(
  client: ClientBase,
): Promise<Pick<ServerFacts, 'walLevel' | 'maxReplicationSlots' | 'maxWalSenders' | 'replicationSlotsInUse'>> {
  const { rows } = await client.query<{ wal_level: string; slots: string; senders: string; slots_in_use: string }>(
    `SELECT current_setting('wal_level') AS wal_level,
            current_setting('max_replication_slots') AS slots,
            current_setting('max_wal_senders') AS senders,
            (SELECT count(*) FROM pg_replication_slots) AS slots_in_use`,
  );
  const row = rows[0];
  return {
    walLevel: row?.wal_level ?? '',
    maxReplicationSlots: Number(row?.slots),
    maxWalSenders: Number(row?.senders),
    replicationSlotsInUse: Number(row?.slots_in_use),
  };
}

export async function sessionSsl(client: ClientBase): Promise<Pick<ServerFacts, 'sslInUse' | 'sslVersion'>> {
  const { rows } = await client.query<{ ssl: boolean; version: string | null }>(
    `SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`,
  );
  const row = rows[0];
  return { sslInUse: row?.ssl ?? false, sslVersion: row?.ssl ? row.version : null };
}
