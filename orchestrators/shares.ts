/**
 * Work in time-bounded shares: each activity does what fits its budget and says whether more is
 * left, so no activity outlives functionTimeout whatever the number of tables or objects. A share
 * resumes where the last stopped (schema objects that exist are recognised; verification resumes
 * at the next table).
 */
import type { Task } from 'durable-functions';
import type { DatabaseKey, Result, SchemaPhase, VerifyProgress } from '../shared/steps/contracts';
import { outputOf, run, type ActivityTask, type Call } from './activity';

/** Waits for every task at once (context.df.Task.all). */
export type All = (tasks: Task[]) => Task;

/**
 * Every table's row count and checksum compared, from the first table on. With several lanes,
 * lane k compares tables k, k + lanes, k + 2·lanes … of the plan; the lanes' shares run at once,
 * round by round, so the source and the target are read by `lanes` sessions each. The first
 * failing lane (in lane order) fails the verification.
 */
export function* verifyAllTables(call: Call, all: All, key: DatabaseKey, lanes = 1): Generator<Task, Result<null>, unknown> {
  if (lanes <= 1) {
    for (let from: number | null = 0; from !== null; ) {
      const r: Result<VerifyProgress> = yield* run(call('verifyTables', { ...key, from }));
      if (!r.ok) return r;
      from = r.value.next;
    }
    return { ok: true, value: null };
  }
  let open = [...Array(lanes).keys()].map((lane) => ({ lane, from: 0 }));
  while (open.length > 0) {
    const tasks: Array<ActivityTask<Result<VerifyProgress>>> = open.map((l) => call('verifyTables', { ...key, from: l.from, lane: l.lane, lanes }));
    yield all(tasks);
    const results = tasks.map(outputOf);
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) return failed;
    open = open.flatMap((l, i) => {
      const r = results[i];
      const next = r?.ok ? r.value.next : null;
      return next === null ? [] : [{ lane: l.lane, from: next }];
    });
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
