/**
 * Verification in bounded shares: each verifyTables activity compares tables until its time budget
 * is spent and says where the next one starts, so no activity outlives functionTimeout whatever
 * the table count. Used by the Offline path and by cutover.
 */
import type { Task } from 'durable-functions';
import type { DatabaseKey, Result, VerifyProgress } from '../shared/steps/contracts';
import { run, type Call } from './activity';

export function* verifyAllTables(call: Call, key: DatabaseKey): Generator<Task, Result<null>, unknown> {
  for (let from: number | null = 0; from !== null; ) {
    const r: Result<VerifyProgress> = yield* run(call('verifyTables', { ...key, from }));
    if (!r.ok) return r;
    from = r.value.next;
  }
  return { ok: true, value: null };
}
