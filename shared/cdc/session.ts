/**
 * Session settings of pgferry's own connections, so text values mean the same on both sides:
 * the source prints values in these styles (output functions run in the decoding backend) and
 * the target parses them back. lc_monetary matters for money; extra_float_digits = 3 makes float
 * output exact before PostgreSQL 12 (later versions print the shortest exact form anyway).
 */
import type { ClientBase } from 'pg';
import { VALUE_FORMATS_SQL } from '../pg/formats';
import { sqlstateOf } from '../pg/retryable';

/** Every connection starts with these (pg/connect.ts); repeated for clients made elsewhere. */
const TEXT_FORMAT_SETTINGS = [VALUE_FORMATS_SQL];

/** The session that reads the slot: value formats, and no statement timeout on long decodes. */
export async function prepareSourceSession(client: ClientBase): Promise<void> {
  await client.query([...TEXT_FORMAT_SETTINGS, `SET statement_timeout = 0`, `SET idle_in_transaction_session_timeout = 0`].join('; '));
}

/** The same value formats on the apply session (prepareApplySession adds the applier's own). */
export async function prepareTargetFormats(client: ClientBase): Promise<void> {
  await client.query([...TEXT_FORMAT_SETTINGS, `SET statement_timeout = 0`].join('; '));
}

/** Settings of the apply session; returns whether replica mode (no triggers, no FK checks) is on. */
export async function prepareApplySession(target: ClientBase): Promise<boolean> {
  await prepareTargetFormats(target);
  await target.query(`SET synchronous_commit = off`);
  await useDatabaseSearchPath(target);
  try {
    await target.query(`SET session_replication_role = replica`);
    return true;
  } catch (err) {
    if (sqlstateOf(err) !== '42501') throw err;
    return false;
  }
}

/**
 * The search_path user code sees on the target: the database's own default (ALTER DATABASE … SET
 * search_path, else the server's), not one pinned by pgferry. CHECK constraints and any trigger
 * that fires call functions whose bodies name tables unqualified, as the application's sessions
 * resolve them; under search_path = pg_catalog such a body fails with 42P01. pgferry's own SQL
 * does not depend on the path: it names every table and type qualified (types are read with
 * format_type under pg_catalog, target-tables.ts), and pg_catalog is searched first whenever a
 * path does not list it. A value set for pgferry's login (ALTER ROLE) or at connection start is
 * not the application's, so it is skipped.
 */
export async function useDatabaseSearchPath(target: ClientBase): Promise<void> {
  await target.query(
    `SELECT pg_catalog.set_config('search_path', coalesce(
       (SELECT reset_val FROM pg_catalog.pg_settings
         WHERE name = 'search_path' AND source IN ('default', 'configuration file', 'database')),
       (SELECT substr(s, length('search_path=') + 1)
          FROM pg_catalog.pg_db_role_setting d, unnest(d.setconfig) AS s
         WHERE d.setrole = 0 AND s LIKE 'search_path=%'
           AND d.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())),
       (SELECT boot_val FROM pg_catalog.pg_settings WHERE name = 'search_path')), false)`,
  );
}
