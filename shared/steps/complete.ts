/**
 * How a database ends. Succeeded: every table compared by row count and checksum, sequences set
 * to the source's values, large objects made the source's again (logical decoding does not carry
 * them) and compared, then the slot, publication and bookkeeping dropped. Failed or canceled:
 * the slot and publication dropped (the source must not keep WAL for us), the target left as it is.
 */
import { withClient, withPair } from '../pg/connect';
import { isRetryable } from '../pg/retryable';
import { copySequences } from '../copy/sequences';
import { syncLargeObjects } from '../copy/large-objects';
import { sameLargeObjects, verifyLargeObjects, type LargeObjectDifferences } from '../verify/large-objects';
import { tableKeyOf } from '../copy/types';
import { dropBookkeeping } from '../copy/bookkeeping';
import { dropProgress } from '../cdc/progress';
import { compareDatabases } from '../verify/compare';
import { aheadKey, dropGuards, stillVerified } from '../verify/ahead';
import type { DatabaseKey, Result, VerifyProgress } from './contracts';
import { forget, copyPlanFor, type RunKey } from './caches';
import { databaseEndpoints, type MigrationEndpoints } from './endpoints';
import { fail, nowIso, ok, permanent, reportMissingSequences, setDb } from './record';
import { dropSlotAndPublication } from '../cdc/slot';
import { restoreFiringStates } from '../schema/trigger-states';
import { restoreIdentityKinds } from '../schema/identity-kinds';
import { applyDrainedObjects } from './schema';
import { dropAllSlots, slotOf } from './slot';
import { dropReverse } from './reverse-slot';
import type { Runtime } from './runtime';
import { databaseEnded } from './migration';

/** Longest one verifyTables call keeps starting tables (far below functionTimeout). */
export const VERIFY_BUDGET_MS = 60_000;

/** The tables of the copy plan, in plan order: what verification compares. */
export async function planTables(rt: Runtime, k: RunKey) {
  const plan = await copyPlanFor(rt, k);
  return [...new Map(plan.map((p) => [tableKeyOf(p.record), { schema: p.record.schema, table: p.record.table, columns: p.chunk.columns }])).values()];
}

/**
 * Compares row counts and checksums of the tables from `from`, until the time budget is spent;
 * a mismatch fails the database with the tables named. A table verified ahead of cutover and
 * unchanged since on both sides (verify/ahead.ts) counts as compared without being read again.
 */
export async function verifyTables(rt: Runtime, k: DatabaseKey & { from: number; lane?: number; lanes?: number }): Promise<Result<VerifyProgress>> {
  const e = await databaseEndpoints(rt, k);
  try {
    const every = await planTables(rt, { ...k, run: e.record.migrationId });
    // Lane `lane` of `lanes` compares tables lane, lane + lanes, … (orchestrators/shares.ts).
    const lanes = k.lanes ?? 1;
    const tables = lanes > 1 ? every.filter((_, n) => n % lanes === (k.lane ?? 0)) : every;
    const share = await withPair(e.source, e.target, rt.settings.connectTimeoutMs, async (s, t) => {
      const rest = tables.slice(k.from);
      const held = await stillVerified(s, t, rest);
      const operation = lanes > 1
        ? `Verifying row counts and checksums of ${every.length} tables in ${lanes} lanes`
        : `Verifying row counts and checksums (${Math.min(k.from, tables.length)} of ${tables.length} tables done)`;
      await setDb(rt, k, (r) => (r.migrationOperation === operation ? undefined : { ...r, migrationOperation: operation }));
      const toRead = rest.filter((x) => !held.has(aheadKey(x)));
      const compared = await compareDatabases(s, t, toRead, Date.now() + VERIFY_BUDGET_MS);
      // Tables of `rest` done: up to the last one read, or all of them once every table to read was.
      const lastRead = toRead[compared.length - 1];
      const done = compared.length === toRead.length || !lastRead ? rest.length : rest.indexOf(lastRead) + 1;
      return { compared, done, unchanged: rest.slice(0, done).filter((x) => held.has(aheadKey(x))).length };
    });
    const { compared, done, unchanged } = share;
    const bad = compared.filter((c) => !c.match);
    if (bad.length > 0) {
      const list = bad.slice(0, 10).map((m) => `${m.schema}.${m.table} (source ${m.rowsSource} rows, target ${m.rowsTarget})`).join(', ');
      return fail(`verification of ${k.db} found ${bad.length} table(s) that differ: ${list}`, { phase: 'verify', database: k.db });
    }
    const next = k.from + done;
    return ok({ compared: compared.length, next: next < tables.length ? next : null, unchanged });
  } catch (err) {
    return permanent(err, { phase: 'verify', database: k.db });
  }
}

function describeLargeObjects(db: string, d: LargeObjectDifferences): string {
  const part = (what: string, oids: string[]) => (oids.length > 0 ? [`${oids.length} ${what} (${oids.slice(0, 5).join(', ')}${oids.length > 5 ? ' …' : ''})`] : []);
  const parts = [...part('missing on the target', d.missing), ...part('with other contents', d.changed), ...part('only on the target', d.extra)];
  return `verification of ${db} found large objects that differ: ${parts.join('; ')}`;
}

/**
 * The database is done (every table verified): sequences set to the source values, large objects
 * synchronised and compared, then pgferry's objects dropped.
 */
export async function completeDatabase(rt: Runtime, k: DatabaseKey): Promise<Result<null>> {
  const e = await databaseEndpoints(rt, k);
  try {
    const tables = await planTables(rt, { ...k, run: e.record.migrationId });
    // Replay has drained: foreign keys held until now are created, triggers and rules, held
    // disabled since their creation, fire from now on, and identity ALWAYS columns are again.
    await applyDrainedObjects(rt, k, e);
    await withPair(e.source, e.target, rt.settings.connectTimeoutMs, async (s, t) => {
      await restoreFiringStates(s, t);
      await restoreIdentityKinds(s, t);
    });
    const { sequences, largeObjects, ahead } = await withPair(e.source, e.target, rt.settings.connectTimeoutMs, async (s, t) => {
      const sequences = await copySequences(s, t);
      await syncLargeObjects(s, t);
      // Tables verified ahead of cutover and unchanged since: the ones cutover did not read again.
      const ahead = (await stillVerified(s, t, tables)).size;
      return { sequences, largeObjects: await verifyLargeObjects(s, t), ahead };
    });
    await reportMissingSequences(rt, k, sequences.missing);
    if (!sameLargeObjects(largeObjects)) return fail(describeLargeObjects(k.db, largeObjects), { phase: 'verify', database: k.db });
    await cleanUp(rt, e, k);
    await setDb(rt, k, (r) => ({ ...r, migrationState: 'Succeeded', endedOn: nowIso(), latency: 0, migrationOperation: `Completed: ${tables.length} table(s) verified${ahead > 0 ? ` (${ahead} ahead of cutover, unchanged since)` : ''}` }));
    await databaseEnded(rt, k);
    forget(k);
    return ok(null);
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
  await withClient(e.source, timeoutMs, (c) => dropSlotAndPublication(c, slot)).catch((err: unknown) => {
    if ((err as { code?: string }).code !== '3D000' && !/does not exist/.test(err instanceof Error ? err.message : '')) throw err;
  });
  await withClient(e.target, timeoutMs, async (c) => {
    await dropProgress(c, slot);
    await dropBookkeeping(c);
  }).catch((err: unknown) => {
    // The target database may not exist (failed before it was created).
    if (isRetryable(err)) throw err;
  });
}

/**
 * Failed or canceled. pgferry's bookkeeping stays on the target: other activities still in flight
 * may be writing it, and it says what was copied.
 */
export async function stopDatabase(rt: Runtime, i: DatabaseKey & { state: 'Failed' | 'Canceled'; error: string | null }): Promise<null> {
  await dropAllSlots(rt, i, [i.db]);
  // A database that fails after its way back was made (fallbackAfterCutover) keeps none of it.
  await dropReverse(rt, i, `the database ended ${i.state}`, [i.db]);
  // The replay position (a replication origin is cluster-wide on the target) goes with the slot;
  // no batch runs any more when a database stops.
  const e = await databaseEndpoints(rt, i);
  // The write guards of verification ahead come off the user's tables: nothing is verified any more.
  await withClient(e.target, rt.settings.connectTimeoutMs, async (c) => {
    await dropProgress(c, slotOf(i));
    await dropGuards(c);
  }).catch((err: unknown) => {
    if (isRetryable(err)) throw err;
  });
  await setDb(rt, i, (r) => ({
    ...r,
    migrationState: i.state,
    endedOn: nowIso(),
    migrationOperation: i.state === 'Canceled' ? 'Canceled' : 'Failed',
    ...(i.error ? { message: i.error } : {}),
  }));
  await databaseEnded(rt, i);
  forget(i);
  return null;
}
