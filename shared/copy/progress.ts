/**
 * Copy progress for the UI and ARM dbDetails, computed (pure) from chunk states — the store's
 * ChunkRecord rows fit as they are. A table is Errored if a chunk of it failed (and was not yet
 * retried), Completed when all its chunks are done, Loading when some started, else Queued.
 * The ETA extrapolates the throughput so far over the planner's size estimates.
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
}

export interface CopyProgress {
  fullLoadQueuedTables: number;
  fullLoadLoadingTables: number;
  fullLoadCompletedTables: number;
  fullLoadErroredTables: number;
  fullLoadTotalTables: number;
  rowsCopied: number;
  bytesCopied: number;
  /** Share of the estimated size whose chunks are done, 0–1. */
  fraction: number;
  /** Bytes per second copied since the first chunk started. */
  bytesPerSecond: number;
  /** Seconds left at the throughput so far; null before anything finished or once done. */
  etaSeconds: number | null;
  tables: TableProgress[];
}

export function copyProgress(chunks: readonly ChunkProgressInput[], now: Date = new Date()): CopyProgress {
  const tables = new Map<string, TableProgress & { started: boolean; errored: boolean }>();
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
      started: false,
      errored: false,
    };
    tables.set(key, t);
    t.chunks++;
    t.estimatedRows += c.estimatedRows ?? 0;
    t.estimatedBytes += c.estimatedBytes ?? 0;
    // A chunk estimated at 0 bytes still counts for something in the fraction.
    const weight = Math.max(1, c.estimatedBytes ?? 0);
    estTotal += weight;
    if (c.startedAt) firstStart = Math.min(firstStart, Date.parse(c.startedAt));
    if (c.state !== 'queued') t.started = true;
    if (c.state === 'errored') t.errored = true;
    if (c.state === 'done') {
      t.chunksDone++;
      t.rowsCopied += c.rows ?? 0;
      t.bytesCopied += c.bytes ?? 0;
      estDone += weight;
    }
  }
  const list = [...tables.values()].map(({ started, errored, ...t }): TableProgress => {
    const state: TableLoadState = errored ? 'Errored' : t.chunksDone === t.chunks ? 'Completed' : started ? 'Loading' : 'Queued';
    return { ...t, state };
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
