/**
 * Activities called through the contract (shared/steps/contracts.ts): the input is checked against
 * the activity's input type, and the yielded result comes back as its output type. This is the one
 * place where a value from Durable's history gets its type back; orchestrators hold no casts.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { ACTIVITIES, type ActivityInput, type ActivityKey, type ActivityOutput } from '../shared/steps/contracts';
import { transientRetry } from './retry';

/** A scheduled activity whose result is T (the type is the contract's; Durable's Task is untyped). */
export type ActivityTask<T> = Task & { readonly __output?: T };

export type Call = <K extends ActivityKey>(activity: K, input: ActivityInput<K>) => ActivityTask<ActivityOutput<K>>;

/** Schedules activities of this orchestration with the transient-fault retry policy. */
export function activityCaller(context: OrchestrationContext): Call {
  const retry = transientRetry();
  return (activity, input) => context.df.callActivityWithRetry(ACTIVITIES[activity], retry, input);
}

/** Waits for one task and returns its typed result: `const r = yield* run(call('planCopy', key))`. */
export function* run<T>(task: ActivityTask<T>): Generator<Task, T, unknown> {
  yield task;
  return outputOf(task);
}

/** The result of a task that has completed (after Task.any / Task.all returned it). */
export function outputOf<T>(task: ActivityTask<T>): T {
  return task.result as T;
}
