/**
 * Activity registrations: each adapts one shared/steps step to Durable Functions, from one table
 * typed by the contract (shared/steps/contracts.ts), so a step whose input or output drifts from
 * what the orchestrators send and expect does not compile. Inputs are keys
 * (never secrets); steps read credentials from shared/secrets themselves. Names are the constants
 * the orchestrators call. Every invocation logs one structured line (shared/log): the migration,
 * database and phase, how long it took, and how it ended.
 */
import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ACTIVITIES, type ActivityContracts, type ActivityInput, type ActivityKey, type ActivityOutput } from '../shared/steps/contracts';
import { runtime, type Runtime } from '../shared/steps/runtime';
import * as migration from '../shared/steps/migration';
import { prepareTargetDatabase } from '../shared/steps/target-database';
import { createSlot } from '../shared/steps/slot';
import { applySchema, buildGroupIndexes, buildTableIndexes } from '../shared/steps/schema';
import { copyChunk, finishCopy, planCopy } from '../shared/steps/copy';
import { applyBatch } from '../shared/steps/cdc';
import { beginCutover } from '../shared/steps/cutover';
import { completeDatabase, stopDatabase, verifyTables } from '../shared/steps/complete';
import { verifyAhead } from '../shared/steps/ahead';
import { databaseFinished, startDatabases, stopDatabases, watchDatabases } from '../shared/steps/watch';
import { openDataMigration } from '../shared/steps/gate';
import { prepareReverse } from '../shared/steps/reverse-slot';
import { applyReverse, noteReverse, openReverse } from '../shared/steps/reverse';
import { beginFallback, completeFallback, endReverse, fallbackFailed, verifyFallback } from '../shared/steps/fallback';
import { beginReverse, finishReverse, recordFallbackControl, watchReverse } from '../shared/steps/reverse-watch';
import type { OrchestrationPort } from '../shared/steps/port';
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
  if (typeof i.unit === 'number') fields.unit = i.unit;
  if (str(i.table) !== undefined) fields.table = str(i.table);
  return fields;
}

/** The failure of a Result-returning step ({ ok: false, failure }), if that is what it returned. */
function failureOf(out: unknown): { message?: unknown; context?: unknown } | undefined {
  if (typeof out !== 'object' || out === null || (out as { ok?: unknown }).ok !== false) return undefined;
  const f = (out as { failure?: unknown }).failure;
  return typeof f === 'object' && f !== null ? (f as { message?: unknown; context?: unknown }) : {};
}

/** The Durable client as the steps see it (only the watch steps use it). */
function portOf(context: InvocationContext): OrchestrationPort {
  const client = df.getClient(context);
  return {
    async start(name, instanceId, input) {
      await client.startNew(name, { instanceId, input });
    },
    async raiseEvent(instanceId, event, data) {
      await client.raiseEvent(instanceId, event, data).catch((err: unknown) => {
        // A finished or missing instance needs no wake-up.
        if (!/\b(404|410)\b/.test(err instanceof Error ? err.message : String(err))) throw err;
      });
    },
    async status(instanceId) {
      try {
        const s = await client.getStatus(instanceId);
        return { runtimeStatus: String(s.runtimeStatus), output: s.output, input: s.input };
      } catch (err) {
        if (/\b404\b/.test(err instanceof Error ? err.message : String(err))) return undefined;
        throw err;
      }
    },
  };
}

/** Registers `name` to run `step` with the runtime; the input is trusted (it came from our orchestrator). */
function activity<I, O>(name: string, step: (rt: Runtime, input: I, port: OrchestrationPort) => Promise<O>): void {
  df.app.activity(name, {
    extraInputs: [df.input.durableClient()],
    handler: async (input: unknown, context: InvocationContext): Promise<O> => {
      const log = new Logger(contextSink(context), { ...activityFields(name, input), invocationId: context.invocationId });
      const started = Date.now();
      try {
        const out = await step(await runtime(), input as I, portOf(context));
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

type Step<K extends ActivityKey> = (rt: Runtime, input: ActivityInput<K>, port: OrchestrationPort) => Promise<ActivityOutput<K>>;

/** Every activity's step, in the order the orchestrators call them. */
const STEPS: { [K in ActivityKey]: Step<K> } = {
  setMigrationState: migration.setMigrationState,
  checkPrerequisites: migration.checkPrerequisites,
  validate: migration.runValidation,
  openDataMigration,
  migrateRoles: migration.migrateRoles,
  applyDatabaseRoles: migration.applyDatabaseRoles,
  recordControl: migration.recordControl,
  startDatabases,
  watchDatabases,
  databaseFinished,
  stopDatabases,
  prepareTargetDatabase,
  createSlot,
  applySchema,
  planCopy,
  copyChunk,
  buildTableIndexes,
  buildGroupIndexes,
  finishCopy,
  applyBatch,
  markCaughtUp: migration.markCaughtUp,
  beginCutover,
  verifyTables,
  verifyAhead,
  completeDatabase,
  stopDatabase,
  finishMigration: migration.finishMigration,
  prepareReverse,
  beginReverse,
  watchReverse,
  recordFallbackControl,
  finishReverse,
  openReverse,
  applyReverse,
  beginFallback,
  verifyFallback,
  completeFallback,
  fallbackFailed,
  noteReverse,
  endReverse,
};

function register<K extends ActivityKey>(key: K): void {
  activity(ACTIVITIES[key], STEPS[key]);
}

for (const key of Object.keys(STEPS) as Array<keyof ActivityContracts>) register(key);
