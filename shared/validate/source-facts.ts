/**
 * Catalog reads for the server-level checks, each a small function that receives its client.
 * Settings are read with current_setting(name, true) so a missing one (older majors) is NULL
 * rather than an error.
 */
import type pg from 'pg';
import { randomBytes } from 'node:crypto';
import { isRetryable, sqlstateOf } from '../pg/retryable';

export interface ServerParams {
  versionNum: number;
  version: string;
  walLevel: string | null;
  maxReplicationSlots: number | null;
  maxWalSenders: number | null;
  slotsUsed: number;
  sendersUsed: number;
  walSenderTimeoutMs: number | null;
  maxSlotWalKeepSizeMb: number | null;
  sharedPreloadLibraries: string[] | null;
  /** The login is a superuser. */
  isSuperuser: boolean;
  /** The login may create replication slots (REPLICATION attribute, superuser or a provider role). */
  canReplicate: boolean;
  canCreateDb: boolean;
  currentUser: string;
}

const PROVIDER_REPLICATION_ROLES = ['rds_replication', 'azure_pg_admin', 'cloudsqlsuperuser', 'alloydbsuperuser'];

export async function readServerParams(client: pg.Client): Promise<ServerParams> {
  const { rows } = await client.query<{
    num: string; version: string; wal_level: string | null; slots: string | null; senders: string | null;
    sender_timeout: string | null; keep: string | null; preload: string | null; usesuper: boolean;
    rolreplication: boolean; rolcreatedb: boolean; current_user: string; provider_role: boolean;
  }>(`
    SELECT current_setting('server_version_num') AS num,
           current_setting('server_version') AS version,
           current_setting('wal_level', true) AS wal_level,
           current_setting('max_replication_slots', true) AS slots,
           current_setting('max_wal_senders', true) AS senders,
           current_setting('wal_sender_timeout', true) AS sender_timeout,
           current_setting('max_slot_wal_keep_size', true) AS keep,
           (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS preload,
           r.rolsuper AS usesuper, r.rolreplication, r.rolcreatedb, current_user::text AS current_user,
           EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = ANY($1::text[])
                     AND pg_has_role(current_user, g.oid, 'MEMBER')) AS provider_role
      FROM pg_roles r WHERE r.rolname = current_user`, [PROVIDER_REPLICATION_ROLES]);
  const r = rows[0];
  if (!r) throw new Error('current_user is not in pg_roles');
  const used = await client.query<{ slots: string; senders: string }>(`
    SELECT (SELECT count(*) FROM pg_replication_slots) AS slots,
           (SELECT count(*) FROM pg_stat_replication) AS senders`);
  return {
    versionNum: Number(r.num),
    version: r.version.split(' ')[0] ?? r.version,
    walLevel: r.wal_level,
    maxReplicationSlots: r.slots === null ? null : Number(r.slots),
    maxWalSenders: r.senders === null ? null : Number(r.senders),
    slotsUsed: Number(used.rows[0]?.slots ?? 0),
    sendersUsed: Number(used.rows[0]?.senders ?? 0),
    walSenderTimeoutMs: parseMs(r.sender_timeout),
    maxSlotWalKeepSizeMb: parseMb(r.keep),
    sharedPreloadLibraries: r.preload === null ? null : r.preload.split(',').map((s) => s.trim().replace(/^"|"$/g, '')).filter(Boolean),
    isSuperuser: r.usesuper,
    canReplicate: r.usesuper || r.rolreplication || r.provider_role,
    canCreateDb: r.usesuper || r.rolcreatedb,
    currentUser: r.current_user,
  };
}

/** "60s" / "5min" / "0" → milliseconds. */
export function parseMs(v: string | null): number | null {
  if (v === null) return null;
  const m = /^(-?\d+)\s*(ms|s|min|h|d)?$/.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  const factor: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
  return n * (factor[unit] ?? 1);
}

/** "-1" / "10GB" / "512MB" / "1TB" → megabytes (-1 stays -1). */
export function parseMb(v: string | null): number | null {
  if (v === null) return null;
  const m = /^(-?\d+)\s*(kB|MB|GB|TB)?$/.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]);
  if (n < 0) return -1;
  const factor: Record<string, number> = { kB: 1 / 1024, MB: 1, GB: 1024, TB: 1024 * 1024 };
  return n * (factor[m[2] ?? 'MB'] ?? 1);
}

export type PluginProbe =
  | { ok: true; plugin: 'wal2json' | 'pgoutput'; why: string }
  | { ok: false; reason: string; blockedBy?: number[] };

/**
 * Chooses the decoding plugin by creating a temporary logical slot with it (the only reliable way
 * to know a plugin is installed without superuser file access). The probe slot is temporary, so it
 * disappears with the session even if this process dies.
 */
export async function probeDecodingPlugin(client: pg.Client, versionNum: number, waitMs = 5000, preferred: 'wal2json' | 'pgoutput' = 'pgoutput'): Promise<PluginProbe> {
  const tryPlugin = async (plugin: string): Promise<{ ok: true } | { ok: false; code?: string; message: string }> => {
    const name = `pgferry_probe_${randomBytes(6).toString('hex')}`;
    try {
      await client.query(`SET statement_timeout = ${Math.max(1, Math.floor(waitMs))}`);
      if (versionNum >= 100000) {
        await client.query('SELECT pg_create_logical_replication_slot($1, $2, true)', [name, plugin]);
        await client.query('SELECT pg_drop_replication_slot($1)', [name]);
      } else {
        await client.query('SELECT pg_create_logical_replication_slot($1, $2)', [name, plugin]);
        await client.query('SELECT pg_drop_replication_slot($1)', [name]);
      }
      return { ok: true };
    } catch (err) {
      // The session ended (terminated, failover): not an answer about the plugin; the caller retries.
      if (isRetryable(err) && sqlstateOf(err) !== '57014') throw err;
      const e = err as { code?: string; message?: string };
      return { ok: false, ...(e.code ? { code: e.code } : {}), message: e.message ?? String(err) };
    } finally {
      await client.query('RESET statement_timeout').catch(() => undefined);
    }
  };
  // pgoutput first on PostgreSQL 10+: built in everywhere, exact for every value (Debian's wal2json
  // 2.5 prints NaN and ±Infinity as null) and the faster of the two; wal2json where asked for, and
  // on 9.5/9.6 where pgoutput does not exist.
  const order: Array<'wal2json' | 'pgoutput'> = versionNum < 100000 ? ['wal2json'] : preferred === 'wal2json' ? ['wal2json', 'pgoutput'] : ['pgoutput', 'wal2json'];
  const errors: string[] = [];
  let wal2jsonRefused: string | undefined;
  for (const plugin of order) {
    const r = await tryPlugin(plugin);
    if (r.ok) {
      const why = plugin === 'pgoutput'
        ? (preferred === 'wal2json' ? `wal2json was asked for but ${wal2jsonRefused ?? 'is not installed on the source'}; pgoutput is built in` : 'built into PostgreSQL 10+, exact for every value')
        : (versionNum < 100000 ? 'pgoutput needs PostgreSQL 10+; format-version 2' : 'as configured (PGFERRY_DECODER); format-version 2');
      return { ok: true, plugin, why };
    }
    if (r.code === '57014') return blocked(client, r.message);
    if (plugin === 'wal2json' && notAllowedPlugin(r)) {
      // PostgreSQL 15.20+/16.12+ … accept only the libraries listed in output_plugin_libraries.
      wal2jsonRefused = `the source does not allow it as an output plugin (add wal2json to output_plugin_libraries: ALTER SYSTEM SET output_plugin_libraries = 'pgoutput, wal2json'; SELECT pg_reload_conf();)`;
      errors.push(`wal2json: ${wal2jsonRefused}`);
      continue;
    }
    errors.push(`${plugin}: ${r.message}`);
  }
  return { ok: false, reason: errors.join('; ') };
}

/** The server knows the library but its output_plugin_libraries setting does not list it. */
function notAllowedPlugin(r: { code?: string; message: string }): boolean {
  return r.code === '42501' && /may not be used as an output plugin/.test(r.message);
}

async function blocked(client: pg.Client, message: string): Promise<PluginProbe> {
  const { rows } = await client.query<{ pid: number }>(`
    SELECT pid FROM pg_stat_activity
     WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
     ORDER BY xact_start LIMIT 5`).catch(() => ({ rows: [] as Array<{ pid: number }> }));
  return { ok: false, reason: message, blockedBy: rows.map((r) => r.pid) };
}

/** Total size in MB of the given databases (for WAL-retention advice). */
export async function databasesSizeMb(client: pg.Client, dbs: readonly string[]): Promise<number> {
  const { rows } = await client.query<{ mb: string | null }>(`
    SELECT sum(pg_database_size(d.oid)) / 1048576.0 AS mb FROM pg_database d
     WHERE d.datname = ANY($1::text[]) AND has_database_privilege(d.oid, 'CONNECT')`, [dbs]);
  return Math.ceil(Number(rows[0]?.mb ?? 0));
}
