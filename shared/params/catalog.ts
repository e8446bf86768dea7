/**
 * Server parameters as one cluster reports them: pg_settings (server-wide values) and the
 * per-database settings of pg_db_role_setting. Read-only; any login can run it.
 */
import type { ClientBase } from 'pg';

export interface SettingRow {
  name: string;
  /** pg_settings.setting: the value in the parameter's base unit. */
  setting: string;
  unit: string | null;
  vartype: string;
  /** Where the value comes from: default, configuration file, command line … */
  source: string;
  context: string;
}

export interface DatabaseSettingRow {
  database: string;
  /** `name=value` elements, as stored. */
  settings: string[];
}

/** Sources that are this session's own doing; the server-wide value is then read elsewhere. */
const SESSION_SOURCES = new Set(['client', 'session', 'database', 'user', 'database user']);

export async function readSettings(client: ClientBase): Promise<SettingRow[]> {
  const { rows } = await client.query<SettingRow & { boot_val: string | null }>(`
    SELECT s.name, s.setting, s.unit, s.vartype, s.source, s.context, s.boot_val
      FROM pg_catalog.pg_settings s ORDER BY s.name`);
  const own = rows.filter((r) => SESSION_SOURCES.has(r.source));
  const file = own.length > 0 ? await readFileSettings(client) : new Map<string, string>();
  const out: SettingRow[] = [];
  for (const r of rows) {
    const row = { name: r.name, setting: r.setting, unit: r.unit, vartype: r.vartype, source: r.source, context: r.context };
    if (!SESSION_SOURCES.has(r.source)) {
      out.push(row);
      continue;
    }
    // The session's value came from the login, the database or the client: the server's own is
    // the configuration file's (converted to the base unit by the server), else the built-in default.
    const f = file.get(r.name.toLowerCase());
    const setting = f === undefined ? r.boot_val : await inBaseUnit(client, r.name, f);
    out.push({ ...row, setting: setting ?? r.setting, source: f === undefined ? 'default' : 'configuration file' });
  }
  return out;
}

/**
 * Applied postgresql.conf values (superusers and pg_read_all_settings); empty when not readable.
 * Keyed by lower-case name: the file spells names as its author did (timezone, TimeZone …).
 */
async function readFileSettings(client: ClientBase): Promise<Map<string, string>> {
  try {
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_catalog.pg_file_settings WHERE applied ORDER BY seqno`);
    return new Map(rows.map((r) => [r.name.toLowerCase(), r.setting]));
  } catch {
    return new Map();
  }
}

/** The server's reading of a value as written in the file ('64MB' → '65536'), without keeping it. */
async function inBaseUnit(client: ClientBase, name: string, value: string): Promise<string | null> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_catalog.set_config($1, $2, true)', [name, value]);
    const { rows } = await client.query<{ setting: string }>('SELECT setting FROM pg_catalog.pg_settings WHERE name = $1', [name]);
    return rows[0]?.setting ?? null;
  } catch {
    return null;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

/** Settings made with ALTER DATABASE … SET for the given databases (existing ones only). */
export async function readDatabaseSettings(client: ClientBase, databases: readonly string[]): Promise<DatabaseSettingRow[]> {
  const { rows } = await client.query<DatabaseSettingRow>(`
    SELECT d.datname AS database, s.setconfig AS settings
      FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
     WHERE s.setrole = 0 AND d.datname = ANY($1::text[])
     ORDER BY 1`, [databases]);
  return rows;
}
