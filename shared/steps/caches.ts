/**
 * Per-process caches of what is expensive to read and does not change during a migration: the
 * extracted schema plan, the stored copy plan, the type names of a source database. They only
 * save work: a cold process (a restarted host) rebuilds them from the source and Table Storage.
 */
import type { Client } from 'pg';
import { chunkOfPlanItem, copyUnits, storedPlanOrder } from '../copy/plan';
import type { CopyChunk } from '../copy/types';
import { trySetReplicaRole } from '../copy/session';
import { TypeCache } from '../cdc';
import { extractSchema, readTargetFacts, type SchemaPlan } from '../schema';
import { listChunks, listChunksChangedSince, type ChunkRecord } from '../store/chunks';
import { tableKeyOf } from '../copy/types';
import type { DatabaseKey } from './contracts';
import type { Runtime } from './runtime';

const TTL_MS = 6 * 60 * 60 * 1000;

class Keyed<T> {
  private readonly map = new Map<string, { at: number; value: Promise<T> }>();
  get(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.map.get(key);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
    const value = load();
    this.map.set(key, { at: Date.now(), value });
    value.catch(() => this.map.delete(key));
    return value;
  }
  drop(prefix: string): void {
    for (const k of this.map.keys()) if (k.startsWith(prefix)) this.map.delete(k);
  }
}

const schemaPlans = new Keyed<SchemaPlan>();
const copyPlans = new Keyed<PlannedChunk[]>();
const typeCaches = new Keyed<TypeCache>();

/** A database of one run of a migration: a migration created again under its name is another run. */
export type RunKey = DatabaseKey & { run: string };

const keyOf = (k: DatabaseKey) => `${k.server}\u0000${k.name}\u0000${k.db}\u0000`;
const runKeyOf = (k: RunKey) => `${keyOf(k)}${k.run}`;

export function schemaPlanFor(k: RunKey, source: () => Promise<Client>, target: () => Promise<Client>): Promise<SchemaPlan> {
  return schemaPlans.get(runKeyOf(k), async () => {
    const [s, t] = await Promise.all([source(), target()]);
    try {
      const facts = await readTargetFacts(t);
      // Replay runs as this login: without replica mode, FK actions would fire on it (schema/render/builder.ts).
      const replicaRole = await trySetReplicaRole(t);
      return await extractSchema(s, { ...facts, holdTriggers: true, holdIdentity: true, holdForeignKeys: !replicaRole });
    } finally {
      await Promise.all([s.end().catch(() => undefined), t.end().catch(() => undefined)]);
    }
  });
}

export interface PlannedChunk {
  record: ChunkRecord;
  chunk: CopyChunk;
}

/**
 * The stored copy plan in copy order: tables largest first (by the planner's estimates), chunks in
 * order within a table — the same order in every process, so chunk indexes mean the same thing.
 */
export function copyPlanFor(rt: Runtime, k: RunKey): Promise<PlannedChunk[]> {
  return copyPlans.get(runKeyOf(k), async () => {
    const rows = await listChunks(rt.store, { server: k.server, name: k.name }, k.db);
    return storedPlanOrder(rows).map((record) => ({ record, chunk: chunkOfPlanItem(record) }));
  });
}

/** The copy units of a stored plan (lists of indexes into it): the same in every process. */
export function unitsOf(plan: readonly PlannedChunk[]): number[][] {
  return copyUnits(plan.map((p) => p.chunk));
}

/**
 * How much earlier than a read's start its successor asks for changes: a write whose Timestamp the
 * service set just before that read but which the read did not see yet, and clock differences
 * between this process and the storage service, fall inside it.
 */
const CHANGE_MARGIN_MS = 15_000;

const chunkViews = new Map<string, { at: number; rows: Map<string, ChunkRecord>; reading?: Promise<ChunkRows> }>();

/** Chunk rows as read by a read that started at `readAt` (epoch ms): they are at least that recent. */
export interface ChunkRows {
  rows: ChunkRecord[];
  readAt: number;
}

/**
 * Every chunk row of a run, as for a full read, but after the first read of this process only the
 * rows written since (minus a margin) are fetched: counting progress at 10,000 tables would
 * otherwise read 10,000 rows every second or two.
 */
export function currentChunkRows(rt: Runtime, k: RunKey): Promise<ChunkRows> {
  const key = runKeyOf(k);
  const view = chunkViews.get(key);
  if (view?.reading) return view.reading;
  const ref = { server: k.server, name: k.name };
  const started = Date.now();
  const read = (async () => {
    const changed = view ? await listChunksChangedSince(rt.store, ref, k.db, new Date(view.at - CHANGE_MARGIN_MS)) : await listChunks(rt.store, ref, k.db);
    const rows = new Map(view?.rows ?? []);
    for (const r of changed) rows.set(`${tableKeyOf(r)}\u0000${r.chunkNo}`, r);
    return rows;
  })();
  const reading = read.then((rows) => ({ rows: [...rows.values()], readAt: started }));
  // Callers meanwhile share this read.
  chunkViews.set(key, { at: view?.at ?? started, rows: view?.rows ?? new Map(), reading });
  read.then(
    // An empty read (no complete plan yet) is not kept: the plan may appear with older Timestamps.
    (rows) => (rows.size > 0 ? chunkViews.set(key, { at: started, rows }) : chunkViews.delete(key)),
    () => (view ? chunkViews.set(key, { at: view.at, rows: view.rows }) : chunkViews.delete(key)),
  );
  return reading;
}

export function typeCacheFor(k: RunKey): Promise<TypeCache> {
  return typeCaches.get(runKeyOf(k), async () => new TypeCache());
}

/** Forget everything about a migration (its databases finished). */
export function forget(k: DatabaseKey): void {
  const prefix = keyOf(k);
  schemaPlans.drop(prefix);
  copyPlans.drop(prefix);
  typeCaches.drop(prefix);
  for (const key of chunkViews.keys()) if (key.startsWith(prefix)) chunkViews.delete(key);
}
