/**
 * Source snapshot and WAL position, spelled for each major: pg_current_snapshot and pg_snapshot
 * arrived in 13 (txid_* before), the WAL functions were renamed in 10 (xlog before).
 */
import type { ClientBase } from 'pg';
import type { BaseSnapshot } from './types';

/** Snapshot of the current transaction as text. */
export function snapshotExpr(major: number): string {
  return major >= 13 ? 'pg_catalog.pg_current_snapshot()::text' : 'pg_catalog.txid_current_snapshot()::text';
}

/** Current WAL position as `X/Y` (replay position on a standby). */
export function lsnExpr(major: number): string {
  return major >= 10
    ? `(CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn() ELSE pg_catalog.pg_current_wal_lsn() END)::text`
    : `(CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_xlog_replay_location() ELSE pg_catalog.pg_current_xlog_location() END)::text`;
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

/** Reads a snapshot + WAL position in one statement (its own snapshot), for the plan's base. */
export async function readBaseSnapshot(client: ClientBase, major: number): Promise<BaseSnapshot> {
  const { rows } = await client.query<{ snapshot: string; lsn: string; xmax: string }>(
    `SELECT ${snapshotExpr(major)} AS snapshot, ${lsnExpr(major)} AS lsn, ${xmaxExpr(major)} AS xmax`,
  );
  const row = rows[0];
  if (!row) throw new Error('no snapshot row');
  return row;
}

/** 2^32: xids at or past it mean the cluster's xid counter has wrapped at least once. */
export const XID_EPOCH = 4294967296n;

/** Raw 32-bit xmin values can be compared with this snapshot exactly (epoch 0, with margin). */
export function xminFilterUsable(base: BaseSnapshot): boolean {
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
