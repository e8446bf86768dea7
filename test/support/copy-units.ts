/**
 * The copy as the product runs it, without the host, for the engine-level tests: the production
 * plan (planTables → chunkPlanItems, the rows the copy stores in Table Storage, read back in
 * storedPlanOrder through chunkOfPlanItem) cut into the production copy units (copyUnits), each
 * unit copied by the function the copyChunk activity calls (shared/steps/copy.ts): copyGroupAt
 * for a group of small whole tables, copyChunkAt for a chunk of a table. Lanes take units lane,
 * lane + lanes, … one after another, as the copy-lane orchestrations do. No retries: a failure rejects (the product's
 * retries are Durable's, tested through the host).
 */
import { chunkOfPlanItem, chunkPlanItems, copyChunkAt, copyGroupAt, copyUnits, groupable, maxLsn, storedPlanOrder, type ChunkResult, type CopyChunk, type CopyPlan } from '../../shared/copy';
import type { ServerEndpoint } from '../../shared/pg/endpoint';

/** The plan's copy units, each the list of its chunks, in the order the lanes take them. */
export function unitsOfPlan(plan: CopyPlan): CopyChunk[][] {
  // Through JSON, the stored rows' order and their validation, as every activity reads the plan.
  const stored = JSON.parse(JSON.stringify(chunkPlanItems(plan))) as ReturnType<typeof chunkPlanItems>;
  const chunks = storedPlanOrder(stored).map(chunkOfPlanItem);
  return copyUnits(chunks).map((unit) => unit.map((i) => chunks[i] as CopyChunk));
}

export interface CopyUnitOptions {
  format?: 'auto' | 'text';
}

/** One unit, as the copyChunk activity copies it: a group when its first chunk is groupable. */
export async function copyUnit(source: ServerEndpoint, target: ServerEndpoint, unit: readonly CopyChunk[], opts: CopyUnitOptions = {}): Promise<ChunkResult[]> {
  const first = unit[0];
  if (!first) return [];
  if (groupable(first)) return copyGroupAt(source, target, unit, opts);
  return [await copyChunkAt(source, target, first, opts)];
}

export interface CopyPlanOptions extends CopyUnitOptions {
  /** Copy lanes at once (default 1). */
  lanes?: number;
  /** Runs after each unit of a lane (e.g. a write workload between the units' snapshots). */
  between?: () => Promise<void>;
  onUnitStart?: (unit: readonly CopyChunk[]) => void;
  onUnitDone?: (unit: readonly CopyChunk[], results: readonly ChunkResult[]) => void;
}

export interface CopyPlanResult {
  /** One result per chunk of the plan, in plan order. */
  chunks: ChunkResult[];
  units: number;
  /** Highest end LSN of all chunks: past it, CDC replay is exact. */
  consistencyLsn: string | null;
}

/** Every unit of the plan, in lanes. */
export async function copyPlan(source: ServerEndpoint, target: ServerEndpoint, plan: CopyPlan, opts: CopyPlanOptions = {}): Promise<CopyPlanResult> {
  const units = unitsOfPlan(plan);
  const lanes = Math.max(1, Math.min(opts.lanes ?? 1, units.length));
  const results = new Array<ChunkResult[]>(units.length);
  const lane = async (first: number): Promise<void> => {
    for (let n = first; n < units.length; n += lanes) {
      const unit = units[n] as CopyChunk[];
      opts.onUnitStart?.(unit);
      results[n] = await copyUnit(source, target, unit, opts);
      opts.onUnitDone?.(unit, results[n] as ChunkResult[]);
      await opts.between?.();
    }
  };
  await Promise.all(Array.from({ length: lanes }, (_, l) => lane(l)));
  const chunks = results.flat();
  return { chunks, units: units.length, consistencyLsn: maxLsn(chunks.map((r) => r.endLsn)) };
}
