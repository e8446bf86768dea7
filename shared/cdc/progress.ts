/**
 * Where the target records the last applied source commit, atomically with the rows (DESIGN.md,
 * exactly once). Preferred: a replication origin named like the slot —
 * pg_replication_origin_xact_setup(lsn, time) makes the commit record itself carry the progress,
 * and pg_replication_origin_progress(name, true) reads it back (flushing first, so what it
 * returns is durable). Fallback, when the login may not use origins (they need superuser before
 * PostgreSQL 14, EXECUTE grants after; Azure's admin is not superuser): one row per slot in
 * pgferry_cdc.applied_lsn, upserted in every applied transaction. Cutover removes both.
 *
 * The mode, once used, sticks: a row in the bookkeeping table wins over origins, so a change of
 * privileges between calls cannot make a restart forget its progress.
 */
import type { ClientBase } from 'pg';
import { quoteIdent } from '../pg/ident';
import { sqlstateOf } from '../pg/retryable';
import { PROGRESS_SCHEMA } from '../pg/user-schemas';
import { CDC_DEFAULTS } from './defaults';
import { normalizeLsn } from './lsn';

export type ProgressMode = 'origin' | 'table';

export { PROGRESS_SCHEMA };
const PROGRESS_TABLE = `${quoteIdent(PROGRESS_SCHEMA)}.applied_lsn`;

/** Whether this login may use replication origins on the target. */
export async function canUseOrigins(client: ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(
    `SELECT CASE WHEN (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN true
                 WHEN current_setting('server_version_num')::int < 140000 THEN false
                 ELSE has_function_privilege('pg_catalog.pg_replication_origin_create(text)', 'EXECUTE')
                  AND has_function_privilege('pg_catalog.pg_replication_origin_session_setup(text)', 'EXECUTE')
                  AND has_function_privilege('pg_catalog.pg_replication_origin_xact_setup(pg_lsn, timestamp with time zone)', 'EXECUTE')
                  AND has_function_privilege('pg_catalog.pg_replication_origin_progress(text, boolean)', 'EXECUTE')
                  AND has_function_privilege('pg_catalog.pg_replication_origin_session_reset()', 'EXECUTE')
            END AS ok`,
  );
  return rows[0]?.ok === true;
}

async function tableRow(client: ClientBase, name: string): Promise<{ lsn: string } | undefined> {
  const exists = await client.query<{ r: string | null }>(`SELECT to_regclass($1)::text AS r`, [`${PROGRESS_SCHEMA}.applied_lsn`]);
  if (!exists.rows[0]?.r) return undefined;
  const { rows } = await client.query<{ lsn: string }>(`SELECT commit_lsn::text AS lsn FROM ${PROGRESS_TABLE} WHERE slot_name = $1`, [name]);
  return rows[0];
}

/** Picks the mode: an explicit one, else table if it already holds progress, else origins when allowed. */
export async function chooseProgressMode(client: ClientBase, name: string, wanted: ProgressMode | 'auto' = 'auto'): Promise<ProgressMode> {
  if (wanted !== 'auto') return wanted;
  if (await tableRow(client, name)) return 'table';
  return (await canUseOrigins(client)) ? 'origin' : 'table';
}

/** The apply session's progress handle. */
export class Progress {
  private constructor(
    private readonly client: ClientBase,
    readonly name: string,
    readonly mode: ProgressMode,
  ) {}

  /**
   * Prepares the session: creates the origin (or table) if needed and binds the origin to this
   * session. A stale session of ours that still holds the origin (a killed activity whose backend
   * lives on) is terminated first.
   */
  static async open(client: ClientBase, name: string, mode: ProgressMode): Promise<Progress> {
    if (mode === 'origin') {
      await client.query(`SELECT pg_catalog.pg_replication_origin_create($1) WHERE pg_catalog.pg_replication_origin_oid($1) IS NULL`, [name]).catch((err: unknown) => {
        if (sqlstateOf(err) !== '23505') throw err; // created concurrently
      });
      try {
        await client.query(`SELECT pg_catalog.pg_replication_origin_session_setup($1)`, [name]);
      } catch (err) {
        const pid = /already active for PID (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
        if (sqlstateOf(err) !== '55006' || pid === undefined) throw err;
        await client.query(`SELECT pg_catalog.pg_terminate_backend($1)`, [Number(pid)]);
        await waitForOriginRelease(client, name, Number(pid));
        await client.query(`SELECT pg_catalog.pg_replication_origin_session_setup($1)`, [name]);
      }
    } else {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(PROGRESS_SCHEMA)}`).catch(ignoreDuplicate);
      await client
        .query(
          `CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (
             slot_name text PRIMARY KEY, commit_lsn pg_lsn NOT NULL, commit_time timestamptz, updated_at timestamptz NOT NULL DEFAULT now())`,
        )
        .catch(ignoreDuplicate);
    }
    return new Progress(client, name, mode);
  }

  /** The last durably applied commit LSN, or undefined when nothing was applied yet. */
  async read(): Promise<string | undefined> {
    if (this.mode === 'origin') {
      const { rows } = await this.client.query<{ lsn: string | null }>(`SELECT pg_catalog.pg_replication_origin_session_progress(true)::text AS lsn`);
      const lsn = rows[0]?.lsn;
      return lsn && lsn !== '0/0' ? normalizeLsn(lsn) : undefined;
    }
    const row = await tableRow(this.client, this.name);
    return row ? normalizeLsn(row.lsn) : undefined;
  }

  /** Inside the open target transaction: records that it applies everything up to `lsn`. */
  async record(lsn: string, commitTime: string): Promise<void> {
    if (this.mode === 'origin') {
      await this.client.query({ name: 'pf_origin_xact', text: `SELECT pg_catalog.pg_replication_origin_xact_setup($1::pg_lsn, $2::timestamptz)`, values: [lsn, commitTime] });
    } else {
      await this.client.query({
        name: 'pf_progress_row',
        text: `INSERT INTO ${PROGRESS_TABLE} (slot_name, commit_lsn, commit_time) VALUES ($1, $2::pg_lsn, $3::timestamptz)
               ON CONFLICT (slot_name) DO UPDATE SET commit_lsn = EXCLUDED.commit_lsn, commit_time = EXCLUDED.commit_time, updated_at = now()`,
        values: [this.name, lsn, commitTime],
      });
    }
  }

  /** Makes every earlier (asynchronous) commit durable and returns the durable progress. */
  async flush(): Promise<string | undefined> {
    if (this.mode === 'table') {
      // A synchronous commit flushes the WAL up to it, and with it every earlier commit.
      await this.client.query('BEGIN');
      try {
        await this.client.query('SET LOCAL synchronous_commit = on');
        await this.client.query(`UPDATE ${PROGRESS_TABLE} SET updated_at = now() WHERE slot_name = $1`, [this.name]);
        await this.client.query('COMMIT');
      } catch (err) {
        await this.client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    // For origins, progress(…, true) flushes the WAL up to the origin's last commit itself.
    return this.read();
  }

  /** Unbinds the origin from this session (the session may be reused). */
  async release(): Promise<void> {
    if (this.mode === 'origin') await this.client.query(`SELECT pg_catalog.pg_replication_origin_session_reset()`).catch(() => undefined);
  }
}

function ignoreDuplicate(err: unknown): void {
  const state = sqlstateOf(err);
  if (state !== '42P06' && state !== '42P07' && state !== '23505') throw err;
}

async function waitForOriginRelease(client: ClientBase, name: string, pid: number): Promise<void> {
  const deadline = Date.now() + CDC_DEFAULTS.originReleaseTimeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await client.query(`SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1`, [pid]);
    if (rows.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`replication origin "${name}" is still held by backend ${pid}`);
}

/**
 * Removes the progress record at cutover: the origin (after unbinding it from this session) and
 * the bookkeeping row — with the table and schema once no migration uses them. Idempotent.
 */
export async function dropProgress(client: ClientBase, name: string): Promise<void> {
  await client.query(`SELECT pg_catalog.pg_replication_origin_session_reset()`).catch(() => undefined);
  const { rows } = await client.query<{ oid: string | null }>(`SELECT pg_catalog.pg_replication_origin_oid($1)::text AS oid`, [name]).catch(() => ({ rows: [] as Array<{ oid: string | null }> }));
  if (rows[0]?.oid) await client.query(`SELECT pg_catalog.pg_replication_origin_drop($1)`, [name]);
  if (await tableRow(client, name)) {
    await client.query(`DELETE FROM ${PROGRESS_TABLE} WHERE slot_name = $1`, [name]);
    const left = await client.query(`SELECT 1 FROM ${PROGRESS_TABLE} LIMIT 1`);
    if (left.rows.length === 0) await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(PROGRESS_SCHEMA)} CASCADE`);
  } else {
    const exists = await client.query<{ r: string | null }>(`SELECT to_regclass($1)::text AS r`, [`${PROGRESS_SCHEMA}.applied_lsn`]);
    if (exists.rows[0]?.r) {
      const left = await client.query(`SELECT 1 FROM ${PROGRESS_TABLE} LIMIT 1`);
      if (left.rows.length === 0) await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(PROGRESS_SCHEMA)} CASCADE`);
    }
  }
}
