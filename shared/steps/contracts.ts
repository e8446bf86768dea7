/**
 * The contract between orchestrators and activities: every activity's name, input and output in
 * one table. `functions/activities.ts` registers the steps from it, the orchestrators call through
 * it, and the compiler checks both ends. Inputs are keys and small choices, never rows and never
 * secrets (activities read passwords from shared/secrets when they connect). Everything here is
 * recorded in orchestration history, so it stays small and JSON-plain.
 *
 * Orchestrators import this module only (ESLint enforces it): names, types, nothing that runs.
 */
import type { MigrationMode, MigrationOption, MigrationState, MigrationSubState, ValidationState } from '../model/states';
import type { ReverseOutcome, ReverseStatus } from './reverse-contracts';

export type { MigrationMode, MigrationOption, MigrationState, MigrationSubState } from '../model/states';
export { EVENTS, ORCHESTRATORS, cdcInstanceId, copyLaneInstanceId, databaseInstanceId, migrationInstanceId, reverseInstanceId } from './names';
export type { ReverseEnd, ReverseOutcome, ReverseStatus } from './reverse-contracts';

/** Identifies a migration: names are unique per target server. */
export interface MigrationKey {
  server: string;
  name: string;
}

export interface DatabaseKey extends MigrationKey {
  db: string;
}

/**
 * Input of the migration orchestrator: the key plus the few choices that shape the workflow. What
 * may still change by PATCH before the data migration starts (mode, window, startDataMigration,
 * overwrite) is read from the migration's row by step 3, never from here.
 */
export interface MigrationInput extends MigrationKey {
  option: MigrationOption;
  databases: string[];
  /** Set by the orchestrator itself once steps 1–2 are done and it waits in step 3: each later execution is one wait. */
  waitingToStart?: boolean;
  /** Set by the orchestrator itself once the databases run: each later execution is one wait. */
  watching?: boolean;
  /**
   * Set when the migration itself failed while its databases ran: they are being stopped, and the
   * migration ends Failed with this error once every one of them ended.
   */
  failure?: string;
  /** How many times the databases were asked to stop (bounds the waiting when even that keeps failing). */
  stopRequests?: number;
  /** Set once the migration Succeeded with a way back: each later execution watches the reverse streams. */
  reversing?: boolean;
}

export interface DatabaseInput extends DatabaseKey {
  mode: MigrationMode;
  /** Index of the database in dbsToMigrate (names child instances deterministically). */
  index: number;
  /** The migration orchestration: told when this database finishes; names the CDC instance. */
  migrationInstanceId: string;
  /** The run's migrationId: instance ids repeat when a migration is created again under its name. */
  runId?: string;
}

/** Copy units at once per database for a plan that does not say (PGFERRY_COPY_LANES sets it when planned). */
export const COPY_LANES = 4;

/**
 * One copy lane of a database: it copies units lane, lane + lanes, lane + 2·lanes … in turn. A copy
 * unit is one chunk of a table, or a group of small whole tables (shared/copy/plan.ts copyUnits).
 */
export interface CopyLaneInput extends DatabaseKey {
  lane: number;
  lanes: number;
  /** Copy units in the plan. */
  units: number;
  /** The next unit this lane copies (carried across continueAsNew). */
  next: number;
}

/** How a lane ended: all its chunks copied (and their tables' indexes built), or why not. */
export interface LaneOutcome {
  state: 'Succeeded' | 'Failed' | 'Canceled';
  error?: string;
}

/** What the migration's watch sees of its databases (from Table Storage and their orchestrations). */
export interface DatabasesStatus {
  /** Every database reached Succeeded, Failed or Canceled. */
  finished: boolean;
  outcomes: DatabaseOutcome[];
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

/** ARM's substates in which a migration waits before its data migration starts (step 3). */
export type WaitingSubState = Extract<MigrationSubState, 'WaitingForTargetDBOverwriteConfirmation' | 'WaitingForDataMigrationScheduling' | 'WaitingForDataMigrationWindow'>;

/**
 * Step 3's answer: the data migration may start (in the mode stored now, with the window's end to
 * respect), the migration waits in a substate (until a time, or a PATCH), or it ends without data.
 */
export type DataMigrationGate =
  | { open: true; mode: MigrationMode; migrationWindowEndTimeInUtc?: string }
  | { open: false; waitingFor: WaitingSubState; until?: string; migrationWindowEndTimeInUtc?: string }
  | { open: false; end: 'Canceled' | 'Failed'; error?: string };

/** What the user asked for through PATCH or the cutover/cancel events, read from Table Storage. */
export type Control = 'none' | 'cutover' | 'cancel';

export interface CopyPlanSummary {
  chunks: number;
  tables: number;
  /** Copy units (chunks, or groups of small tables); copy activities address them by index, so the list stays out of history. */
  units: number;
  /** Copy lanes of the database (PGFERRY_COPY_LANES when planned; COPY_LANES when absent). */
  lanes?: number;
}

export interface ChunkOutcome {
  /** Key (tableKeyOf: both parts quoted) of a table whose last chunk this was (its indexes may be built now). */
  tableLoaded?: string;
  /** The unit was a group of small tables, all loaded now (buildGroupIndexes builds their indexes). */
  groupLoaded?: boolean;
  /** The user canceled: stop scheduling more chunks. */
  canceled?: boolean;
  /** Another lane of this database failed: stop (the database fails with that lane's error). */
  stopped?: boolean;
}

/** State carried by the CDC loop across continueAsNew. */
export interface CdcState extends DatabaseKey {
  /** Replay passed the consistency point and post-data is built. */
  caughtUp: boolean;
  /** Set once a cutover started: the end position to drain to. */
  endLsn?: string;
  /** The migration orchestration, told when this database finishes. */
  migrationInstanceId: string;
  /** Verification lanes at cutover (the copy's lanes, at most the tables); absent: one. */
  verifyLanes?: number;
  /** Verification ahead of cutover (AheadProgress, with passes made and when the last ended); absent: not started. */
  ahead?: { next: number | null; passes: number; endedAt?: number };
}

/** A share of verification ahead of cutover (steps/ahead.ts); next null: the pass is over; stopped: for good. */
export interface AheadProgress { next: number | null; stopped?: boolean }

/** A bounded, resumable share of the verification: the tables from `from`, until a time budget is spent. */
export interface VerifyProgress {
  /** Tables compared by this call; tables verified ahead of cutover and unchanged since, not read again. */
  compared: number;
  unchanged?: number;
  /** Where the next call starts; null when every table is compared. */
  next: number | null;
}

export interface ApplyOutcome {
  /** Nothing was pending after this batch (busy: a twin delivery holds the apply lock, nothing read). */
  idle: boolean;
  busy?: boolean;
  /** Replay has passed the consistency point (rules switch to exact). */
  pastConsistencyPoint: boolean;
  /** Applied position reached endLsn (when draining for cutover). */
  reachedEnd: boolean;
  control: Control;
}

/** State carried by a reverse stream (fallback window) across continueAsNew. */
export interface ReverseLoopState extends DatabaseKey {
  /** The migration orchestration, told when this stream ends. */
  migrationInstanceId: string;
  /** openReverse ran (the source is ready to be written). */
  opened?: boolean;
  /** Set once a fall back started: the target position to drain to. */
  endLsn?: string;
  /** Consecutive executions that ended in a failed step (the wait grows with it). */
  troubles?: number;
  /** The run's migrationId: instance ids repeat when a migration is created again under its name. */
  runId?: string;
}

/** The schema phases: before the copy, the keys after it, everything else once consistent. */
export type SchemaPhase = 'pre-data' | 'keys' | 'post-data';

/** Each activity's input and output, keyed like ACTIVITIES. */
export interface ActivityContracts {
  setMigrationState: { input: MigrationKey & { state: MigrationState; subState: MigrationSubState }; output: null };
  checkPrerequisites: { input: MigrationKey; output: Result<null> };
  openDataMigration: { input: MigrationKey; output: DataMigrationGate };
  validate: { input: MigrationKey; output: Result<ValidationSummary> };
  migrateRoles: { input: MigrationKey; output: Result<RolesSummary> };
  applyDatabaseRoles: { input: MigrationKey & { databases: string[] }; output: null };
  recordControl: { input: MigrationKey & { control: Exclude<Control, 'none'>; request: unknown }; output: null };
  startDatabases: { input: MigrationKey & { mode: MigrationMode; databases: string[]; migrationInstanceId: string }; output: null };
  watchDatabases: { input: MigrationKey & { migrationInstanceId: string }; output: DatabasesStatus };
  databaseFinished: { input: MigrationKey & { migrationInstanceId: string; db: string }; output: null };
  stopDatabases: { input: MigrationKey & { migrationInstanceId: string; error: string }; output: null };
  finishMigration: { input: MigrationKey & { state: MigrationState; error?: string }; output: null };
  prepareTargetDatabase: { input: DatabaseKey; output: Result<null> };
  createSlot: { input: DatabaseKey; output: Result<{ plugin: 'wal2json' | 'pgoutput'; startLsn: string }> };
  applySchema: { input: DatabaseKey & { phase: SchemaPhase }; output: Result<{ created: number; existed: number; more?: boolean }> };
  planCopy: { input: DatabaseKey; output: Result<CopyPlanSummary> };
  copyChunk: { input: DatabaseKey & { unit: number }; output: Result<ChunkOutcome> };
  buildTableIndexes: { input: DatabaseKey & { table: string }; output: Result<null> };
  buildGroupIndexes: { input: DatabaseKey & { unit: number }; output: Result<null> };
  finishCopy: { input: DatabaseKey; output: Result<{ consistencyLsn: string | null }> };
  applyBatch: { input: DatabaseKey & { endLsn: string | null }; output: Result<ApplyOutcome> };
  markCaughtUp: { input: DatabaseKey; output: null };
  beginCutover: { input: DatabaseKey; output: Result<{ endLsn: string }> };
  verifyTables: { input: DatabaseKey & { from: number; lane?: number; lanes?: number }; output: Result<VerifyProgress> };
  verifyAhead: { input: DatabaseKey & { from: number }; output: AheadProgress };
  completeDatabase: { input: DatabaseKey; output: Result<null> };
  stopDatabase: { input: DatabaseKey & { state: 'Failed' | 'Canceled'; error: string | null }; output: null };
  prepareReverse: { input: DatabaseKey; output: Result<{ enabled: boolean }> };
  beginReverse: { input: MigrationKey & { migrationInstanceId: string }; output: { databases: string[] } };
  watchReverse: { input: MigrationKey & { migrationInstanceId: string }; output: ReverseStatus };
  recordFallbackControl: { input: MigrationKey & { control: 'fallback' | 'finalize'; request: unknown }; output: null };
  finishReverse: { input: MigrationKey; output: null };
  openReverse: { input: DatabaseKey; output: Result<null> };
  applyReverse: { input: DatabaseKey & { endLsn: string | null }; output: Result<ReverseOutcome> };
  beginFallback: { input: DatabaseKey; output: Result<{ endLsn: string }> };
  verifyFallback: { input: DatabaseKey & { from: number }; output: Result<VerifyProgress & { differs?: string }> };
  completeFallback: { input: DatabaseKey; output: Result<{ differs?: string }> };
  fallbackFailed: { input: DatabaseKey & { error: string }; output: null };
  noteReverse: { input: DatabaseKey & { message: string }; output: null };
  endReverse: { input: DatabaseKey & { state: 'Finalized' | 'Failed'; error: string | null }; output: null };
}

export type ActivityKey = keyof ActivityContracts;
export type ActivityInput<K extends ActivityKey> = ActivityContracts[K]['input'];
export type ActivityOutput<K extends ActivityKey> = ActivityContracts[K]['output'];

/** Registered names of the activities (stable: recorded histories refer to them). */
export const ACTIVITIES = {
  setMigrationState: 'setMigrationState',
  checkPrerequisites: 'checkPrerequisites',
  openDataMigration: 'openDataMigration',
  validate: 'validateMigration',
  migrateRoles: 'migrateRoles',
  applyDatabaseRoles: 'applyDatabaseRoles',
  recordControl: 'recordControl',
  startDatabases: 'startDatabases',
  watchDatabases: 'watchDatabases',
  databaseFinished: 'databaseFinished',
  stopDatabases: 'stopDatabases',
  finishMigration: 'finishMigration',
  prepareTargetDatabase: 'prepareTargetDatabase',
  createSlot: 'createSlot',
  applySchema: 'applySchema',
  planCopy: 'planCopy',
  copyChunk: 'copyChunk',
  buildTableIndexes: 'buildTableIndexes',
  buildGroupIndexes: 'buildGroupIndexes',
  finishCopy: 'finishCopy',
  applyBatch: 'applyBatch',
  markCaughtUp: 'markCaughtUp',
  beginCutover: 'beginCutover',
  verifyTables: 'verifyTables',
  verifyAhead: 'verifyAhead',
  completeDatabase: 'completeDatabase',
  stopDatabase: 'stopDatabase',
  prepareReverse: 'prepareReverse',
  beginReverse: 'beginReverse',
  watchReverse: 'watchReverse',
  recordFallbackControl: 'recordFallbackControl',
  finishReverse: 'finishReverse',
  openReverse: 'openReverse',
  applyReverse: 'applyReverse',
  beginFallback: 'beginFallback',
  verifyFallback: 'verifyFallback',
  completeFallback: 'completeFallback',
  fallbackFailed: 'fallbackFailed',
  noteReverse: 'noteReverse',
  endReverse: 'endReverse',
} as const satisfies Record<ActivityKey, string>;
