/**
 * The CDC step: one bounded batch of changes from the slot applied to the target (cdc/apply), with
 * the rules the copy needs until replay passes the consistency point, then the counters and lag on
 * the database's row. The loop around it is the CDC orchestrator.
 */
import type { Client } from 'pg';
import { connect, withPair } from '../pg/connect';
import { applyBatch as applyChanges, compareLsn, currentFlushLsn, drainedTo, flushPast, normalizeLsn, readLag, type ApplyBatchOptions, type BatchResult, type CopySnapshotMap } from '../cdc';
import { listMarks } from '../copy/bookkeeping';
import { copySnapshotMap } from '../copy/replay-map';
import { getDatabase } from '../store/databases';
import type { ApplyOutcome, DatabaseKey, Result } from './contracts';
import { controlFor } from './control';
import { copyPlanFor, typeCacheFor, type RunKey } from './caches';
import { databaseEndpoints, type MigrationEndpoints } from './endpoints';
import { fail, ok, permanent, setDb } from './record';
import type { Runtime } from './runtime';

/** Longest a streamed batch reads before it commits and reports progress. */
const STREAM_BATCH_MS = 15_000;

const maxLsn = (a: string | undefined, b: string) => normalizeLsn(a === undefined || compareLsn(b, a) > 0 ? b : a);

/** The server refuses replication connections to this login (pg_hba): the SQL slot functions still serve. */
export function refusesReplication(err: unknown): boolean {
  const text = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code ?? '';
  return /replication connection|pg_hba\.conf .*replication|must be superuser or replication role/i.test(text) || code === '28000';
}

/** What each copied table's chunks saw, from the plan (chunk counts) and the target's done-marks (snapshots). */
async function copySnapshots(rt: Runtime, k: RunKey, target: Client): Promise<CopySnapshotMap> {
  const plan = await copyPlanFor(rt, k);
  return copySnapshotMap(plan.map((p) => p.chunk), await listMarks(target));
}

/**
 * Reads through the streaming protocol (it reads and decodes while the target writes: measured
 * fastest); a source whose pg_hba has no replication line still serves the SQL slot functions,
 * and the database's row remembers that, so later batches go straight to SQL.
 */
async function readAndApply(rt: Runtime, k: DatabaseKey, e: MigrationEndpoints, method: string | undefined, s: Client, t: Client, options: ApplyBatchOptions): Promise<BatchResult> {
  if (method === 'sql') return applyChanges(s, t, options);
  try {
    return await applyChanges(s, t, { ...options, maxMs: STREAM_BATCH_MS, openReplication: () => connect(e.source, { timeoutMs: rt.settings.connectTimeoutMs, replication: true }) });
  } catch (err) {
    if (!refusesReplication(err)) throw err;
    await setDb(rt, k, (r) => ({ ...r, readMethod: 'sql' }));
    return applyChanges(s, t, options);
  }
}

export async function applyBatch(rt: Runtime, i: DatabaseKey & { endLsn: string | null }): Promise<Result<ApplyOutcome>> {
  const e = await databaseEndpoints(rt, i);
  const control = controlFor(e.record, i.db);
  if (control === 'cancel') return ok({ idle: true, pastConsistencyPoint: false, reachedEnd: false, control });
  const db = (await getDatabase(rt.store, i, i.db))?.record;
  if (!db?.slotName || (db.plugin !== 'wal2json' && db.plugin !== 'pgoutput')) return fail(`database ${i.db} has no replication slot recorded`);
  const slot = db.slotName;
  const plugin = db.plugin;
  try {
    const { batch, lag, flushed } = await withPair(e.source, e.target, rt.settings.connectTimeoutMs, async (s, t) => {
      // Once every commit up to the consistency point is applied, no transaction a chunk saw is
      // still to come (their commits precede the chunks' insert positions): the copy's snapshots
      // are not needed any more. appliedLsn only ever claims commits that were decodable.
      const consistent = db.appliedLsn !== undefined && db.consistencyLsn !== undefined && compareLsn(db.appliedLsn, db.consistencyLsn) >= 0;
      const copy = consistent ? undefined : await copySnapshots(rt, { ...i, run: e.record.migrationId }, t);
      // Read before the batch: a batch that catches up has decoded every commit flushed by then.
      const flushed = await currentFlushLsn(s);
      const options: ApplyBatchOptions = {
        slot, plugin, types: await typeCacheFor({ ...i, run: e.record.migrationId }),
        memoryBytes: rt.settings.streamMemoryMb * 1024 * 1024,
        ...(copy ? { copy } : {}),
        ...(db.consistencyLsn ? { consistencyLsn: db.consistencyLsn } : {}),
        ...(i.endLsn ? { uptoLsn: i.endLsn } : {}),
      };
      const batch = await readAndApply(rt, i, e, db.readMethod, s, t, options);
      // Draining to the end: a caught-up batch ends it once the WAL before the end is flushed,
      // which an idle source may need to be made to do.
      if (i.endLsn && batch.caughtUp && compareLsn(flushed, i.endLsn) < 0) await flushPast(s, i.endLsn);
      const lag = await readLag(s, slot, { plugin, ...(batch.appliedLsn ? { appliedLsn: batch.appliedLsn } : {}) });
      return { batch, lag, flushed };
    });
    // A twin delivery of this activity is applying right now: nothing to count; look again soon.
    if (batch.busy) return ok({ idle: true, busy: true, pastConsistencyPoint: false, reachedEnd: false, control });
    // Not the current write position: an asynchronous commit written but not yet flushed is not
    // decodable, so a batch can catch up without it; the flush position read before the batch is
    // what a caught-up batch has certainly seen.
    const quietAndPast = batch.caughtUp && !lag.pending && (!db.consistencyLsn || compareLsn(flushed, db.consistencyLsn) >= 0);
    const pastConsistencyPoint = batch.pastConsistency || quietAndPast;
    const reachedEnd = i.endLsn !== null && drainedTo(i.endLsn, flushed, batch.caughtUp);
    await setDb(rt, i, (r) => ({
      ...r,
      cdcInsertCounter: r.cdcInsertCounter + batch.inserts,
      cdcUpdateCounter: r.cdcUpdateCounter + batch.updates,
      cdcDeleteCounter: r.cdcDeleteCounter + batch.deletes,
      incomingChanges: r.incomingChanges + batch.changesRead,
      appliedChanges: r.appliedChanges + batch.changesApplied,
      latency: Math.round(lag.latencySeconds),
      retainedWalBytes: Math.max(0, Math.round(lag.retainedWalBytes)),
      // Nothing pending at the current position means the target reflects the source there.
      ...(quietAndPast ? { appliedLsn: maxLsn(r.appliedLsn, flushed) } : batch.appliedLsn ? { appliedLsn: batch.appliedLsn } : {}),
    }));
    return ok({ idle: batch.caughtUp, pastConsistencyPoint, reachedEnd, control });
  } catch (err) {
    return permanent(err, { phase: 'apply changes', database: i.db });
  }
}
