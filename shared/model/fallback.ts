/**
 * Fallback after cutover (fallbackAfterCutover, issue #20): what is stored about the way back and
 * the rules every path obeys alike — the PATCH, the Durable events, the activities and the resource.
 *
 * At cutover a logical slot on the target captures every later write; after the migration
 * Succeeded, its substate is ReplicatingToSource while those writes flow back to the source. The
 * user ends the window with one of two requests: finalize (the target stays; nothing of pgferry
 * is left on either server) or fall back (drain the target, set the source's sequences, verify:
 * the source is current again, substate FellBackToSource). Each database runs its own reverse
 * stream; a database whose fall back fails verification keeps replicating and can be asked again.
 */
import type { MigrationState, MigrationSubState } from './states';

/** Where one database's reverse stream is. */
export const REVERSE_STATES = ['Starting', 'Replicating', 'FallingBack', 'FellBack', 'Finalized', 'Failed'] as const;
export type ReverseState = (typeof REVERSE_STATES)[number];

/** States after which the reverse slot is gone and nothing runs for the database. */
export const REVERSE_ENDED: ReadonlySet<ReverseState> = new Set(['FellBack', 'Finalized', 'Failed']);

/** The two endings a user may ask for. */
export type FallbackAction = 'fallback' | 'finalize';

/** The fallback part of a migration row (one JSON property). */
export interface MigrationFallback {
  /** fallbackAfterCutover: the reverse slot is made at cutover. */
  enabled: boolean;
  /** The latest fall back request (PATCH triggerFallback or the `fallback` event). */
  fallbackRequestedAt?: string;
  /** The finalize request (PATCH finalizeCutover, the `finalize` event, or DELETE). */
  finalizeRequestedAt?: string;
  /** When the source was ready again (every database fell back), and how long that took from the request. */
  completedAt?: string;
  seconds?: number;
  /** Why the last fall back did not complete, or why the way back was closed (WAL bound). */
  error?: string;
}

/** A target change that did not fit the source: the source row was written directly since cutover. */
export interface ReverseConflict {
  /** When pgferry met it. */
  at: string;
  /** "schema"."table" */
  table: string;
  operation: 'insert' | 'update' | 'delete';
  /** The row's key as "col=value, …" (or its first columns, for a table without a key). */
  key: string;
  reason: string;
  /** Commit position of the target transaction that held the change. */
  commitLsn: string;
}

/** How many conflicts a database row keeps (the newest); the count covers all. */
export const MAX_RECENT_CONFLICTS = 20;

/** The reverse stream of one database (one JSON property of its row). */
export interface ReverseRecord {
  state: ReverseState;
  /** The slot on the target (and its publication, for pgoutput). */
  slotName: string;
  plugin: 'wal2json' | 'pgoutput';
  /** The slot's consistent point: the target's writes from here on flow back. */
  startLsn: string;
  /** The last target commit applied to the source. */
  appliedLsn?: string;
  /** Seconds the source lags behind the target. */
  latency: number;
  /** WAL the slot holds back on the target, in bytes. */
  retainedWalBytes: number;
  inserts: number;
  updates: number;
  deletes: number;
  /** Changes applied to the source. */
  appliedChanges: number;
  /** Conflicts met so far (changes not applied because the source row was written directly). */
  conflicts: number;
  recentConflicts: ReverseConflict[];
  /** The source's user triggers and rules were disabled for the window (no replica mode): restored at the end. */
  heldTriggers?: boolean;
  /** How the stream reads the slot: 'stream' or 'sql' (once the target refused a replication connection). */
  readMethod?: string;
  /** The fall back request this database answered (a failed verification waits for a newer one). */
  handledFallbackAt?: string;
  /** When this database began to fall back. */
  fallbackStartedAt?: string;
  /** Why the stream ended, why the last fall back did not complete, or that the source is ready. */
  message?: string;
  /** What keeps the stream from applying now (shown; retried; cleared by the next batch that applies). */
  blocked?: string;
  endedOn?: string;
}

/** A fresh reverse record for a slot just made. */
export function newReverseRecord(slotName: string, plugin: ReverseRecord['plugin'], startLsn: string): ReverseRecord {
  return { state: 'Starting', slotName, plugin, startLsn, latency: 0, retainedWalBytes: 0, inserts: 0, updates: 0, deletes: 0, appliedChanges: 0, conflicts: 0, recentConflicts: [] };
}

/** What a reverse stream is asked to do now, from the migration row and its own record. */
export function reverseControl(fb: MigrationFallback | undefined, r: ReverseRecord): 'none' | FallbackAction {
  if (REVERSE_ENDED.has(r.state)) return 'none';
  if (fb?.finalizeRequestedAt) return 'finalize';
  if (fb?.fallbackRequestedAt && r.state === 'Replicating' && (r.handledFallbackAt ?? '') < fb.fallbackRequestedAt) return 'fallback';
  return 'none';
}

/** The migration is in its fallback window: Succeeded, with reverse streams still running. */
export function inFallbackWindow(m: { state: MigrationState; subState: MigrationSubState }): boolean {
  return m.state === 'Succeeded' && (m.subState === 'ReplicatingToSource' || m.subState === 'FallingBack');
}

export type FallbackDecision = { ok: true } | { ok: false; reason: string };

/** What the rules read of a database: its name and reverse stream. */
export interface ReverseOf {
  databaseName: string;
  reverse?: ReverseRecord | undefined;
}

/**
 * Whether a fall back or finalize may be recorded now: only in the fallback window; a fall back
 * needs a database that replicates (not one already falling back), a finalize one still running.
 */
export function fallbackDecision(m: { state: MigrationState; subState: MigrationSubState; fallback?: MigrationFallback | undefined }, dbs: readonly ReverseOf[], action: FallbackAction): FallbackDecision {
  const what = action === 'fallback' ? 'triggerFallback' : 'finalizeCutover';
  if (!m.fallback?.enabled) {
    return { ok: false, reason: `${what} needs a migration created with fallbackAfterCutover "True"; this one has no way back (its target is final)` };
  }
  if (!inFallbackWindow(m)) {
    return { ok: false, reason: `${what} is possible once the migration Succeeded and replicates to the source (substate ReplicatingToSource); it is ${m.state} / ${m.subState}` };
  }
  if (m.fallback.finalizeRequestedAt) return { ok: false, reason: `finalize was requested at ${m.fallback.finalizeRequestedAt}; the way back is being removed` };
  const running = dbs.filter((d) => d.reverse && !REVERSE_ENDED.has(d.reverse.state));
  if (action === 'finalize') return running.length > 0 ? { ok: true } : { ok: false, reason: 'no database replicates to the source any more' };
  const falling = running.filter((d) => d.reverse?.state === 'FallingBack').map((d) => d.databaseName);
  if (falling.length > 0) return { ok: false, reason: `a fall back is running (${falling.join(', ')}); wait for it to complete or fail` };
  if (!running.some((d) => d.reverse?.state === 'Replicating')) return { ok: false, reason: 'no database replicates to the source yet; retry in a few seconds' };
  return { ok: true };
}

/** The substate a migration in its window shows, from its databases' reverse streams. */
export function windowSubState(dbs: readonly ReverseOf[]): MigrationSubState {
  return dbs.some((d) => d.reverse?.state === 'FallingBack') ? 'FallingBack' : 'ReplicatingToSource';
}

/** The substate once every reverse stream ended: FellBackToSource when a database fell back. */
export function finalWindowSubState(dbs: readonly ReverseOf[]): MigrationSubState {
  return dbs.some((d) => d.reverse?.state === 'FellBack') ? 'FellBackToSource' : 'Completed';
}

/** The fallback part of a migration row once `action` is accepted at `at` (a new fall back clears the last one's error). */
export function withRequest(fb: MigrationFallback, action: FallbackAction, at: string): MigrationFallback {
  if (action === 'finalize') return { ...fb, finalizeRequestedAt: fb.finalizeRequestedAt ?? at };
  const { error: _previous, ...rest } = fb;
  return { ...rest, fallbackRequestedAt: at };
}

/** Appends conflicts to a record, keeping the newest MAX_RECENT_CONFLICTS. */
export function withConflicts(r: ReverseRecord, found: readonly ReverseConflict[]): Pick<ReverseRecord, 'conflicts' | 'recentConflicts'> {
  return { conflicts: r.conflicts + found.length, recentConflicts: [...r.recentConflicts, ...found].slice(-MAX_RECENT_CONFLICTS) };
}
