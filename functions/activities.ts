/**
 * Activity registrations: each adapts one shared/flow step to Durable Functions. Inputs are keys
 * (never secrets); steps read credentials from shared/secrets themselves. Names are the constants
 * the orchestrators call. Every invocation logs one structured line (shared/log): the migration,
 * database and phase, how long it took, and how it ended.
 */
import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ACTIVITIES } from '../shared/flow/names';
import { runtime, type Runtime } from '../shared/flow/runtime';
import * as migration from '../shared/flow/migration-steps';
import * as database from '../shared/flow/database-steps';
import { Logger, type LogFields } from '../shared/log';
import { contextSink } from './respond';

/** Where an activity works, from its input (keys only; anything else in the input is not logged). */
export function activityFields(name: string, input: unknown): LogFields {
  const i = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const fields: LogFields = { phase: typeof i.phase === 'string' ? `${name}:${i.phase}` : name };
  if (str(i.server) !== undefined && str(i.name) !== undefined) fields.migration = `${str(i.server)}/${str(i.name)}`;
  if (str(i.db) !== undefined) fields.database = str(i.db);
  if (typeof i.chunk === 'number') fields.chunk = i.chunk;
  if (str(i.table) !== undefined) fields.table = str(i.table);
  return fields;
}

/** The failure of a Result-returning step ({ ok: false, failure }), if that is what it returned. */
function failureOf(out: unknown): { message?: unknown; context?: unknown } | undefined {
  if (typeof out !== 'object' || out === null || (out as { ok?: unknown }).ok !== false) return undefined;
  const f = (out as { failure?: unknown }).failure;
  return typeof f === 'object' && f !== null ? (f as { message?: unknown; context?: unknown }) : {};
}

/** Registers `name` to run `step` with the runtime; the input is trusted (it came from our orchestrator). */
function activity<I, O>(name: string, step: (rt: Runtime, input: I) => Promise<O>): void {
  df.app.activity(name, {
    handler: async (input: unknown, context: InvocationContext): Promise<O> => {
      const log = new Logger(contextSink(context), { ...activityFields(name, input), invocationId: context.invocationId });
      const started = Date.now();
      try {
        const out = await step(await runtime(), input as I);
        const failure = failureOf(out);
        if (failure) log.warn(`${name} failed`, { durationMs: Date.now() - started, outcome: 'failed', error: String(failure.message ?? 'failed'), failure: failure.context });
        else log.info(`${name} done`, { durationMs: Date.now() - started, outcome: 'ok' });
        return out;
      } catch (err) {
        log.error(`${name} threw (the orchestrator retries or fails the step)`, { durationMs: Date.now() - started, outcome: 'threw', error: err });
        throw err;
      }
    },
  });
}

activity(ACTIVITIES.setMigrationState, migration.setMigrationState);
activity(ACTIVITIES.checkPrerequisites, migration.checkPrerequisites);
activity(ACTIVITIES.validate, migration.runValidation);
activity(ACTIVITIES.migrateRoles, migration.migrateRoles);
activity(ACTIVITIES.applyDatabaseRoles, migration.applyDatabaseRoles);
activity(ACTIVITIES.recordControl, migration.recordControl);
activity(ACTIVITIES.markCaughtUp, migration.markCaughtUp);
activity(ACTIVITIES.finishMigration, migration.finishMigration);

activity(ACTIVITIES.prepareTargetDatabase, database.prepareTargetDatabase);
activity(ACTIVITIES.createSlot, database.createSlot);
activity(ACTIVITIES.applySchema, database.applySchema);
activity(ACTIVITIES.planCopy, database.planCopy);
activity(ACTIVITIES.copyChunk, database.copyChunk);
activity(ACTIVITIES.buildTableIndexes, database.buildTableIndexes);
activity(ACTIVITIES.finishCopy, database.finishCopy);
activity(ACTIVITIES.applyBatch, database.applyBatch);
activity(ACTIVITIES.beginCutover, database.beginCutover);
activity(ACTIVITIES.completeDatabase, database.completeDatabase);
activity(ACTIVITIES.stopDatabase, database.stopDatabase);
