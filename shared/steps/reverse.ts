/**
 * The reverse stream of a fallback window, batch by batch: the target's changes since cutover
 * applied to the source by the same engine as the forward apply, with the roles swapped — read
 * from the reverse slot on the target, written to the source in before-image mode (every change
 * checked against the source row it meets; cdc/apply/guarded.ts), the replay position recorded on
 * the SOURCE in the same transaction (a replication origin, or pgferry_cdc.applied_lsn), and the
 * slot advanced only once the source holds it: exactly once, as forward. The slot's retained WAL
 * is read before every batch and bounded (PGFERRY_FALLBACK_MAX_WAL_MB).
 */
import type { Client } from 'pg';
import { connect, withClient, withPair } from '../pg/connect';
import { isRetryable } from '../pg/retryable';
import { advanceQuietSlot, applyBatch as applyChanges, compareLsn, currentFlushLsn, drainedTo, flushPast, readLag, type ApplyBatchOptions, type ApplyConflict, type BatchResult } from '../cdc';
import { trySetReplicaRole } from '../copy/session';
import { holdFiringStates, readFiringStates } from '../schema/trigger-states';
import { REVERSE_ENDED, reverseControl, withConflicts, type ReverseConflict, type ReverseRecord } from '../model/fallback';
import { getDatabase } from '../store/databases';
import { describeRelation } from '../cdc/errors';
import type { DatabaseKey, Result, ReverseOutcome } from './contracts';
import { typeCacheFor } from './caches';
import { refusesReplication } from './cdc';
import { databaseEndpoints, type MigrationEndpoints } from './endpoints';
import { fail, nowIso, ok, setDb } from './record';
import type { Runtime } from './runtime';

/** Longest a streamed reverse batch reads before it commits and reports progress. */
const STREAM_BATCH_MS = 15_000;

/** The database's reverse record, or undefined. */
export async function reverseOf(rt: Runtime, k: DatabaseKey): Promise<ReverseRecord | undefined> {
  return (await getDatabase(rt.store, k, k.db))?.record.reverse;
}

/** Writes the database's reverse record (a no-op when it has none). */
export function setReverse(rt: Runtime, k: DatabaseKey, mutate: (r: ReverseRecord) => ReverseRecord, operation?: string) {
  return setDb(rt, k, (row) => (row.reverse ? { ...row, reverse: mutate(row.reverse), ...(operation ? { migrationOperation: operation } : {}) } : undefined));
}

/**
 * First step of a reverse stream: the source is made ready to be written. Triggers and rules that
 * would fire in the apply session's mode are held (disabled; flagged first, so a retry never forgets
 * to give them back), as the forward apply holds them on the target.
 */
export async function openReverse(rt: Runtime, k: DatabaseKey): Promise<Result<null>> {
  const e = await databaseEndpoints(rt, k);
  const r = await reverseOf(rt, k);
  if (!r) return fail(`database ${k.db} has no reverse slot recorded`);
  if (r.state !== 'Starting') return ok(null);
  await withClient(e.source, rt.settings.connectTimeoutMs, async (s) => {
    const replica = await trySetReplicaRole(s);
    const fires = replica ? ['R', 'A'] : ['O', 'A'];
    if ((await readFiringStates(s)).some((f) => fires.includes(f.state))) await setReverse(rt, k, (x) => ({ ...x, heldTriggers: true }));
    await holdFiringStates(s, replica);
  });
  await setReverse(rt, k, (x) => ({ ...x, state: 'Replicating' }), 'Replicating the target\'s changes to the source (fallback window)');
  return ok(null);
}

interface SlotHealth {
  retainedBytes: number;
  /** The server invalidated the slot (max_slot_wal_keep_size). */
  lost: boolean;
}

/** The reverse slot's retained WAL on the target; undefined when the slot is gone. */
async function slotHealth(target: Client, slot: string): Promise<SlotHealth | undefined> {
  const { rows } = await target.query<{ retained: string | null; status: string | null }>(
    `SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.restart_lsn)::int8::text AS retained,
            pg_catalog.to_jsonb(s) ->> 'wal_status' AS status
       FROM pg_catalog.pg_replication_slots s WHERE s.slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { retainedBytes: Number(row.retained ?? 0), lost: row.status === 'lost' || row.retained === null };
}

const MB = 1024 * 1024;

/** Why the way back must close now, or undefined while it may stay. */
function mustStop(rt: Runtime, r: ReverseRecord, health: SlotHealth | undefined): string | undefined {
  const bound = rt.settings.fallbackMaxWalMb;
  if (!health) return `the reverse slot ${r.slotName} no longer exists on the target, so the way back is closed (the target stays the primary)`;
  if (health.lost) return `the target invalidated the reverse slot ${r.slotName} (max_slot_wal_keep_size), so the way back is closed (the target stays the primary)`;
  if (health.retainedBytes <= bound * MB) return undefined;
  return `the reverse slot held back ${Math.round(health.retainedBytes / MB)} MB of WAL on the target, more than PGFERRY_FALLBACK_MAX_WAL_MB (${bound} MB): ` +
    'it was dropped so the target\'s disk cannot fill, and fall back is no longer possible (the target stays the primary)';
}

/** Streams from the target (the refusal of a replication connection is remembered: SQL then). */
async function readAndApply(rt: Runtime, k: DatabaseKey, e: MigrationEndpoints, r: ReverseRecord, t: Client, s: Client, options: ApplyBatchOptions): Promise<BatchResult> {
  if (r.readMethod === 'sql') return applyChanges(t, s, options);
  try {
    return await applyChanges(t, s, { ...options, maxMs: STREAM_BATCH_MS, openReplication: () => connect(e.target, { timeoutMs: rt.settings.connectTimeoutMs, replication: true }) });
  } catch (err) {
    if (!refusesReplication(err)) throw err;
    await setReverse(rt, k, (x) => ({ ...x, readMethod: 'sql' }));
    return applyChanges(t, s, options);
  }
}

function reported(c: ApplyConflict, at: string): ReverseConflict {
  return { at, table: describeRelation(c.table), operation: c.kind, key: c.key, reason: c.reason, commitLsn: c.commitLsn };
}

/** One batch of the reverse stream; what the user asks is read from the migration row. */
export async function applyReverse(rt: Runtime, i: DatabaseKey & { endLsn: string | null }): Promise<Result<ReverseOutcome>> {
  const e = await databaseEndpoints(rt, i);
  const r = await reverseOf(rt, i);
  if (!r) return fail(`database ${i.db} has no reverse slot recorded`);
  const control = reverseControl(e.record.fallback, r);
  const still: ReverseOutcome = { idle: true, reachedEnd: false, control };
  if (control === 'finalize' || REVERSE_ENDED.has(r.state)) return ok(still);
  const timeoutMs = rt.settings.connectTimeoutMs;
  const stop = mustStop(rt, r, await withClient(e.target, timeoutMs, (t) => slotHealth(t, r.slotName)));
  if (stop) return ok({ ...still, stopped: stop });
  try {
    const { batch, lag, flushed, quiet } = await withPair(e.target, e.source, timeoutMs, async (t, s) => {
      // Read before the batch: a batch that catches up has decoded every commit flushed by then.
      const flushed = await currentFlushLsn(t);
      const options: ApplyBatchOptions = {
        slot: r.slotName, plugin: r.plugin, beforeImage: true,
        // Type names of the target's OIDs: a cache of their own, apart from the forward one's.
        types: await typeCacheFor({ ...i, run: `${e.record.migrationId}:reverse` }),
        memoryBytes: rt.settings.streamMemoryMb * MB,
        ...(i.endLsn ? { uptoLsn: i.endLsn } : {}),
      };
      const batch = await readAndApply(rt, i, e, r, t, s, options);
      // Falling back: a caught-up batch ends the drain once the target's WAL before the end is
      // flushed, which an idle target (the application stopped writing) may need to be made to do.
      if (i.endLsn && batch.caughtUp && compareLsn(flushed, i.endLsn) < 0) await flushPast(t, i.endLsn);
      const lag = await readLag(t, r.slotName, { plugin: r.plugin, ...(batch.appliedLsn ? { appliedLsn: batch.appliedLsn } : {}) });
      // Nothing pending: the slot moves to the flush position, so a quiet target database does not
      // hold back the WAL its cluster writes for others (and trip the WAL bound for nothing).
      const quiet = !batch.busy && batch.caughtUp && !lag.pending && (await advanceQuietSlot(t, s, r.slotName, flushed, nowIso()));
      return { batch, lag, flushed, quiet };
    });
    if (batch.busy) return ok(still);
    const at = nowIso();
    await setReverse(rt, i, (x) => {
      const { blocked: _cleared, ...rest } = x;
      return {
        ...rest,
        inserts: x.inserts + batch.inserts,
        updates: x.updates + batch.updates,
        deletes: x.deletes + batch.deletes,
        appliedChanges: x.appliedChanges + batch.changesApplied,
        latency: Math.round(lag.latencySeconds),
        retainedWalBytes: Math.max(0, Math.round(lag.retainedWalBytes)),
        ...(quiet ? { appliedLsn: flushed } : batch.appliedLsn ? { appliedLsn: batch.appliedLsn } : {}),
        ...withConflicts(x, batch.conflicts.map((c) => reported(c, at))),
      };
    });
    const reachedEnd = i.endLsn !== null && drainedTo(i.endLsn, flushed, batch.caughtUp);
    return ok({ idle: batch.caughtUp, reachedEnd, control });
  } catch (err) {
    if (isRetryable(err)) throw err;
    const blocked = `The target's changes cannot be applied to the source: ${err instanceof Error ? err.message : String(err)}. ` +
      'The reverse stream retries every few seconds: fix the cause on the source, or finalize to keep the target';
    await setReverse(rt, i, (x) => ({ ...x, blocked }));
    return ok({ ...still, blocked });
  }
}

/** What the orchestration knows of a failed step, on the row (the stream itself goes on). */
export async function noteReverse(rt: Runtime, k: DatabaseKey & { message: string }): Promise<null> {
  await setReverse(rt, k, (x) => ({ ...x, blocked: k.message }));
  return null;
}
