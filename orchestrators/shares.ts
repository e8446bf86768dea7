/**
 * Work in time-bounded shares: each activity does what fits its budget and says whether more is
 * left, so no activity outlives functionTimeout whatever the number of tables or objects. A share
 * resumes where the last stopped (schema objects that exist are recognised; verification resumes
 * at the next table).
 */
import type { Task } from 'durable-functions';
import type { DatabaseKey, Result, SchemaPhase, VerifyProgress } from '../shared/steps/contracts';
import { run, type Call } from './activity';

/** Every table's row count and checksum compared, from the first table on. */
export function* verifyAllTables(call: Call, key: DatabaseKey): Generator<Task, Result<null>, unknown> {
  for (let from: number | null = 0; from !== null; ) {
    const r: Result<VerifyProgress> = yield* run(call('verifyTables', { ...key, from }));
    if (!r.ok) return r;
    from = r.value.next;
  }
  return { ok: true, value: null };
}

/** A schema phase applied whole, share by share. */
export function* applySchemaPhase(call: Call, key: DatabaseKey, phase: SchemaPhase): Generator<Task, Result<null>, unknown> {
  for (;;) {
    const r = yield* run(call('applySchema', { ...key, phase }));
    if (!r.ok) return r;
    if (!r.value.more) return { ok: true, value: null };
  }
}
