/**
 * What orchestrators and activities pass to each other: keys and small summaries, never rows and
 * never secrets (activities read passwords from shared/secrets when they connect). Everything here
 * is recorded in orchestration history, so it stays small and JSON-plain.
 */
import type { MigrationMode, MigrationOption, ValidationState } from '../model/states';

/** Identifies a migration: names are unique per target server. */
export interface MigrationKey {
  server: string;
  name: string;
}

export interface DatabaseKey extends MigrationKey {
  db: string;
}

/** Input of the migration orchestrator: the key plus the few choices that shape the workflow. */
export interface MigrationInput extends MigrationKey {
  mode: MigrationMode;
  option: MigrationOption;
  databases: string[];
  /** ARM migrationWindowStartTimeInUtc (ISO, UTC): the data migration starts no earlier. */
  migrationWindowStartTimeInUtc?: string;
  /** ARM migrationWindowEndTimeInUtc (ISO, UTC): no copy starts after it. */
  migrationWindowEndTimeInUtc?: string;
}

export interface DatabaseInput extends DatabaseKey {
  mode: MigrationMode;
  /** Index of the database in dbsToMigrate (names child instances deterministically). */
  index: number;
}

/** How a database ended; the migration's final state is derived from all of them. */
export interface DatabaseOutcome {
  db: string;
  state: 'Succeeded' | 'Failed' | 'Canceled';
  error?: string;
}

/** A failure an activity decided is not worth retrying (bad data, divergence, missing privilege). */
export interface Failure {
  message: string;
  /** Where: phase, table, SQLSTATE — whatever a DBA needs to act. */
  context?: Record<string, string>;
}

/** Activities that can fail for good answer with a Result; transient faults throw and are retried. */
export type Result<T> = { ok: true; value: T } | { ok: false; failure: Failure };

export interface ValidationSummary {
  status: ValidationState;
}

/** Role migration in counts (the per-role report is in Table Storage, never in history). */
export interface RolesSummary {
  /** migrateRoles was False: nothing was done. */
  skipped: boolean;
  created: number;
  existing: number;
  reserved: number;
  warnings: number;
}

/** What the user asked for through PATCH or the cutover/cancel events, read from Table Storage. */
export type Control = 'none' | 'cutover' | 'cancel';

export interface CopyPlanSummary {
  /** Number of chunks; copy activities address chunks by index, so the list stays out of history. */
  chunks: number;
  tables: number;
}

export interface ChunkOutcome {
  /** Qualified name of a table whose last chunk this was (its indexes may be built now). */
  tableLoaded?: string;
  /** The user canceled: stop scheduling more chunks. */
  canceled?: boolean;
}

/** State carried by the CDC loop across continueAsNew. */
export interface CdcState extends DatabaseKey {
  /** Replay passed the consistency point and post-data is built. */
  caughtUp: boolean;
  /** Set once a cutover started: the end position to drain to. */
  endLsn?: string;
  /** Iterations in this execution (continueAsNew resets history every CDC_ITERATIONS_PER_EXECUTION). */
  iterations?: number;
}

export interface ApplyOutcome {
  /** Nothing was pending after this batch. */
  idle: boolean;
  /** Replay has passed the consistency point (rules switch to exact). */
  pastConsistencyPoint: boolean;
  /** Applied position reached endLsn (when draining for cutover). */
  reachedEnd: boolean;
  control: Control;
}
