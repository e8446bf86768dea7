/**
 * The fallback window as the resource shows it (pgferry's own fields beside ARM's): per database
 * the reverse stream (`dbDetails[db].reverseReplication`), on the migration its request times and
 * outcome (`properties.fallback`). Strict, like the rest of the resource schema.
 */
import { z } from 'zod';
import { REVERSE_STATES } from './fallback';

const count = z.number().int().nonnegative();
const dateTime = z.string().datetime({ offset: true });

export const reverseConflictSchema = z
  .object({
    /** When pgferry met it. */
    at: dateTime,
    table: z.string(),
    operation: z.enum(['insert', 'update', 'delete']),
    /** "col=value, …" */
    key: z.string(),
    reason: z.string(),
    /** Commit position (on the target) of the transaction that held the change. */
    commitLsn: z.string(),
  })
  .strict();

export const reverseReplicationSchema = z
  .object({
    state: z.enum(REVERSE_STATES),
    /** The logical slot on the target. */
    slotName: z.string(),
    decodingPlugin: z.string(),
    /** Seconds the source lags behind the target. */
    latency: count,
    /** WAL the reverse slot holds back on the target, in bytes (bounded by PGFERRY_FALLBACK_MAX_WAL_MB). */
    retainedWalBytes: count,
    insertCounter: count,
    updateCounter: count,
    deleteCounter: count,
    /** Changes applied to the source. */
    appliedChanges: count,
    /** Target changes not applied because the source row was written directly since cutover. */
    conflicts: count,
    /** The newest conflicts (at most 20). */
    recentConflicts: z.array(reverseConflictSchema),
    /** What blocks the stream, why it ended, or why the last fall back did not complete. */
    message: z.string().optional(),
    fallbackStartedOn: dateTime.optional(),
    endedOn: dateTime.optional(),
  })
  .strict();

export const fallbackStatusSchema = z
  .object({
    fallbackRequestedOn: dateTime.optional(),
    finalizeRequestedOn: dateTime.optional(),
    /** When the source was ready for the application again. */
    completedOn: dateTime.optional(),
    /** Seconds from the fall back request to the source being ready. */
    durationSeconds: count.optional(),
    error: z.string().optional(),
  })
  .strict();

export type ReverseReplicationStatus = z.infer<typeof reverseReplicationSchema>;
export type FallbackStatus = z.infer<typeof fallbackStatusSchema>;
