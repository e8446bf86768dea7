/**
 * Activity execution: in worker processes (workers/), each invocation on a worker chosen at random,
 * with host.json's maxConcurrentActivityFunctions as the bound and functionTimeout as the limit of
 * one invocation. An activity's answer is the history event the orchestration gets: TaskCompleted
 * with its JSON result, or TaskFailed with Reason/Details and FailureDetails (so the orchestrator
 * catches a TaskFailedError). Inputs and results are never logged.
 *
 * A test hook runs the invocations of chosen activities twice at once on two workers, as when a
 * lease expires and Azure delivers the work item again; the first answer is the one delivered.
 */
import type { RpcTypedData } from './core-types';
import { history, type Failure, type FailureDetailsDto, type HistoryEvent } from './durable/history';
import { performance } from 'node:perf_hooks';
import { InvocationError, type Invoker } from './invoker';
import { errorMessage, type Logger } from './log';
import type { Registry } from './registry';
import { Semaphore } from './semaphore';
import type { WorkerPool } from './workers/pool';

export interface ActivityJob {
  instanceId: string;
  executionId: string;
  seq: number;
  name: string;
  /** JSON text; absent when the orchestrator passed none. */
  input?: string;
}

export type ActivityDone = (job: ActivityJob, event: HistoryEvent) => Promise<void>;

/** The JSON the SDK's wrapper puts in error.message when an ExceptionPropertiesProvider is set. */
interface ProviderPayload {
  errorType?: unknown;
  errorMessage?: unknown;
  stackTrace?: unknown;
  isNonRetriable?: unknown;
  properties?: unknown;
}

function providerPayload(message: string): ProviderPayload | undefined {
  if (!message.startsWith('{')) return undefined;
  try {
    const p = JSON.parse(message) as ProviderPayload;
    return typeof p.errorType === 'string' && typeof p.errorMessage === 'string' ? p : undefined;
  } catch {
    return undefined;
  }
}

export function activityFailure(name: string, err: unknown): Failure {
  const message = errorMessage(err);
  const stack = err instanceof Error ? err.stack : undefined;
  const p = providerPayload(message);
  const details: FailureDetailsDto = p
    ? {
        ErrorType: String(p.errorType),
        ErrorMessage: String(p.errorMessage),
        StackTrace: typeof p.stackTrace === 'string' ? p.stackTrace : stack,
        IsNonRetriable: p.isNonRetriable === true,
        Properties: typeof p.properties === 'object' && p.properties !== null ? (p.properties as Record<string, unknown>) : undefined,
      }
    : { ErrorType: err instanceof Error ? err.name : 'Error', ErrorMessage: message, StackTrace: stack, IsNonRetriable: false };
  return {
    reason: `Activity function '${name}' failed: ${details.ErrorMessage}`,
    details: JSON.stringify({ Message: details.ErrorMessage, StackTrace: details.StackTrace ?? null }),
    failureDetails: details,
  };
}

/**
 * Runs one activity invocation through the app's programming model and turns its end into the
 * history event the orchestration gets. Runs in a worker process (workers/worker.ts).
 */
export async function runActivity(registry: Registry, invoker: Invoker, log: Logger, job: ActivityJob, clientBinding?: () => unknown): Promise<HistoryEvent> {
  const at = () => new Date().toISOString();
  const fn = registry.activities.get(job.name.toLowerCase());
  if (!fn) {
    const msg = `The function '${job.name}' doesn't exist, is disabled, or is not an activity function.`;
    return history.taskFailed(at(), job.seq, {
      reason: msg,
      details: msg,
      failureDetails: { ErrorType: 'FunctionFailedException', ErrorMessage: msg, IsNonRetriable: true },
    });
  }
  const data: RpcTypedData = { json: job.input ?? 'null' };
  try {
    const inputData = [{ name: fn.triggerName, data }];
    for (const name of fn.clientBindings) {
      if (!clientBinding) throw new Error(`activity '${fn.name}' declares a durableClient input, which this host was not given`);
      inputData.push({ name, data: { json: JSON.stringify(clientBinding()) } });
    }
    const out = await invoker.invoke({
      fn,
      inputData,
      triggerMetadata: { instanceId: { json: JSON.stringify(job.instanceId) }, data },
    });
    log.invocation({ name: fn.name, invocationId: out.invocationId, instanceId: job.instanceId, ms: out.ms, ok: true });
    try {
      return history.taskCompleted(at(), job.seq, JSON.stringify(out.result) ?? 'null');
    } catch (e) {
      return history.taskFailed(at(), job.seq, activityFailure(job.name, new Error(`its result is not JSON-serializable: ${errorMessage(e)}`)));
    }
  } catch (e) {
    const cause = e instanceof InvocationError ? e.cause : e;
    if (e instanceof InvocationError) {
      log.invocation({ name: fn.name, invocationId: e.invocationId, instanceId: job.instanceId, ms: e.ms, ok: false });
    }
    log.error(`Activity '${fn.name}' (instance ${job.instanceId}) failed`, cause);
    return history.taskFailed(at(), job.seq, activityFailure(fn.name, cause));
  }
}

export interface ActivityPoolOptions {
  /** host.json maxConcurrentActivityFunctions. */
  limit: number;
  workers: WorkerPool;
  log: Logger;
  /** host.json functionTimeout in ms; undefined: no limit. */
  functionTimeoutMs?: number;
  /** Activity names (any case) whose invocations run twice at once (a redelivered lease). */
  deliverTwice?: readonly string[];
  /** How long stopped workers may take to run appTerminate and exit. */
  workerStopMs?: number;
}

/** How long one activity function's runs took (first answer), for benchmarks. */
export interface ActivityTiming {
  count: number;
  totalMs: number;
  maxMs: number;
  /** Epoch ms when the first run started and the last run answered: the function's span in a run. */
  firstStartedAt: number;
  lastEndedAt: number;
}

export class ActivityPool {
  /** Per activity name, since the pool started. */
  readonly timings: Record<string, ActivityTiming> = {};
  private readonly slots: Semaphore;
  private readonly running = new Set<Promise<void>>();
  private readonly twice: Set<string>;
  private stopped = false;

  constructor(private readonly o: ActivityPoolOptions) {
    this.slots = new Semaphore(o.limit);
    this.twice = new Set((o.deliverTwice ?? []).map((n) => n.toLowerCase()));
  }

  get active(): number {
    return this.slots.running;
  }

  /** Queues a job; `done` receives its answer (not called once the pool stopped). */
  schedule(job: ActivityJob, done: ActivityDone): void {
    const p = this.slots
      .run(async () => {
        if (this.stopped) return;
        await this.execute(job, done);
      })
      .catch((e: unknown) => this.o.log.error(`activity '${job.name}' of ${job.instanceId}: delivering its result failed`, e))
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Starts no more queued jobs; waits up to `ms` for running ones, then stops the workers. */
  async drain(ms: number): Promise<void> {
    this.stopped = true;
    const all = Promise.allSettled([...this.running]);
    await Promise.race([all, new Promise((r) => setTimeout(r, ms).unref())]);
    await this.o.workers.stop(this.o.workerStopMs ?? 2000);
  }

  private async execute(job: ActivityJob, done: ActivityDone): Promise<void> {
    const twice = this.twice.has(job.name.toLowerCase());
    let workers;
    try {
      workers = await this.o.workers.pick(twice ? 2 : 1);
    } catch {
      return; // the host is stopping: the job runs again on the next start
    }
    const startedAt = Date.now();
    const started = performance.now();
    const runs = workers.map((w) => w.invoke(job, this.o.functionTimeoutMs));
    if (runs.length > 1) {
      const pids = workers.map((w) => w.child.pid ?? '?').join(' and ');
      this.o.log.info(`delivering '${job.name}' (instance ${job.instanceId}, task ${job.seq}) twice at once, to workers ${pids}; the first answer counts`);
    }
    const answer = await Promise.race(runs);
    this.time(job.name, startedAt, performance.now() - started);
    await done(job, answer);
    // A redelivered copy holds its slot until it ends, as it would hold a worker in Azure.
    await Promise.all(runs);
  }

  private time(name: string, startedAt: number, ms: number): void {
    const t = (this.timings[name] ??= { count: 0, totalMs: 0, maxMs: 0, firstStartedAt: startedAt, lastEndedAt: 0 });
    t.count++;
    t.firstStartedAt = Math.min(t.firstStartedAt, startedAt);
    t.lastEndedAt = Math.max(t.lastEndedAt, Date.now());
    t.totalMs += ms;
    t.maxMs = Math.max(t.maxMs, ms);
  }
}
