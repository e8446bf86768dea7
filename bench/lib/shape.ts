/** What a finished clone must have of the source: indexes, key constraints, tables and the big tables' rows. */
import type { ServerInfo } from '../../emulator/local/cluster';
import { sql } from '../../emulator/local/admin';

export async function shape(server: ServerInfo, db: string): Promise<Record<string, number>> {
  const { rows } = await sql(server, db, `
    SELECT (SELECT count(*) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema'))::int AS indexes,
           (SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
             WHERE c.contype IN ('p', 'u', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema'))::int AS constraints,
           (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname IN ('public', 'small'))::int AS tables,
           (SELECT count(*) FROM pgbench_accounts)::int AS accounts,
           (SELECT count(*) FROM events_uuid)::int AS events_uuid,
           (SELECT count(*) FROM audit_log)::int AS audit_log,
           (SELECT count(*) FROM documents)::int AS documents`);
  return rows[0] as Record<string, number>;
}
