/**
 * One applier per slot at a time. An activity may be delivered twice at once (a lease that
 * expired): two appliers would fight over the slot and the replication origin, each taking them
 * from the other. A session-level advisory lock on the target, keyed by the slot's name, lets the
 * first one work; the twin finds it taken and answers "busy". A holder that made no progress for
 * STALE_MS is a session its client left behind (a partitioned host): it is ended and the lock taken.
 */
import type { ClientBase } from 'pg';

/** Far longer than one batch (CDC_DEFAULTS' streaming budget) with its flush. */
const STALE_MS = 120_000;

const KEY = `pg_catalog.hashtextextended('pgferry apply ' || $1, 0)`;

/** Takes the slot's apply lock for this session; false when a live session holds it. */
export async function takeApplyLock(target: ClientBase, slot: string): Promise<boolean> {
  if (await tryLock(target, slot)) return true;
  const { rows } = await target.query<{ pid: number; stale: boolean }>(
    `SELECT l.pid, coalesce(a.state_change < pg_catalog.now() - make_interval(secs => $2), true) AS stale
       FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
        AND (l.classid::bigint << 32 | l.objid::bigint) = ${KEY}`,
    [slot, STALE_MS / 1000],
  );
  const holder = rows[0];
  if (!holder?.stale) return false;
  await target.query('SELECT pg_catalog.pg_terminate_backend($1)', [holder.pid]);
  for (let i = 0; i < 50; i++) {
    if (await tryLock(target, slot)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export async function releaseApplyLock(target: ClientBase, slot: string): Promise<void> {
  await target.query(`SELECT pg_catalog.pg_advisory_unlock(${KEY})`, [slot]);
}

async function tryLock(target: ClientBase, slot: string): Promise<boolean> {
  const { rows } = await target.query<{ ok: boolean }>(`SELECT pg_catalog.pg_try_advisory_lock(${KEY}) AS ok`, [slot]);
  return rows[0]?.ok === true;
}
