/**
 * Copy progress for the UI and ARM dbDetails, computed (pure) from chunk states — the store's
 * ChunkRecord rows fit as they are. A table is Errored if a chunk of it failed (and was not yet
 * retried), Completed when all its chunks are done, Loading when some started, else Queued.
 * The ETA extrapolates the throughput so far over the planner's size estimates.
 *
 * A loading chunk counts with the rows and bytes its copy last reported (the copy step writes
 * them every second or so while it streams), so a big table advances while it is copied, not
 * only when its chunk ends.
 */

export type ChunkState = 'queued' | 'loading' | 'done' | 'errored';
export type TableLoadState = 'Queued' | 'Loading' | 'Completed' | 'Errored';

/** The fields of a chunk progress uses (shared/store ChunkRecord has all of them). */
export interface ChunkProgressInput {
  schema: string;
  table: string;
  state: ChunkState;
  rows?: number;
  bytes?: number;
  estimatedRows?: number;
  estimatedBytes?: number;
  /** ISO-8601 */
  startedAt?: string;
  endedAt?: string;
}

export interface TableProgress {
  schema: string;
  table: string;
  state: TableLoadState;
  chunks: number;
  chunksDone: number;
  rowsCopied: number;
  bytesCopied: number;
  estimatedRows: number;
  estimatedBytes: number;
  /** Share of the table's estimated size copied, 0–1. */
  fraction: number;
}

export interface CopyProgress {
  fullLoadQueuedTables: number;
  fullLoadLoadingTables: number;
  fullLoadCompletedTables: number;
  fullLoadErroredTables: number;
  fullLoadTotalTables: number;
  rowsCopied: number;
  bytesCopied: number;
  /** Share of the estimated size copied (done chunks, and loading ones as far as they got), 0–1. */
  fraction: number;
  /** Bytes per second copied since the first chunk started. */
  bytesPerSecond: number;
  /** Seconds left at the throughput so far; null before anything finished or once done. */
  etaSeconds: number | null;
  tables: TableProgress[];
}

export function copyProgress(chunks: readonly ChunkProgressInput[], now: Date = new Date()): CopyProgress {
  const tables = new Map<string, TableProgress & { started: boolean; errored: boolean; weightDone: number; weight: number }>();
  let firstStart = Number.POSITIVE_INFINITY;
  let estDone = 0;
  let estTotal = 0;
  for (const c of chunks) {
    const key = `${c.schema}\u0000${c.table}`;
    const t = tables.get(key) ?? {
      schema: c.schema,
      table: c.table,
      state: 'Queued' as TableLoadState,
      chunks: 0,
      chunksDone: 0,
      rowsCopied: 0,
      bytesCopied: 0,
      estimatedRows: 0,
      estimatedBytes: 0,
      fraction: 0,
      started: false,
      errored: false,
      weightDone: 0,
      weight: 0,
    };
    tables.set(key, t);
    t.chunks++;
    t.estimatedRows += c.estimatedRows ?? 0;
    t.estimatedBytes += c.estimatedBytes ?? 0;
    // A chunk estimated at 0 bytes still counts for something in the fraction.
    const weight = Math.max(1, c.estimatedBytes ?? 0);
    estTotal += weight;
    t.weight += weight;
    if (c.startedAt) firstStart = Math.min(firstStart, Date.parse(c.startedAt));
    if (c.state !== 'queued') t.started = true;
    if (c.state === 'errored') t.errored = true;
    if (c.state === 'done') t.chunksDone++;
    if (c.state === 'done' || c.state === 'loading') {
      t.rowsCopied += c.rows ?? 0;
      t.bytesCopied += c.bytes ?? 0;
      const done = weight * chunkFraction(c);
      estDone += done;
      t.weightDone += done;
    }
  }
  const list = [...tables.values()].map(({ started, errored, weightDone, weight, ...t }): TableProgress => {
    const state: TableLoadState = errored ? 'Errored' : t.chunksDone === t.chunks ? 'Completed' : started ? 'Loading' : 'Queued';
    return { ...t, state, fraction: state === 'Completed' ? 1 : weight > 0 ? weightDone / weight : 0 };
  });
  const count = (s: TableLoadState) => list.filter((t) => t.state === s).length;
  const rowsCopied = list.reduce((s, t) => s + t.rowsCopied, 0);
  const bytesCopied = list.reduce((s, t) => s + t.bytesCopied, 0);
  const elapsed = Number.isFinite(firstStart) ? Math.max(0, (now.getTime() - firstStart) / 1000) : 0;
  const fraction = estTotal > 0 ? estDone / estTotal : 1;
  const etaSeconds = fraction > 0 && fraction < 1 && elapsed > 0 ? (elapsed * (1 - fraction)) / fraction : null;
  return {
    fullLoadQueuedTables: count('Queued'),
    fullLoadLoadingTables: count('Loading'),
    fullLoadCompletedTables: count('Completed'),
    fullLoadErroredTables: count('Errored'),
    fullLoadTotalTables: list.length,
    rowsCopied,
    bytesCopied,
    fraction,
    bytesPerSecond: elapsed > 0 ? bytesCopied / elapsed : 0,
    etaSeconds,
    tables: list,
  };
}

/** How far a loading chunk got is at most 99%: the estimates are estimates, only "done" is done. */
const LOADING_CAP = 0.99;

/**
 * A done chunk is whole; a loading one has copied rows / estimated rows of itself (reltuples is
 * the better estimate: COPY bytes and heap bytes differ), or bytes / estimated bytes when the
 * table was never analysed.
 */
function chunkFraction(c: ChunkProgressInput): number {
  if (c.state === 'done') return 1;
  const rows = c.rows ?? 0;
  const bytes = c.bytes ?? 0;
  const f = (c.estimatedRows ?? 0) > 0 ? rows / (c.estimatedRows ?? 1) : (c.estimatedBytes ?? 0) > 0 ? bytes / (c.estimatedBytes ?? 1) : 0;
  return Math.min(LOADING_CAP, Math.max(0, f));
}

/** What a database row keeps of the copy progress, for the resource's pgferry fields (JSON-able). */
export interface CopyProgressSummary {
  /** 0–100, one decimal. */
  percent: number;
  estimatedRows: number;
  estimatedBytes: number;
  bytesPerSecond: number;
  /** Seconds left at the throughput so far; null when unknown or done. */
  secondsRemaining: number | null;
  /** The tables being copied now (at most MAX_RUNNING_TABLES, largest first). */
  runningTables: Array<{ schemaName: string; tableName: string; rowsCopied: number; bytesCopied: number; estimatedRows: number; estimatedBytes: number; percent: number }>;
}

/** Bounds the summary's size in the database row. */
export const MAX_RUNNING_TABLES = 20;

const percentOf = (fraction: number) => Math.round(Math.min(1, Math.max(0, fraction)) * 1000) / 10;

export function summarizeCopyProgress(p: CopyProgress): CopyProgressSummary {
  const running = p.tables
    .filter((t) => t.state === 'Loading')
    .sort((a, b) => b.estimatedBytes - a.estimatedBytes)
    .slice(0, MAX_RUNNING_TABLES);
  return {
    percent: percentOf(p.fraction),
    estimatedRows: p.tables.reduce((s, t) => s + t.estimatedRows, 0),
    estimatedBytes: p.tables.reduce((s, t) => s + t.estimatedBytes, 0),
    bytesPerSecond: Math.round(p.bytesPerSecond),
    secondsRemaining: p.etaSeconds === null ? null : Math.round(p.etaSeconds),
    runningTables: running.map((t) => ({
      schemaName: t.schema,
      tableName: t.table,
      rowsCopied: t.rowsCopied,
      bytesCopied: t.bytesCopied,
      estimatedRows: t.estimatedRows,
      estimatedBytes: t.estimatedBytes,
      percent: percentOf(t.fraction),
    })),
  };
}
