/**
 * The fallback window's requests (fallbackAfterCutover; docs/api.md "Fallback after cutover"):
 * PATCH triggerFallback (go back to the source) and PATCH finalizeCutover (keep the target, remove
 * the way back), and DELETE while the window is open, which finalizes (a deleted migration never
 * leaves a slot on either server; once it has finished, a second DELETE removes it). A request is
 * stored on the migration row, which the reverse streams read; events only wake them.
 */
import { unwrap } from '../model/errors';
import { mentionsFallback, parseFallbackPatch } from '../model/fallback-patch';
import { fallbackDecision, inFallbackWindow, withRequest, type FallbackAction } from '../model/fallback';
import type { MigrationResource } from '../model/migration-resource';
import { getMigration, updateMigration, type MigrationRecord } from '../store/migrations';
import { listDatabases } from '../store/databases';
import { EVENTS, reverseInstanceId } from '../steps/names';
import type { ServiceContext } from './context';
import { conflict, notFound } from './errors';

type Read = (ctx: ServiceContext, rec: MigrationRecord) => Promise<MigrationResource>;

/** A PATCH about the fallback window: answered here (undefined: not one, the migration PATCH answers it). */
export async function patchFallback(ctx: ServiceContext, server: string, name: string, body: unknown, read: Read): Promise<MigrationResource | undefined> {
  if (!mentionsFallback(body)) return undefined;
  const action = unwrap(parseFallbackPatch(body));
  const found = await getMigration(ctx.store, server, name);
  if (!found) throw notFound(`Migration ${name} on server ${server}`);
  return read(ctx, await request(ctx, found.record, action));
}

/** DELETE of a migration in its fallback window: a finalize (undefined: not in the window). */
export async function deleteInFallbackWindow(ctx: ServiceContext, rec: MigrationRecord, read: Read): Promise<MigrationResource | undefined> {
  if (!inFallbackWindow(rec)) return undefined;
  return read(ctx, rec.fallback?.finalizeRequestedAt ? rec : await request(ctx, rec, 'finalize'));
}

/** Records the request under the rule of model/fallback.ts and wakes the orchestrations. */
async function request(ctx: ServiceContext, rec: MigrationRecord, action: FallbackAction): Promise<MigrationRecord> {
  const dbs = await listDatabases(ctx.store, rec);
  const decision = fallbackDecision(rec, dbs, action);
  if (!decision.ok) throw conflict(action === 'fallback' ? 'FallbackNotAllowed' : 'FinalizeNotAllowed', `Migration ${rec.name}: ${decision.reason}`);
  const at = ctx.now().toISOString();
  const updated = await updateMigration(ctx.store, rec.server, rec.name, (m) => (m.fallback ? { ...m, fallback: withRequest(m.fallback, action, at) } : undefined));
  const event = action === 'fallback' ? EVENTS.fallback : EVENTS.finalize;
  // `recorded`: the request is stored already; the events only wake the waits.
  const targets = [rec.instanceId, ...rec.dbsToMigrate.map((_, i) => reverseInstanceId(rec.instanceId, i))];
  await Promise.all(targets.map((id) => ctx.orchestration.raiseEvent(id, event, { recorded: true }).catch(() => undefined)));
  return updated.record;
}
