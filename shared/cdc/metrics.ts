/**
 * CDC figures for the ARM dbDetails: per-batch counters summed by the caller, and lag read from
 * the source slot.
 *  - latency: seconds between now and the source commit time of the oldest change not yet
 *    applied, on the source's clock (0 when nothing is pending);
 *  - retained WAL: pg_current_wal_lsn() − restart_lsn, what the slot makes the source keep;
 *  - pending WAL: pg_current_wal_lsn() − confirmed_flush_lsn. WAL of other databases or
 *    checkpoints also counts here, so "pending" is decided by peeking for a real commit.
 */
import type { ClientBase } from 'pg';
import type { BatchResult } from './apply/options';
import { isoTimestamp } from './decode/wal2json';
import { pgTimestampToIso } from './decode/pgoutput-message';
import { compareLsn, normalizeLsn } from './lsn';
import { pluginOptions } from './read/read-sql';
import { whileSlotBusy } from './slot-position';
import type { Plugin } from './slot';

export interface CdcTotals {
  inserts: number;
  updates: number;
  deletes: number;
  truncates: number;
  transactions: number;
  /** Changes decoded from the slot (ARM incomingChanges). */
  incomingChanges: number;
  /** Changes written to the target (ARM appliedChanges). */
  appliedChanges: number;
  lastCommitLsn?: string;
  lastCommitTime?: string;
}

export function emptyTotals(): CdcTotals {
  return { inserts: 0, updates: 0, deletes: 0, truncates: 0, transactions: 0, incomingChanges: 0, appliedChanges: 0 };
}

/** Adds one batch to running totals (a re-read of already applied transactions is not incoming again). */
export function addBatch(totals: CdcTotals, b: BatchResult): CdcTotals {
  const out: CdcTotals = {
    inserts: totals.inserts + b.inserts,
    updates: totals.updates + b.updates,
    deletes: totals.deletes + b.deletes,
    truncates: totals.truncates + b.truncates,
    transactions: totals.transactions + b.transactions,
    incomingChanges: totals.incomingChanges + b.changesApplied + b.skippedChanges,
    appliedChanges: totals.appliedChanges + b.changesApplied,
  };
  const lsn = b.lastCommitLsn ?? totals.lastCommitLsn;
  const time = b.lastCommitTime ?? totals.lastCommitTime;
  if (lsn !== undefined) out.lastCommitLsn = lsn;
  if (time !== undefined) out.lastCommitTime = time;
  return out;
}

export interface LagReport {
  /** Seconds since the oldest unapplied source commit; 0 when none is pending. */
  latencySeconds: number;
  /** A committed source transaction is waiting to be applied. */
  pending: boolean;
  oldestPendingCommitLsn?: string;
  oldestPendingCommitTime?: string;
  currentLsn: string;
  confirmedFlushLsn: string;
  restartLsn: string;
  retainedWalBytes: number;
  pendingWalBytes: number;
}

export interface LagOptions {
  plugin: Plugin;
  publication?: string;
  /** The target's applied position, when the caller knows it (else the slot's confirmed LSN). */
  appliedLsn?: string;
}

/** Reads the lag of one slot; the client is connected to the slot's database. */
export async function readLag(source: ClientBase, slot: string, opts: LagOptions): Promise<LagReport> {
  const { rows } = await source.query<{ cur: string; confirmed: string | null; restart: string | null; retained: string; pending: string; streaming_lag: string | null; active: boolean }>(
    `SELECT pg_catalog.pg_current_wal_lsn()::text AS cur, s.confirmed_flush_lsn::text AS confirmed, s.restart_lsn::text AS restart,
            pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.restart_lsn)::int8::text AS retained,
            pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.confirmed_flush_lsn)::int8::text AS pending,
            s.active,
            (SELECT extract(epoch FROM r.flush_lag)::text FROM pg_catalog.pg_stat_replication r WHERE r.pid = s.active_pid) AS streaming_lag
       FROM pg_catalog.pg_replication_slots s WHERE s.slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row?.confirmed || !row.restart) throw new Error(`replication slot "${slot}" does not exist`);
  const report: LagReport = {
    latencySeconds: 0,
    pending: false,
    currentLsn: normalizeLsn(row.cur),
    confirmedFlushLsn: normalizeLsn(row.confirmed),
    restartLsn: normalizeLsn(row.restart),
    retainedWalBytes: Number(row.retained),
    pendingWalBytes: Math.max(0, Number(row.pending)),
  };
  if (report.pendingWalBytes === 0) return report;
  if (row.active) {
    // A stream holds the slot (a peek would wait for it): the walsender measures the lag itself,
    // from the durable positions pgferry reports (flush_lag; NULL once caught up).
    report.pending = true;
    report.latencySeconds = row.streaming_lag === null ? 0 : Number(row.streaming_lag);
    return report;
  }
  const after = opts.appliedLsn && compareLsn(opts.appliedLsn, report.confirmedFlushLsn) > 0 ? opts.appliedLsn : report.confirmedFlushLsn;
  const oldest = await oldestPendingCommit(source, slot, opts, after);
  if (!oldest) return report;
  report.pending = true;
  report.oldestPendingCommitLsn = oldest.lsn;
  report.oldestPendingCommitTime = oldest.time;
  report.latencySeconds = Math.max(0, oldest.lagSeconds);
  return report;
}

/**
 * The first commit after `after`, peeked with a growing upto_nchanges (the first transaction may
 * be one already applied when the slot lags the target's progress). Only commit rows travel.
 */
async function oldestPendingCommit(source: ClientBase, slot: string, opts: LagOptions, after: string): Promise<{ lsn: string; time: string; lagSeconds: number } | undefined> {
  const binary = opts.plugin === 'pgoutput';
  const fn = binary ? 'pg_logical_slot_peek_binary_changes' : 'pg_logical_slot_peek_changes';
  const isCommit = binary ? `get_byte(data, 0) = 67` : `data LIKE '{"action":"C"%'`;
  for (const n of [16, 4096, 1_000_000]) {
    const { rows } = await whileSlotBusy(() => source.query<{ lsn: string; data: string | Buffer; now: string }>(
      `SELECT p.lsn::text AS lsn, p.data, extract(epoch FROM now())::text AS now
         FROM (SELECT * FROM pg_catalog.${fn}($1, NULL, $2::int4, VARIADIC $3::text[])) p
        WHERE ${isCommit} AND p.lsn > $4::pg_lsn
        ORDER BY p.lsn LIMIT 1`,
      [slot, n, pluginOptions(opts.plugin, opts.publication ?? slot), after],
    ));
    const r = rows[0];
    if (r) {
      const time = binary ? pgTimestampToIso((r.data as Buffer).readBigInt64BE(18)) : isoTimestamp(String(JSON.parse(String(r.data)).timestamp));
      return { lsn: normalizeLsn(r.lsn), time, lagSeconds: Number(r.now) - Date.parse(time) / 1000 };
    }
    const seen = await whileSlotBusy(() => source.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_catalog.${fn}($1, NULL, $2::int4, VARIADIC $3::text[])`, [slot, n, pluginOptions(opts.plugin, opts.publication ?? slot)]));
    if (Number(seen.rows[0]?.n ?? 0) < n) return undefined;
  }
  return undefined;
}
