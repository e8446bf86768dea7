/**
 * The peers pgferry is measured against, each timed end to end into a fresh database of the same
 * target cluster: `pg_dump -Fc | pg_restore`, `pg_dump -Fd -j N` + `pg_restore -j N`, `pgcopydb
 * clone`, and native logical replication (schema first, then a subscription's initial sync; its
 * catch-up of a backlog written while the subscription was disabled).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { ServerInfo } from '../../emulator/local/cluster';
import { sql } from '../../emulator/local/admin';
import { pgEnv, PG_BIN } from './dataset';
import { round } from './product';

const run = promisify(execFile);

export function uri(server: ServerInfo, db: string): string {
  return `postgresql://${server.user}@${server.host}:${server.port}/${encodeURIComponent(db)}?sslmode=disable`;
}

export async function freshDatabase(server: ServerInfo, db: string): Promise<void> {
  await sql(server, 'postgres', `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  await sql(server, 'postgres', `CREATE DATABASE "${db}" TEMPLATE template0 ENCODING 'UTF8'`);
  await sql(server, 'postgres', 'CHECKPOINT');
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return round((performance.now() - t0) / 1000);
}

/** `pg_dump -Fc | pg_restore`, streamed. */
export async function dumpRestore(source: ServerInfo, target: ServerInfo, db: string, into: string): Promise<{ seconds: number }> {
  await freshDatabase(target, into);
  const seconds = await timed(() => new Promise<void>((resolve, reject) => {
    const dump = spawn(join(PG_BIN, 'pg_dump'), ['-Fc', '-d', uri(source, db)], { env: pgEnv(source) });
    const restore = spawn(join(PG_BIN, 'pg_restore'), ['-d', uri(target, into)], { env: pgEnv(target) });
    dump.stdout.pipe(restore.stdin);
    let err = '';
    for (const p of [dump, restore]) p.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    let left = 2;
    const done = (code: number | null) => {
      if (code !== 0) reject(new Error(`pg_dump | pg_restore failed (${code}): ${err.slice(0, 500)}`));
      else if (--left === 0) resolve();
    };
    dump.on('exit', done);
    restore.on('exit', done);
  }));
  return { seconds };
}

/** `pg_dump -Fd -j N` to a folder, then `pg_restore -j N`. */
export async function dumpRestoreParallel(source: ServerInfo, target: ServerInfo, db: string, into: string, jobs: number) {
  await freshDatabase(target, into);
  const dir = join(mkdtempSync(join(tmpdir(), 'pgferry-dump-')), 'dump');
  try {
    const dumpSeconds = await timed(() => run(join(PG_BIN, 'pg_dump'), ['-Fd', '-j', String(jobs), '-f', dir, uri(source, db)], { env: pgEnv(source) }));
    const restoreSeconds = await timed(() => run(join(PG_BIN, 'pg_restore'), ['-j', String(jobs), '-d', uri(target, into), dir], { env: pgEnv(target) }));
    return { seconds: round(dumpSeconds + restoreSeconds), dumpSeconds, restoreSeconds, jobs };
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
}

/** `pgcopydb clone` with N table and N index jobs (it also VACUUM ANALYZEs). */
export async function pgcopydbClone(source: ServerInfo, target: ServerInfo, db: string, into: string, jobs: number) {
  await freshDatabase(target, into);
  const dir = mkdtempSync(join(tmpdir(), 'pgferry-pgcopydb-'));
  try {
    // Its own process group: pgcopydb signals its whole group when it stops its workers.
    const seconds = await timed(() => new Promise<void>((resolve, reject) => {
      const p = spawn('pgcopydb', ['clone', '--source', uri(source, db), '--target', uri(target, into), '--table-jobs', String(jobs), '--index-jobs', String(jobs), '--dir', join(dir, 'work')], {
        env: { ...pgEnv(target), PGPASSWORD: source.password }, detached: true, stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      p.stderr.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-4000); });
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pgcopydb clone failed (${code}): ${err}`))));
    }));
    return { seconds, jobs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface NativeReplication {
  /** Schema (pg_dump -s | pg_restore, indexes included) then the subscription's initial sync, seconds. */
  initialSync: { seconds: number; schemaSeconds: number; syncSeconds: number };
  /** Stops applying (the subscription disabled), for a backlog to build up. */
  pause(): Promise<void>;
  /** Enables the subscription; resolves when `caughtUp()` holds, with the seconds it took. */
  resume(caughtUp: () => Promise<boolean>): Promise<number>;
  drop(): Promise<void>;
}

/** Native logical replication of `db` into `into`: publication FOR ALL TABLES, subscription with copy_data. */
export async function nativeReplication(source: ServerInfo, target: ServerInfo, db: string, into: string): Promise<NativeReplication> {
  await freshDatabase(target, into);
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const dump = spawn(join(PG_BIN, 'pg_dump'), ['-Fc', '-s', '-d', uri(source, db)], { env: pgEnv(source) });
    const restore = spawn(join(PG_BIN, 'pg_restore'), ['-d', uri(target, into)], { env: pgEnv(target) });
    dump.stdout.pipe(restore.stdin);
    let left = 2;
    const done = (code: number | null) => (code !== 0 ? reject(new Error(`schema copy failed (${code})`)) : --left === 0 && resolve());
    dump.on('exit', done);
    restore.on('exit', done);
  });
  const schemaSeconds = round((performance.now() - t0) / 1000);
  const pub = `bench_pub_${into}`;
  await sql(source, db, `DROP PUBLICATION IF EXISTS "${pub}"; CREATE PUBLICATION "${pub}" FOR ALL TABLES`);
  const conn = `host=${source.host} port=${source.port} dbname=${db} user=${source.user} password=${source.password} sslmode=disable`;
  const sub = `bench_sub_${into}`;
  const t1 = performance.now();
  await sql(target, into, `CREATE SUBSCRIPTION "${sub}" CONNECTION '${conn.replace(/'/g, "''")}' PUBLICATION "${pub}" WITH (copy_data = true)`);
  for (;;) {
    const { rows } = await sql(target, into, `SELECT count(*) FILTER (WHERE srsubstate <> 'r')::int AS pending FROM pg_subscription_rel`);
    if (rows[0].pending === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const syncSeconds = round((performance.now() - t1) / 1000);
  return {
    initialSync: { seconds: round(schemaSeconds + syncSeconds), schemaSeconds, syncSeconds },
    async pause() { await sql(target, into, `ALTER SUBSCRIPTION "${sub}" DISABLE`); },
    async resume(caughtUp) {
      const t = performance.now();
      await sql(target, into, `ALTER SUBSCRIPTION "${sub}" ENABLE`);
      while (!(await caughtUp())) await new Promise((r) => setTimeout(r, 50));
      return round((performance.now() - t) / 1000);
    },
    async drop() {
      await sql(target, into, `ALTER SUBSCRIPTION "${sub}" DISABLE; ALTER SUBSCRIPTION "${sub}" SET (slot_name = NONE); DROP SUBSCRIPTION "${sub}"`);
      await sql(source, db, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${sub}'; DROP PUBLICATION IF EXISTS "${pub}"`);
    },
  };
}
