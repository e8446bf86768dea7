/**
 * Database-level activities, in the order the database orchestrator calls them. Each is a short,
 * idempotent unit of work: repeating one after a crash changes nothing that already happened.
 * Transient faults (connections, restarts) throw and are retried by Durable; permanent ones come
 * back as a failed Result naming the table, statement or server message.
 */
import type { Client } from 'pg';
import { connect, closeQuietly, withClient } from '../pg/connect';
import { quoteIdent } from '../pg/ident';
import { isRetryable } from '../pg/retryable';
import { applyObjects, applyPhase, describeFailures, type PhaseReport } from '../schema';
import { takeInventory } from '../copy/tables';
import { chunkPlanItems, planCopy as planChunks } from '../copy/plan';
import { copyChunkAt } from '../copy/copy-chunk';
import { copySequences } from '../copy/sequences';
import { copyLargeObjects } from '../copy/large-objects';
import { dropBookkeeping, listMarks } from '../copy/bookkeeping';
import { copyProgress } from '../copy/progress';
import { compareDatabases } from '../verify/compare';
import {
  applyBatch as applyCdcBatch,
  compareLsn,
  currentFlushLsn,
  currentInsertLsn,
  dropProgress,
  dropSlotAndPublication,
  ensureSlot,
  normalizeLsn,
  readLag,
  slotNameFor,
  type ApplyBatchOptions,
  type BatchResult,
  type CopySnapshotMap,
  type Plugin,
} from '../cdc';
import { getChunk, listChunks, markChunk, putChunkPlan } from '../store/chunks';
import { getDatabase, updateDatabase, type DatabaseRecord } from '../store/databases';
import { updateMigration } from '../store/migrations';
import type { ApplyOutcome, ChunkOutcome, CopyPlanSummary, DatabaseKey, Failure, MigrationKey, Result } from './contracts';
import { endpointsOf, onDatabase, type MigrationEndpoints } from './endpoints';
import { controlFor } from './control';
import { copyPlanFor, forget, schemaPlanFor, typeCacheFor } from './caches';
import type { Runtime } from './runtime';

const nowIso = () => new Date().toISOString();
const maxLsn = (a: string | undefined, b: string) => normalizeLsn(a === undefined || compareLsn(b, a) > 0 ? b : a);
const fail = (message: string, context?: Record<string, string>): Result<never> => ({ ok: false, failure: { message, ...(context ? { context } : {}) } });
const ref = (k: DatabaseKey) => ({ server: k.server, name: k.name });

/** Slot names include the target server: two targets may run migrations of the same name. */
export function slotOf(k: DatabaseKey): string {
  return slotNameFor(`${k.server}.${k.name}`, k.db);
}

async function withClients<T>(e: MigrationEndpoints, db: string, fn: (source: Client, target: Client) => Promise<T>, timeoutMs: number): Promise<T> {
  const source = await connect(onDatabase(e.source, db), { timeoutMs });
  try {
    const target = await connect(onDatabase(e.target, db), { timeoutMs });
    try {
      return await fn(source, target);
    } finally {
      await closeQuietly(target);
    }
  } finally {
    await closeQuietly(source);
  }
}


/** Permanent errors become a failed Result with context; retryable ones are rethrown for Durable. */
function permanent(err: unknown, context: Record<string, string>): Result<never> {
  if (isRetryable(err)) throw err;
  const e = err as { message?: string; code?: string };
  return fail(`${context.phase ?? 'step'} failed: ${e.message ?? String(err)}`, { ...context, ...(e.code ? { sqlstate: e.code } : {}) });
}

function setDb(rt: Runtime, k: DatabaseKey, mutate: (r: DatabaseRecord) => DatabaseRecord | undefined) {
  return updateDatabase(rt.store, ref(k), k.db, mutate);
}

// 1. Target database ----------------------------------------------------------------------------

export async function prepareTargetDatabase(rt: Runtime, k: DatabaseKey): Promise<Result<null>> {
  const e = await endpointsOf(rt, k);
  const timeoutMs = rt.settings.connectTimeoutMs;
  await setDb(rt, k, (r) => ({ ...r, startedOn: r.startedOn ?? nowIso(), migrationState: 'InProgress', migrationOperation: 'Preparing the target database' }));
  try {
    const locale = await withClient(onDatabase(e.source, k.db), timeoutMs, async (s) => {
      const { rows } = await s.query<{ enc: string; coll: string; ctype: string; owner: string }>(
        `SELECT pg_encoding_to_char(encoding) AS enc, datcollate AS coll, datctype AS ctype, pg_get_userbyid(datdba) AS owner
           FROM pg_database WHERE datname = current_database()`);
      return rows[0];
    });
    if (!locale) return fail(`database ${k.db} is missing on the source`);
    return await withClient(e.target, timeoutMs, async (t) => {
      const exists = await t.query<{ n: number }>('SELECT 1 AS n FROM pg_database WHERE datname = $1', [k.db]);
      if (exists.rows.length > 0) {
        const empty = await withClient(onDatabase(e.target, k.db), timeoutMs, async (c) => {
          const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgferry_meta', 'pgferry_cdc') AND n.nspname NOT LIKE 'pg\\_toast%'`);
          return Number(rows[0]?.n ?? 0) === 0;
        });
        if (empty) return { ok: true, value: null };
        if (!e.record.overwriteDbsInTarget) {
          return fail(`Database ${k.db} already exists on the target and is not empty while overwriteDbsInTarget is False; drop it or set overwriteDbsInTarget to True`, { code: '603101' });
        }
        await t.query(`DROP DATABASE ${quoteIdent(k.db)} WITH (FORCE)`);
      }
      const owner = await t.query<{ ok: boolean }>(`SELECT pg_has_role(current_user, r.oid, 'MEMBER') AS ok FROM pg_roles r WHERE r.rolname = $1`, [locale.owner]);
      const ownerClause = owner.rows[0]?.ok ? ` OWNER ${quoteIdent(locale.owner)}` : '';
      await t.query(`CREATE DATABASE ${quoteIdent(k.db)}${ownerClause} TEMPLATE template0 ENCODING ${quoteLiteralSafe(locale.enc)}
        LC_COLLATE ${quoteLiteralSafe(locale.coll)} LC_CTYPE ${quoteLiteralSafe(locale.ctype)}`);
      return { ok: true, value: null } as Result<null>;
    });
  } catch (err) {
    return permanent(err, { phase: 'prepare target database', database: k.db });
  }
}

/** Encoding and locale names come from the source catalog; they are quoted as literals (no parameters in CREATE DATABASE). */
function quoteLiteralSafe(v: string): string {
  if (/[\0]/.test(v)) throw new Error('NUL in a locale name');
  return `'${v.replace(/'/g, "''")}'`;
}

// 2. Slot ---------------------------------------------------------------------------------------

export async function createSlot(rt: Runtime, k: DatabaseKey): Promise<Result<{ plugin: Plugin; startLsn: string }>> {
  const e = await endpointsOf(rt, k);
  try {
    const current = await getDatabase(rt.store, ref(k), k.db);
    // The plugin validation chose (or, for Migrate without validation, the configured preference,
    // falling back to the other one when the source lacks it).
    const chosen = current?.record.plugin === 'wal2json' || current?.record.plugin === 'pgoutput' ? current.record.plugin : undefined;
    const slot = await withClient(onDatabase(e.source, k.db), rt.settings.connectTimeoutMs, async (c) => {
      if (chosen) return ensureSlot(c, slotOf(k), { plugin: chosen });
      const versionNum = Number((await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v ?? 0);
      return ensureSlot(c, slotOf(k), { plugin: versionNum >= 100000 && rt.decoder === 'pgoutput' ? 'pgoutput' : 'auto' });
    });
    // Nothing of this migration is applied yet, so any replay progress recorded on the target under
    // the slot's name is another run's: a Failed or Canceled migration of the same name keeps it (its
    // replication origin is cluster-wide and outlives the target database), and every batch of this
    // run would fail as diverged from it.
    await withClient(onDatabase(e.target, k.db), rt.settings.connectTimeoutMs, (c) => dropProgress(c, slotOf(k)));
    await setDb(rt, k, (r) => ({ ...r, slotName: slot.slotName, plugin: slot.plugin, startLsn: r.startLsn ?? slot.startLsn, migrationOperation: 'Replication slot created' }));
    return { ok: true, value: { plugin: slot.plugin, startLsn: slot.startLsn } };
  } catch (err) {
    return permanent(err, { phase: 'create replication slot', database: k.db });
  }
}

// 3. Schema -------------------------------------------------------------------------------------

type Phase = 'pre-data' | 'keys' | 'post-data';

function planOf(rt: Runtime, k: DatabaseKey, e: MigrationEndpoints) {
  const timeoutMs = rt.settings.connectTimeoutMs;
  return schemaPlanFor(k, () => connect(onDatabase(e.source, k.db), { timeoutMs }), () => connect(onDatabase(e.target, k.db), { timeoutMs }));
}

function reportFailure(report: PhaseReport, phase: string, k: DatabaseKey): Failure | undefined {
  const problems = describeFailures(report);
  if (problems.length === 0) return undefined;
  const shown = problems.slice(0, 5).join('; ');
  return { message: `${phase} of ${k.db}: ${problems.length} object(s) could not be created: ${shown}${problems.length > 5 ? ' …' : ''}`, context: { phase, database: k.db } };
}

export async function applySchema(rt: Runtime, i: DatabaseKey & { phase: Phase }): Promise<Result<{ created: number; existed: number }>> {
  const e = await endpointsOf(rt, i);
  const operation = { 'pre-data': 'Creating the schema', keys: 'Building primary keys', 'post-data': 'Building indexes, constraints and triggers' }[i.phase];
  await setDb(rt, i, (r) => ({ ...r, migrationOperation: operation }));
  try {
    const plan = await planOf(rt, i, e);
    const report = await applyPhase(plan, i.phase, () => connect(onDatabase(e.target, i.db), { timeoutMs: rt.settings.connectTimeoutMs }), { concurrency: 4 });
    const failure = reportFailure(report, i.phase, i);
    if (failure) {
      // Rows cannot load without pre-data, nor replay without keys; a missing index or trigger is
      // reported on the database and the migration goes on.
      if (i.phase !== 'post-data') return { ok: false, failure };
      await setDb(rt, i, (r) => ({ ...r, message: failure.message }));
    }
    return { ok: true, value: { created: report.counts.created ?? 0, existed: report.counts.existed ?? 0 } };
  } catch (err) {
    return permanent(err, { phase: i.phase, database: i.db });
  }
}

/** A table's keys and load-time indexes, as soon as its last chunk landed. */
export async function buildTableIndexes(rt: Runtime, i: DatabaseKey & { table: string }): Promise<Result<null>> {
  const e = await endpointsOf(rt, i);
  try {
    const plan = await planOf(rt, i, e);
    const t = plan.tables.find((x) => `${x.schema}.${x.name}` === i.table);
    if (!t) return { ok: true, value: null };
    const report = await applyObjects(plan, [...t.keys, ...t.afterLoad], () => connect(onDatabase(e.target, i.db), { timeoutMs: rt.settings.connectTimeoutMs }), { concurrency: 2 });
    const failure = reportFailure(report, `indexes of ${i.table}`, i);
    return failure ? { ok: false, failure } : { ok: true, value: null };
  } catch (err) {
    return permanent(err, { phase: 'indexes', database: i.db, table: i.table });
  }
}

// 4. Copy ---------------------------------------------------------------------------------------

export async function planCopy(rt: Runtime, k: DatabaseKey): Promise<Result<CopyPlanSummary>> {
  const existing = await listChunks(rt.store, ref(k), k.db);
  const summarize = (rows: Array<{ schema: string; table: string }>) => ({ chunks: rows.length, tables: new Set(rows.map((r) => `${r.schema}.${r.table}`)).size });
  if (existing.length > 0) return { ok: true, value: summarize(existing) };
  const e = await endpointsOf(rt, k);
  try {
    const plan = await withClient(onDatabase(e.source, k.db), rt.settings.connectTimeoutMs, async (c) =>
      planChunks(c, await takeInventory(c), { planId: e.record.migrationId.slice(0, 8) }));
    const items = chunkPlanItems(plan);
    await putChunkPlan(rt.store, ref(k), k.db, items);
    await setDb(rt, k, (r) => ({ ...r, fullLoadQueuedTables: plan.tables.length, migrationOperation: `Copying ${plan.tables.length} table(s)` }));
    return { ok: true, value: summarize(items) };
  } catch (err) {
    return permanent(err, { phase: 'plan copy', database: k.db });
  }
}

const lastProgress = new Map<string, number>();

/** Recomputes the full-load counters from the chunk rows, at most every few seconds per database. */
async function refreshCopyProgress(rt: Runtime, k: DatabaseKey, force: boolean): Promise<void> {
  const key = `${k.server}/${k.name}/${k.db}`;
  if (!force && Date.now() - (lastProgress.get(key) ?? 0) < 3000) return;
  lastProgress.set(key, Date.now());
  const p = copyProgress(await listChunks(rt.store, ref(k), k.db));
  await setDb(rt, k, (r) => ({
    ...r,
    fullLoadQueuedTables: p.fullLoadQueuedTables,
    fullLoadLoadingTables: p.fullLoadLoadingTables,
    fullLoadCompletedTables: p.fullLoadCompletedTables,
    fullLoadErroredTables: p.fullLoadErroredTables,
    rowsCopied: p.rowsCopied,
    bytesCopied: p.bytesCopied,
  }));
}

export async function copyChunk(rt: Runtime, i: DatabaseKey & { chunk: number }): Promise<Result<ChunkOutcome>> {
  const e = await endpointsOf(rt, i);
  if (controlFor(e.record, i.db) === 'cancel') return { ok: true, value: { canceled: true } };
  const plan = await copyPlanFor(rt, i);
  const planned = plan[i.chunk];
  if (!planned) return fail(`copy chunk ${i.chunk} is not in the plan of ${i.db} (${plan.length} chunks)`);
  const id = { schema: planned.record.schema, table: planned.record.table, chunkNo: planned.record.chunkNo };
  try {
    // A retried activity (the host died after the chunk was recorded done) goes straight to the
    // table-completion check below: the rows and the done-mark committed together already.
    const current = await getChunk(rt.store, ref(i), i.db, id);
    if (current?.record.state !== 'done') {
      await markChunk(rt.store, ref(i), i.db, id, { state: 'loading' });
      const result = await copyChunkAt(onDatabase(e.source, i.db), onDatabase(e.target, i.db), planned.chunk);
      await markChunk(rt.store, ref(i), i.db, id, { state: 'done', rows: result.rows, bytes: result.bytes, endLsn: result.endLsn });
    }
  } catch (err) {
    if (isRetryable(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    await markChunk(rt.store, ref(i), i.db, id, { state: 'errored', error: message }).catch(() => undefined);
    await refreshCopyProgress(rt, i, true);
    return fail(`copy of ${planned.record.schema}.${planned.record.table} (chunk ${planned.record.chunkNo}) failed: ${message}`,
      { phase: 'copy', database: i.db, table: `${planned.record.schema}.${planned.record.table}` });
  }
  // The table is loaded when all its chunks are done; exactly one chunk reports it: the one that
  // ended last (ties by number), so a retried activity reports the same table again, not another.
  const siblings = plan.filter((p) => p.record.schema === id.schema && p.record.table === id.table);
  const states = await Promise.all(siblings.map((s) => getChunk(rt.store, ref(i), i.db, { schema: s.record.schema, table: s.record.table, chunkNo: s.record.chunkNo })));
  const records = states.map((s) => s?.record);
  const allDone = records.every((r) => r?.state === 'done');
  let tableLoaded: string | undefined;
  if (allDone) {
    const last = [...records].sort((a, b) => ((a?.endedAt ?? '') < (b?.endedAt ?? '') ? 1 : (a?.endedAt ?? '') > (b?.endedAt ?? '') ? -1 : (b?.chunkNo ?? 0) - (a?.chunkNo ?? 0)))[0];
    if (last?.chunkNo === id.chunkNo) tableLoaded = `${id.schema}.${id.table}`;
  }
  await refreshCopyProgress(rt, i, tableLoaded !== undefined);
  return { ok: true, value: tableLoaded ? { tableLoaded } : {} };
}

/** Sequences, large objects, final counters, and the consistency point (highest end-of-chunk LSN). */
export async function finishCopy(rt: Runtime, k: DatabaseKey): Promise<Result<{ consistencyLsn: string | null }>> {
  const e = await endpointsOf(rt, k);
  try {
    const consistencyLsn = await withClients(e, k.db, async (s, t) => {
      await copySequences(s, t);
      await copyLargeObjects(s, t);
      const marks = await listMarks(t);
      let highest: string | null = null;
      for (const m of marks) highest = highest === null || compareLsn(m.endLsn, highest) > 0 ? normalizeLsn(m.endLsn) : highest;
      return highest;
    }, rt.settings.connectTimeoutMs);
    await refreshCopyProgress(rt, k, true);
    await setDb(rt, k, (r) => ({ ...r, ...(consistencyLsn ? { consistencyLsn } : {}), migrationOperation: e.record.migrationMode === 'Online' ? 'Catching up with changes' : 'Copy complete' }));
    return { ok: true, value: { consistencyLsn } };
  } catch (err) {
    return permanent(err, { phase: 'finish copy', database: k.db });
  }
}

// 5. CDC ----------------------------------------------------------------------------------------

/** Longest a streamed batch reads before it commits and reports progress. */
const STREAM_BATCH_MS = 15_000;
/** Sources that refused a replication connection: read them through the SQL functions. */
const streamRefused = new Set<string>();

function refusesReplication(err: unknown): boolean {
  const text = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code ?? '';
  return /replication connection|pg_hba\.conf .*replication|must be superuser or replication role/i.test(text) || code === '28000';
}

/** What each copied table's chunks saw, from the plan (chunk counts) and the target's done-marks (snapshots). */
async function copySnapshots(rt: Runtime, k: DatabaseKey, target: Client): Promise<CopySnapshotMap> {
  const plan = await copyPlanFor(rt, k);
  const marks = new Map((await listMarks(target)).map((m) => [m.chunkId, m]));
  const map: CopySnapshotMap = {};
  for (const p of plan) {
    const key = `${p.record.schema}.${p.record.table}`;
    const mark = marks.get(p.chunk.id);
    if (!mark) continue;
    const entry = map[key] ?? { snapshots: [], endLsn: '0/0', singleChunk: p.chunk.chunkCount === 1, hasKey: true };
    entry.snapshots.push(mark.snapshot);
    if (compareLsn(mark.endLsn, entry.endLsn) > 0) entry.endLsn = normalizeLsn(mark.endLsn);
    map[key] = entry;
  }
  return map;
}

export async function applyBatch(rt: Runtime, i: DatabaseKey & { endLsn: string | null }): Promise<Result<ApplyOutcome>> {
  const e = await endpointsOf(rt, i);
  const control = controlFor(e.record, i.db);
  if (control === 'cancel') return { ok: true, value: { idle: true, pastConsistencyPoint: false, reachedEnd: false, control } };
  const db = (await getDatabase(rt.store, ref(i), i.db))?.record;
  if (!db?.slotName || (db.plugin !== 'wal2json' && db.plugin !== 'pgoutput')) return fail(`database ${i.db} has no replication slot recorded`);
  const slot = db.slotName;
  const plugin = db.plugin;
  try {
    const out = await withClients(e, i.db, async (s, t) => {
      // Past the consistency point nothing is skipped any more, so the copy's snapshots are not needed.
      const consistent = db.appliedLsn !== undefined && db.consistencyLsn !== undefined && compareLsn(db.appliedLsn, db.consistencyLsn) >= 0;
      const copy = consistent ? undefined : await copySnapshots(rt, i, t);
      const flushed = i.endLsn ? await currentFlushLsn(s) : undefined;
      const options: ApplyBatchOptions = {
        slot, plugin, types: await typeCacheFor(i),
        ...(copy ? { copy } : {}),
        ...(db.consistencyLsn ? { consistencyLsn: db.consistencyLsn } : {}),
        ...(i.endLsn ? { uptoLsn: i.endLsn } : {}),
      };
      const sourceKey = `${e.source.host}:${e.source.port}`;
      let batch: BatchResult;
      if (streamRefused.has(sourceKey)) {
        batch = await applyCdcBatch(s, t, options);
      } else {
        try {
          // The streaming protocol reads and decodes while the target writes (measured fastest).
          batch = await applyCdcBatch(s, t, { ...options, maxMs: STREAM_BATCH_MS,
            openReplication: () => connect(onDatabase(e.source, i.db), { timeoutMs: rt.settings.connectTimeoutMs, replication: true }) });
        } catch (err) {
          // A source whose pg_hba has no replication line still serves the SQL slot functions.
          if (!refusesReplication(err)) throw err;
          streamRefused.add(sourceKey);
          batch = await applyCdcBatch(s, t, options);
        }
      }
      const lag = await readLag(s, slot, { plugin, ...(batch.appliedLsn ? { appliedLsn: batch.appliedLsn } : {}) });
      return { batch, lag, flushed };
    }, rt.settings.connectTimeoutMs);
    const { batch, lag } = out;
    const quietAndPast = batch.caughtUp && !lag.pending && (!db.consistencyLsn || compareLsn(lag.currentLsn, db.consistencyLsn) >= 0);
    const pastConsistencyPoint = batch.pastConsistency || quietAndPast;
    const reachedEnd = i.endLsn !== null && batch.caughtUp && out.flushed !== undefined && compareLsn(out.flushed, i.endLsn) >= 0;
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
      ...(quietAndPast ? { appliedLsn: maxLsn(r.appliedLsn, lag.currentLsn) } : batch.appliedLsn ? { appliedLsn: batch.appliedLsn } : {}),
    }));
    return { ok: true, value: { idle: batch.caughtUp, pastConsistencyPoint, reachedEnd, control } };
  } catch (err) {
    return permanent(err, { phase: 'apply changes', database: i.db });
  }
}

export async function beginCutover(rt: Runtime, k: DatabaseKey): Promise<Result<{ endLsn: string }>> {
  const e = await endpointsOf(rt, k);
  await updateMigration(rt.store, k.server, k.name, (m) => (m.state === 'WaitingForUserAction' || m.state === 'InProgress' ? { ...m, state: 'InProgress', subState: 'CompletingMigration' } : undefined));
  await setDb(rt, k, (r) => ({ ...r, migrationState: 'InProgress', migrationOperation: 'Cutting over: applying the last changes' }));
  const endLsn = await withClient(onDatabase(e.source, k.db), rt.settings.connectTimeoutMs, (c) => currentInsertLsn(c));
  return { ok: true, value: { endLsn } };
}

// 6. Completion ---------------------------------------------------------------------------------

/**
 * The database is done: sequences set to the source values, every table compared by row count
 * and checksum, slot and bookkeeping dropped. A mismatch fails the database with the tables named.
 */
export async function completeDatabase(rt: Runtime, k: DatabaseKey & { drained: boolean }): Promise<Result<null>> {
  const e = await endpointsOf(rt, k);
  await setDb(rt, k, (r) => ({ ...r, migrationOperation: 'Verifying row counts and checksums' }));
  try {
    const plan = await copyPlanFor(rt, k);
    const tables = [...new Map(plan.map((p) => [`${p.record.schema}.${p.record.table}`, { schema: p.record.schema, table: p.record.table, columns: p.chunk.columns }])).values()];
    const mismatches = await withClients(e, k.db, async (s, t) => {
      await copySequences(s, t);
      const compared = await compareDatabases(s, t, tables);
      return compared.filter((c) => !c.match);
    }, rt.settings.connectTimeoutMs);
    if (mismatches.length > 0) {
      const list = mismatches.slice(0, 10).map((m) => `${m.schema}.${m.table} (source ${m.rowsSource} rows, target ${m.rowsTarget})`).join(', ');
      return fail(`verification of ${k.db} found ${mismatches.length} table(s) that differ: ${list}`, { phase: 'verify', database: k.db });
    }
    await cleanUp(rt, e, k);
    await setDb(rt, k, (r) => ({ ...r, migrationState: 'Succeeded', endedOn: nowIso(), latency: 0, migrationOperation: `Completed: ${tables.length} table(s) verified` }));
    forget(k);
    return { ok: true, value: null };
  } catch (err) {
    return permanent(err, { phase: 'complete', database: k.db });
  }
}

/** Drops what pgferry made: the slot and publication on the source, the bookkeeping on the target. */
async function cleanUp(rt: Runtime, e: MigrationEndpoints, k: DatabaseKey): Promise<void> {
  const timeoutMs = rt.settings.connectTimeoutMs;
  const slot = slotOf(k);
  // A slot that cannot be dropped (still in use, server unreachable) fails the step, so Durable
  // retries it and, if it persists, the database fails saying so: a Succeeded migration never
  // leaves its slot behind silently. Only a source database that is gone has nothing to drop.
  await withClient(onDatabase(e.source, k.db), timeoutMs, async (c) => {
    await dropSlotAndPublication(c, slot);
  }).catch((err: unknown) => {
    if ((err as { code?: string }).code !== '3D000' && !/does not exist/.test(err instanceof Error ? err.message : '')) throw err;
  });
  await withClient(onDatabase(e.target, k.db), timeoutMs, async (c) => {
    await dropProgress(c, slot);
    await dropBookkeeping(c);
  }).catch((err: unknown) => {
    // The target database may not exist (failed before it was created).
    if (isRetryable(err)) throw err;
  });
}

/**
 * Failed or canceled: drop the slot and publication (the source must not keep WAL for us) and
 * leave the target as it is — including pgferry's bookkeeping there, which other activities still
 * in flight may be writing and which says what was copied.
 */
export async function stopDatabase(rt: Runtime, i: DatabaseKey & { state: 'Failed' | 'Canceled'; error: string | null }): Promise<null> {
  await dropAllSlots(rt, i, [i.db]);
  // The replay position (a replication origin is cluster-wide on the target) goes with the slot;
  // no batch runs any more when a database stops.
  const e = await endpointsOf(rt, i);
  await withClient(onDatabase(e.target, i.db), rt.settings.connectTimeoutMs, (c) => dropProgress(c, slotOf(i))).catch((err: unknown) => {
    if (isRetryable(err)) throw err;
  });
  await setDb(rt, i, (r) => ({
    ...r,
    migrationState: i.state,
    endedOn: nowIso(),
    migrationOperation: i.state === 'Canceled' ? 'Canceled' : 'Failed',
    ...(i.error ? { message: i.error } : {}),
  }));
  forget(i);
  return null;
}

/** Drops the slot and publication of every (or the given) database of a migration (idempotent). */
export async function dropAllSlots(rt: Runtime, k: MigrationKey, only?: string[]): Promise<void> {
  const e = await endpointsOf(rt, k);
  for (const db of only ?? e.record.dbsToMigrate) {
    const slot = slotOf({ ...k, db });
    await withClient(onDatabase(e.source, db), rt.settings.connectTimeoutMs, async (c) => {
      await dropSlotAndPublication(c, slot);
    }).catch((err: unknown) => {
      // A database that does not exist has no slot; anything transient is retried by Durable.
      if (isRetryable(err)) throw err;
    });
  }
}
