/**
 * Activity registrations: each adapts one shared/flow step to Durable Functions. Inputs are keys
 * (never secrets); steps read credentials from shared/secrets themselves. Names are the constants
 * the orchestrators call.
 */
import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ACTIVITIES } from '../shared/flow/names';
import { runtime, type Runtime } from '../shared/flow/runtime';
import * as migration from '../shared/flow/migration-steps';
import * as database from '../shared/flow/database-steps';

/** Registers `name` to run `step` with the runtime; the input is trusted (it came from our orchestrator). */
function activity<I, O>(name: string, step: (rt: Runtime, input: I) => Promise<O>): void {
  df.app.activity(name, {
    handler: async (input: unknown, context: InvocationContext): Promise<O> => {
      const started = Date.now();
      try {
        return await step(await runtime(), input as I);
      } finally {
        context.log(`${name} took ${Date.now() - started} ms`);
      }
    },
  });
}

activity(ACTIVITIES.setMigrationState, migration.setMigrationState);
activity(ACTIVITIES.checkPrerequisites, migration.checkPrerequisites);
activity(ACTIVITIES.validate, migration.runValidation);
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
