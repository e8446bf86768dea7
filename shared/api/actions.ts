/**
 * The two actions a PATCH (or a PUT, or DELETE) asks of a running migration: cut over, and
 * cancel, each for all its databases or those named (dbsToTriggerCutoverOn,
 * dbsToCancelMigrationOn). A request is stored first — it is data the workflow reads — then the
 * orchestrations are woken. Requests add up: a second cutover or cancel naming other databases
 * extends the first, never replaces it.
 */
import { cutoverDecision } from '../model/failed-databases';
import { isTerminal } from '../model/states';
import { listDatabases } from '../store/databases';
import { updateMigration, type MigrationRecord } from '../store/migrations';
import { cdcInstanceId, EVENTS } from '../steps/names';
import { unionOf } from '../model/requests';
import type { ServiceContext } from './context';
import { conflict } from './errors';

const CANCELABLE = new Set(['InProgress', 'WaitingForUserAction']);
const ENDED = new Set(['Succeeded', 'Failed', 'Canceled']);

export async function requestCutover(ctx: ServiceContext, rec: MigrationRecord, dbs: string[], now: string): Promise<MigrationRecord> {
  const decision = cutoverDecision(rec, await listDatabases(ctx.store, rec), dbs);
  if (!decision.ok) {
    // Retrying only helps a migration that still runs: one that ended can never be cut over.
    const next = isTerminal(rec.state)
      ? `It has ended ${rec.state}, so there is nothing to cut over; create a new migration to copy again`
      : 'Watch latency and retry when it is ready';
    throw conflict('CutoverNotAllowed', `Migration ${rec.name}: ${decision.reason}. ${next}`);
  }
  const updated = await updateMigration(ctx.store, rec.server, rec.name, (m) => ({
    ...m,
    cutoverRequestedAt: m.cutoverRequestedAt ?? now,
    dbsToTriggerCutoverOn: unionOf(m.dbsToTriggerCutoverOn, m.cutoverRequestedAt !== undefined, m.dbsToMigrate, dbs),
  }));
  await wake(ctx, updated.record, EVENTS.cutover, { dbs });
  return updated.record;
}

export async function requestCancel(ctx: ServiceContext, rec: MigrationRecord, dbs: string[], now: string): Promise<MigrationRecord> {
  if (!CANCELABLE.has(rec.state)) {
    throw conflict('CancelNotAllowed', `Cancel is possible while a migration is InProgress or WaitingForUserAction; migration ${rec.name} is ${rec.state}`);
  }
  const rows = await listDatabases(ctx.store, rec);
  const ended = rows.filter((r) => dbs.includes(r.databaseName) && ENDED.has(r.migrationState));
  if (ended.length === dbs.length) {
    const which = ended.map((r) => `${r.databaseName} (${r.migrationState})`).join(', ');
    throw conflict('CancelNotAllowed', `Migration ${rec.name}: nothing to cancel: ${which} ${ended.length === 1 ? 'has' : 'have'} already ended`);
  }
  const updated = await updateMigration(ctx.store, rec.server, rec.name, (m) => ({
    ...m,
    cancelRequestedAt: m.cancelRequestedAt ?? now,
    dbsToCancelMigrationOn: unionOf(m.dbsToCancelMigrationOn, m.cancelRequestedAt !== undefined, m.dbsToMigrate, dbs),
  }));
  await wake(ctx, updated.record, EVENTS.cancel, { dbs });
  return updated.record;
}

/**
 * Events only wake waiting orchestrations early: the request itself is already stored, which is
 * what the workflow reads. CDC loops get cutover and cancel too, so an idle one reacts at once.
 */
export async function wake(ctx: ServiceContext, rec: MigrationRecord, event: string, data: { dbs: string[] }): Promise<void> {
  // `recorded` tells the migration's orchestration the request is stored already (nothing to record).
  const payload = { ...data, recorded: true };
  const loops = event === EVENTS.update ? [] : rec.dbsToMigrate.map((_, i) => cdcInstanceId(rec.instanceId, i));
  await Promise.all([rec.instanceId, ...loops].map((id) => ctx.orchestration.raiseEvent(id, event, payload).catch(() => undefined)));
}
