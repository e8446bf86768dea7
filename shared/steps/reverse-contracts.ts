/**
 * The fallback window's part of the activity contract (shared/steps/contracts.ts re-exports it, so
 * orchestrators still import the contract alone): what one reverse batch answers, how a reverse
 * stream ends, and how the migration's watch sees the window.
 */

/** What one reverse batch saw and what the user asks. */
export interface ReverseOutcome {
  /** Nothing was pending after this batch. */
  idle: boolean;
  /** Applied position reached endLsn (when falling back). */
  reachedEnd: boolean;
  control: 'none' | 'fallback' | 'finalize';
  /** The way back must close (the slot passed the WAL bound, or is gone): why. */
  stopped?: string;
  /** A change cannot be applied now (e.g. its table is missing on the source): shown, retried. */
  blocked?: string;
}

/** How a reverse stream ended. */
export interface ReverseEnd {
  db: string;
  state: 'FellBack' | 'Finalized' | 'Failed';
  error?: string;
}

/** The fallback window as the migration's watch sees it. */
export interface ReverseStatus {
  /** Every reverse stream ended. */
  finished: boolean;
}
