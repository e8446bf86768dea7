/**
 * The copy benchmark's source database, about 1 GB: pgbench tables at scale 50 with two extra
 * indexes on pgbench_accounts, a wide TOAST-heavy table, a table keyed by uuid (no integer key)
 * and 1,000 small tables, then VACUUM ANALYZE (so every tool sees the same statistics).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ServerInfo } from '../../emulator/local/cluster';
import { sql } from '../../emulator/local/admin';

const run = promisify(execFile);
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface DatasetOptions {
  scale?: number;
  wideRows?: number;
  uuidRows?: number;
  smallTables?: number;
}

export function pgEnv(server: ServerInfo): NodeJS.ProcessEnv {
  return { ...process.env, PGPASSWORD: server.password, PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.user, PGSSLMODE: 'disable' };
}

export async function generateDataset(server: ServerInfo, db: string, opts: DatasetOptions = {}): Promise<void> {
  const scale = opts.scale ?? 50;
  await run(`${PG_BIN}/pgbench`, ['-i', '-q', '-s', String(scale), db], { env: pgEnv(server), maxBuffer: 64 * 1024 * 1024 });
  await sql(server, db, `
    CREATE INDEX pgbench_accounts_bid_idx ON pgbench_accounts (bid);
    CREATE INDEX pgbench_accounts_bid_abalance_idx ON pgbench_accounts (bid, abalance);
    CREATE INDEX pgbench_history_aid_idx ON pgbench_history (aid);`);
  await Promise.all([
    sql(server, db, `
      CREATE TABLE wide (id bigint PRIMARY KEY, title text NOT NULL, body text, meta jsonb, created timestamptz NOT NULL);
      INSERT INTO wide
        SELECT g, 'title ' || g,
               (SELECT string_agg(md5(g::text || '-' || i::text), '') FROM generate_series(1, 160) i),
               jsonb_build_object('g', g, 'tags', jsonb_build_array('a', 'b', g % 17)),
               '2024-01-01 00:00+00'::timestamptz + g * interval '1 minute'
          FROM generate_series(1, ${opts.wideRows ?? 40000}) g;
      CREATE INDEX wide_created_idx ON wide (created);`),
    sql(server, db, `
      CREATE TABLE events_uuid (id uuid PRIMARY KEY, created timestamptz NOT NULL, kind text NOT NULL, amount numeric(12, 2), payload jsonb);
      INSERT INTO events_uuid
        SELECT gen_random_uuid(), '2024-01-01 00:00+00'::timestamptz + g * interval '1 second', 'kind' || (g % 20), g % 10000 / 100.0,
               jsonb_build_object('n', g, 's', md5(g::text))
          FROM generate_series(1, ${opts.uuidRows ?? 600000}) g;
      CREATE INDEX events_uuid_created_idx ON events_uuid (created);`),
    sql(server, db, `
      CREATE SCHEMA small;
      DO $$ BEGIN
        FOR i IN 1..${opts.smallTables ?? 1000} LOOP
          EXECUTE format('CREATE TABLE small.t%s (id integer PRIMARY KEY, name text NOT NULL, qty integer, price numeric(10, 2), at timestamptz)', lpad(i::text, 4, '0'));
          EXECUTE format('INSERT INTO small.t%s SELECT g, %L || g, g * 3, g * 1.5, now() FROM generate_series(1, 100) g', lpad(i::text, 4, '0'), 'item ');
        END LOOP;
      END $$;`),
  ]);
  await sql(server, db, 'VACUUM ANALYZE');
}

export async function databaseSize(server: ServerInfo, db: string): Promise<number> {
  const { rows } = await sql(server, db, 'SELECT pg_database_size(current_database())::int8::text AS s');
  return Number(rows[0].s);
}

/**
 * The product benchmarks' source (issue #16's shape, about 740 MB at factor 1): pgbench tables
 * at scale 30 (a 3M-row pgbench_accounts; the online benchmark's backlog is pgbench's), a 1M-row
 * uuid-keyed table with a secondary index, a 500k-row keyless REPLICA IDENTITY FULL table, a
 * TOAST-heavy table and 500 small tables with an index each; VACUUM ANALYZEd.
 */
export async function generateProductDataset(server: ServerInfo, db: string, factor = 1): Promise<void> {
  const n = (rows: number) => Math.max(1, Math.round(rows * factor));
  await run(`${PG_BIN}/pgbench`, ['-i', '-q', '-s', String(Math.max(1, Math.round(30 * factor))), db], { env: pgEnv(server), maxBuffer: 64 * 1024 * 1024 });
  await Promise.all([
    sql(server, db, `
      CREATE TABLE events_uuid (id uuid PRIMARY KEY, created timestamptz NOT NULL, kind text NOT NULL, amount numeric(12, 2), payload jsonb);
      INSERT INTO events_uuid
        SELECT gen_random_uuid(), '2024-01-01 00:00+00'::timestamptz + g * interval '1 second', 'kind' || (g % 20), g % 10000 / 100.0,
               jsonb_build_object('n', g, 's', md5(g::text))
          FROM generate_series(1, ${n(1_000_000)}) g;
      CREATE INDEX events_uuid_created_idx ON events_uuid (created);`),
    sql(server, db, `
      CREATE TABLE audit_log (at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL, detail text);
      ALTER TABLE audit_log REPLICA IDENTITY FULL;
      INSERT INTO audit_log
        SELECT '2024-01-01 00:00+00'::timestamptz + g * interval '1 second', 'user' || (g % 977), 'act' || (g % 13), md5(g::text)
          FROM generate_series(1, ${n(500_000)}) g;`),
    sql(server, db, `
      CREATE TABLE documents (id bigint PRIMARY KEY, title text NOT NULL, body text, meta jsonb);
      INSERT INTO documents
        SELECT g, 'doc ' || g, (SELECT string_agg(md5(g::text || '-' || i::text), '') FROM generate_series(1, 160) i),
               jsonb_build_object('g', g, 'tags', jsonb_build_array('a', 'b', g % 17))
          FROM generate_series(1, ${n(20_000)}) g;`),
    sql(server, db, `
      CREATE SCHEMA small;
      DO $$ BEGIN
        FOR i IN 1..500 LOOP
          EXECUTE format('CREATE TABLE small.t%s (id integer PRIMARY KEY, name text NOT NULL, qty integer, at timestamptz)', lpad(i::text, 3, '0'));
          EXECUTE format('INSERT INTO small.t%s SELECT g, %L || g, g * 3, now() FROM generate_series(1, 100) g', lpad(i::text, 3, '0'), 'item ');
          EXECUTE format('CREATE INDEX ON small.t%s (name)', lpad(i::text, 3, '0'));
        END LOOP;
      END $$;`),
  ]);
  await sql(server, db, 'VACUUM ANALYZE');
}
