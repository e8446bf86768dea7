/** The fallback window on the resource (model/fallback-resource.ts): stored records → what GET shows. */
import { toArmFlag } from '../model/flags';
import type { FallbackStatus, ReverseReplicationStatus } from '../model/fallback-resource';
import type { MigrationResourceProperties } from '../model/migration-resource';
import type { ReverseRecord } from '../model/fallback';
import type { MigrationRecord } from '../store/migrations';

const whole = (n: number) => Math.max(0, Math.round(n));

/** A database's reverse stream as dbDetails[db].reverseReplication. */
export function reverseStatus(r: ReverseRecord): ReverseReplicationStatus {
  const ended = r.state === 'FellBack' || r.state === 'Finalized' || r.state === 'Failed';
  const message = r.blocked ?? r.message;
  return {
    state: r.state,
    slotName: r.slotName,
    decodingPlugin: r.plugin,
    latency: ended ? 0 : whole(r.latency),
    // The slot is dropped when the stream ends: its last reading holds nothing back any more.
    retainedWalBytes: ended ? 0 : whole(r.retainedWalBytes),
    insertCounter: whole(r.inserts),
    updateCounter: whole(r.updates),
    deleteCounter: whole(r.deletes),
    appliedChanges: whole(r.appliedChanges),
    conflicts: whole(r.conflicts),
    recentConflicts: r.recentConflicts.map((c) => ({ ...c })),
    ...(message ? { message } : {}),
    ...(r.fallbackStartedAt ? { fallbackStartedOn: r.fallbackStartedAt } : {}),
    ...(r.endedOn ? { endedOn: r.endedOn } : {}),
  };
}

/** The migration's fallback fields (none unless it was created with fallbackAfterCutover). */
export function fallbackProperties(m: MigrationRecord): Partial<MigrationResourceProperties> {
  const fb = m.fallback;
  if (!fb) return {};
  const status: FallbackStatus = {
    ...(fb.fallbackRequestedAt ? { fallbackRequestedOn: fb.fallbackRequestedAt } : {}),
    ...(fb.finalizeRequestedAt ? { finalizeRequestedOn: fb.finalizeRequestedAt } : {}),
    ...(fb.completedAt ? { completedOn: fb.completedAt } : {}),
    ...(fb.seconds !== undefined ? { durationSeconds: whole(fb.seconds) } : {}),
    ...(fb.error ? { error: fb.error } : {}),
  };
  return {
    fallbackAfterCutover: toArmFlag(fb.enabled),
    ...(fb.enabled ? { triggerFallback: toArmFlag(fb.fallbackRequestedAt !== undefined), finalizeCutover: toArmFlag(fb.finalizeRequestedAt !== undefined) } : {}),
    ...(Object.keys(status).length > 0 ? { fallback: status } : {}),
  };
}
