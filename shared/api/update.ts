/**
 * Applies a ChangeSet (shared/api/changes.ts) to an existing migration: its action, or its field
 * changes by the rules of shared/api/updates.ts, its tags. Passwords go to shared/secrets only.
 * After a change that step 3 of the workflow reads (it waits on overwriteDbsInTarget,
 * startDataMigration and the window), the migration's orchestration is woken to look again.
 */
import { RequestValidationError } from '../model/errors';
import { subsetIssues } from '../model/names';
import { isTerminal } from '../model/states';
import { getSecrets, putSecrets } from '../secrets/store';
import { updateMigration, type MigrationRecord } from '../store/migrations';
import { EVENTS } from '../steps/names';
import { requestCancel, requestCutover, wake } from './actions';
import type { ChangeSet } from './changes';
import type { ServiceContext } from './context';
import { ApiError, conflict } from './errors';
import { applyFields, beforeDataMigration, changedFields, refuseChanges } from './updates';

function sameTags(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  return JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());
}

export async function applyChanges(ctx: ServiceContext, rec: MigrationRecord, c: ChangeSet): Promise<MigrationRecord> {
  if (c.location !== undefined && rec.location !== undefined && c.location.toLowerCase() !== rec.location.toLowerCase()) {
    throw conflict('PropertyChangeNotAllowed', `Migration ${rec.name}: location is "${rec.location}" and cannot change to "${c.location}": a migration cannot move to another region`);
  }
  const fields = changedFields(rec, c.fields);
  const tagsChange = c.tags !== undefined && !sameTags(c.tags, rec.tags);
  if (c.action) {
    if (fields.length > 0 || tagsChange) {
      throw RequestValidationError.from([{
        path: ['properties', c.action.kind],
        message: `cannot be "True" in a request that also changes ${[...fields, ...(tagsChange ? ['tags'] : [])].join(', ')}`,
        fix: `Send ${c.action.kind} on its own, and the other changes in a separate request.`,
      }]);
    }
    return runAction(ctx, rec, c.action);
  }
  const refused = refuseChanges(rec, fields);
  if (refused) throw refused;
  await storePasswords(ctx, rec, c);
  const locationToStore = rec.location === undefined ? c.location : undefined;
  if (fields.length === 0 && !tagsChange && locationToStore === undefined) return rec;
  const updated = await updateMigration(ctx.store, rec.server, rec.name, (m) => {
    // Checked again on the row being written: the workflow may have moved on meanwhile.
    const next = applyFields(m, c.fields);
    return { ...next, ...(locationToStore ? { location: locationToStore } : {}), ...(tagsChange ? tagsOf(c.tags) : {}) };
  });
  if (fields.length > 0 && beforeDataMigration(updated.record)) await wake(ctx, updated.record, EVENTS.update, { dbs: [] });
  return updated.record;
}

/** `tags` to spread into a row: an empty set removes them. */
function tagsOf(tags: Record<string, string> | undefined): { tags?: Record<string, string> } {
  return tags !== undefined && Object.keys(tags).length > 0 ? { tags } : { tags: undefined };
}

async function runAction(ctx: ServiceContext, rec: MigrationRecord, action: NonNullable<ChangeSet['action']>): Promise<MigrationRecord> {
  const list = action.dbs ?? [];
  const issues = subsetIssues(list, rec.dbsToMigrate, ['properties', action.kind === 'triggerCutover' ? 'dbsToTriggerCutoverOn' : 'dbsToCancelMigrationOn']);
  if (action.kind === 'triggerCutover' && rec.migrationMode === 'Offline') {
    issues.push({
      path: ['properties', 'triggerCutover'],
      message: 'is "True", but this migration is Offline and cutover applies only to Online migrations',
      fix: 'Remove triggerCutover: an Offline migration completes on its own after the copy.',
    });
  }
  if (issues.length > 0) throw RequestValidationError.from(issues);
  const dbs = list.length > 0 ? [...list] : [...rec.dbsToMigrate];
  const now = ctx.now().toISOString();
  return action.kind === 'triggerCutover' ? requestCutover(ctx, rec, dbs, now) : requestCancel(ctx, rec, dbs, now);
}

/** New passwords are sealed beside the old ones; a finished migration has none left to replace. */
async function storePasswords(ctx: ServiceContext, rec: MigrationRecord, c: ChangeSet): Promise<void> {
  const source = c.fields.sourceServerPassword;
  const target = c.fields.targetServerPassword;
  if (source === undefined && target === undefined) return;
  if (isTerminal(rec.state)) throw conflict('PropertyChangeNotAllowed', `Migration ${rec.name} has ended ${rec.state}; its credentials are deleted and cannot change`);
  const keys = secretKeys(ctx);
  const old = await getSecrets(ctx.store, rec.server, rec.name, keys);
  await putSecrets(ctx.store, rec.server, rec.name, { sourcePassword: source ?? old.sourcePassword, targetPassword: target ?? old.targetPassword }, keys);
}

export function secretKeys(ctx: ServiceContext): { current: Buffer; previous?: Buffer } {
  if (!ctx.settings.secretKey) {
    throw new ApiError(503, 'ServiceNotConfigured', 'PGFERRY_SECRET_KEY is not set, so passwords cannot be stored safely; set it (base64 of 32 random bytes, e.g. `openssl rand -base64 32`) and retry');
  }
  return { current: ctx.settings.secretKey, ...(ctx.keys.previous ? { previous: ctx.keys.previous } : {}) };
}
