/**
 * Live progress of one chunk copy: the copy reports rows and bytes as they stream (cheaply, per
 * buffer); a timer writes the latest figures to the chunk row about every second and then lets
 * the database's counters be recomputed, so a big table advances in GET while it is copied.
 * Progress is informational: a failed write is skipped, never a reason to fail the copy.
 */
import { recordChunkProgress, type ChunkId } from '../store/chunks';
import type { DatabaseKey } from './contracts';
import type { Runtime } from './runtime';

/** How often a running chunk writes its progress. */
export const LIVE_PROGRESS_MS = 1_000;

export interface LiveProgress {
  onProgress: (copied: { bytes: number; rows: number }) => void;
  /** Stops the timer and waits for a write in flight. */
  stop: () => Promise<void>;
}

export function liveChunkProgress(rt: Runtime, k: DatabaseKey, id: ChunkId, attempt: number, refresh: () => Promise<void>): LiveProgress {
  let latest = { bytes: 0, rows: 0 };
  let written = latest;
  let inFlight: Promise<void> | undefined;
  const tick = () => {
    // A slow store skips ticks rather than queueing writes behind each other.
    if (latest === written || inFlight) return;
    const copied = latest;
    written = copied;
    inFlight = recordChunkProgress(rt.store, k, k.db, id, { ...copied, attempt })
      .then(refresh)
      .catch(() => undefined)
      .finally(() => (inFlight = undefined));
  };
  const timer = setInterval(tick, LIVE_PROGRESS_MS);
  timer.unref();
  return {
    onProgress: (copied) => {
      latest = copied;
    },
    stop: async () => {
      clearInterval(timer);
      await inFlight;
    },
  };
}
