/**
 * Source snapshot and WAL position, spelled for each major: pg_current_snapshot and pg_snapshot
 * arrived in 13 (txid_* before), the WAL functions were renamed in 10 (xlog before).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientBase } from 'pg';
import { parseSnapshot, widenXid } from '../cdc/apply/visibility';
import type { BaseSnapshot } from './types';

/** Snapshot of the current transaction as text. */
export function snapshotExpr(major: number): string {
  return major >= 13 ? 'pg_catalog.pg_current_snapshot()::text' : 'pg_catalog.txid_current_snapshot()::text';
}

/**
 * Current WAL position as `X/Y`: the insert position (replay position on a standby). Every commit
 * a snapshot sees has its commit record inserted before it became visible, so this position is
 * past it; the write position is not: an asynchronous commit (synchronous_commit = off) is
 * visible before the WAL writer writes it out.
 */
export function lsnExpr(major: number): string {
  return major >= 10
    ? `(CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn() ELSE pg_catalog.pg_current_wal_insert_lsn() END)::text`
    : `(CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_xlog_replay_location() ELSE pg_catalog.pg_current_xlog_insert_location() END)::text`;
}

function xmaxExpr(major: number): string {
  return major >= 13
    ? 'pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text'
    : 'pg_catalog.txid_snapshot_xmax(pg_catalog.txid_current_snapshot())::text';
}

const SNAPSHOT_TEXT = /^\d+:\d+:(\d+(,\d+)*)?$/;

/**
 * `xmin` of the row version is visible in `snapshot`. Exact only while the cluster's xid epoch is
 * 0 (raw 32-bit xmin equals the 64-bit xid): the planner uses it only then (plan.ts).
 * The snapshot is inlined (COPY takes no parameters), after a strict format check.
 */
export function visibleInSnapshotExpr(major: number, snapshot: string): string {
  if (!SNAPSHOT_TEXT.test(snapshot)) throw new Error(`not a snapshot: ${JSON.stringify(snapshot)}`);
  return major >= 13
    ? `pg_catalog.pg_visible_in_snapshot(xmin::text::pg_catalog.xid8, '${snapshot}'::pg_catalog.pg_snapshot)`
    : `pg_catalog.txid_visible_in_snapshot(xmin::text::bigint, '${snapshot}'::pg_catalog.txid_snapshot)`;
}

/**
 * How long the lock table is left to settle after the base snapshot: longer than the few
 * instructions between a new xid and the lock it takes on itself, and between a transaction's
 * end and the release of its locks.
 */
export const LOCKS_SETTLE_MS = 100;

/**
 * The plan's base snapshot: a snapshot, WAL position and xmax in one statement, its in-progress
 * list then completed with the subtransactions of the transactions in it.
 *
 * pg_current_snapshot() lists top-level xids only. A row written inside a SAVEPOINT carries the
 * subtransaction's own xid, absent from that list, so pg_visible_in_snapshot() calls it visible
 * although its transaction was still running: the xmin filter then copied both the old version
 * (before that transaction committed) and the new one (after), the same key twice. Every xid, a
 * subtransaction's too, holds an ExclusiveLock on itself until its top-level transaction ends, so
 * the lock table read after the snapshot names every xid still running then; those below the
 * snapshot's xmax join its in-progress list. The result is exact both ways:
 * - an xid it calls visible was assigned before the snapshot and not running when the locks were
 *   read, so it ended before any chunk began (no row version is copied next to its successor);
 * - an xid it calls invisible was running at the snapshot or at the lock read, or began after the
 *   snapshot, so it commits after the slot was created and CDC replays it (nothing is lost);
 * - a top-level xid it calls visible ended before the snapshot with all its subtransactions, so
 *   CDC, which sees only top-level xids, skips exactly what the filter copied.
 * A standby's lock table does not show the primary's transactions: standby marks the snapshot
 * unfit for the filter (xminFilterUsable).
 */
export async function readBaseSnapshot(client: ClientBase, major: number): Promise<BaseSnapshot> {
  const { rows } = await client.query<{ snapshot: string; lsn: string; xmax: string; standby: boolean }>(
    `SELECT ${snapshotExpr(major)} AS snapshot, ${lsnExpr(major)} AS lsn, ${xmaxExpr(major)} AS xmax, pg_catalog.pg_is_in_recovery() AS standby`,
  );
  const row = rows[0];
  if (!row) throw new Error('no snapshot row');
  const { standby, ...base } = row;
  if (standby) return { ...base, standby: true };
  await sleep(LOCKS_SETTLE_MS);
  return { ...base, snapshot: withRunningXids(base.snapshot, await runningXids(client)) };
}

/** Every xid (top-level or subtransaction, any database) that holds the lock on itself now. */
export async function runningXids(client: ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ xid: string }>(
    `SELECT transactionid::text AS xid FROM pg_catalog.pg_locks WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock' AND granted`,
  );
  return rows.map((r) => r.xid);
}

/** The snapshot with `running` (32-bit xids) that fall inside [xmin, xmax) added to its in-progress list. */
export function withRunningXids(snapshot: string, running: readonly string[]): string {
  const s = parseSnapshot(snapshot);
  const xip = new Set(s.xip);
  for (const x of running) {
    const xid = widenXid(x, s.xmax);
    if (xid >= s.xmin && xid < s.xmax) xip.add(xid);
  }
  const sorted = [...xip].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `${s.xmin}:${s.xmax}:${sorted.join(',')}`;
}

/** 2^32: xids at or past it mean the cluster's xid counter has wrapped at least once. */
export const XID_EPOCH = 4294967296n;

/** Raw 32-bit xmin values can be compared with this snapshot exactly (epoch 0, with margin), subtransactions included. */
export function xminFilterUsable(base: BaseSnapshot): boolean {
  if (base.standby) return false;
  // Keep 2^30 xids of head room for the copy itself: a wrap during the copy would break the filter.
  return BigInt(base.xmax) < XID_EPOCH - (1n << 30n);
}

/** `X/Y` → 64-bit position. */
export function lsnValue(lsn: string): bigint {
  const m = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(lsn);
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(lsn)}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** The highest of some LSNs (the consistency point of a set of chunks), or null for none. */
export function maxLsn(lsns: Iterable<string>): string | null {
  let best: string | null = null;
  for (const l of lsns) if (best === null || lsnValue(l) > lsnValue(best)) best = l;
  return best;
}
