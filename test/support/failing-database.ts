/**
 * Real ways to make one database of a migration fail while the others go on (no mock): its
 * replication slot dropped on the source while it streams (as a DBA or a disk-space script might),
 * or its name taken on the target by a non-empty database that cannot be replaced (a template
 * database: DROP DATABASE refuses it) with no validation to catch it first (option Migrate): its
 * preparation fails at once. (A non-empty database with overwriteDbsInTarget False no longer
 * fails: the migration waits in WaitingForTargetDBOverwriteConfirmation, as Azure's does.)
 */
import type { ServerInfo } from './cluster';
import { createTestDatabase, sql } from './databases';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Drops the (only) slot on the source database `db`, retrying while a reader briefly holds it. */
export async function dropSlotWhileStreaming(source: ServerInfo, db: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await sql(source, 'postgres', 'SELECT count(pg_drop_replication_slot(slot_name))::int AS n FROM pg_replication_slots WHERE database = $1 AND NOT active', [db]).catch(() => undefined);
    if ((r?.rows[0] as { n: number } | undefined)?.n === 1) return;
    await sleep(100);
  }
  throw new Error(`could not drop the replication slot of ${db}: it stayed active`);
}

/** A non-empty database named `db` on the target (useDatabases' afterAll drops it with the rest). */
export async function occupyOnTarget(target: ServerInfo, db: string): Promise<void> {
  await createTestDatabase(target, 'occupied', db);
  await sql(target, db, 'CREATE TABLE occupied (id int PRIMARY KEY)');
}

/**
 * A non-empty database named `db` on the target that DROP DATABASE refuses (a template database).
 * Returns what makes it an ordinary database again, to run before useDatabases' afterAll drops it.
 */
export async function undroppableOnTarget(target: ServerInfo, db: string): Promise<() => Promise<void>> {
  await occupyOnTarget(target, db);
  const quoted = `"${db.replace(/"/g, '""')}"`;
  await sql(target, 'postgres', `ALTER DATABASE ${quoted} IS_TEMPLATE true`);
  return async () => {
    await sql(target, 'postgres', `ALTER DATABASE ${quoted} IS_TEMPLATE false`);
  };
}
