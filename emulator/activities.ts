/**
 * Activity execution with host.json's maxConcurrentActivityFunctions as the bound. An activity's
 * answer is the history event the orchestration gets: TaskCompleted with its JSON result, or
 * TaskFailed with Reason/Details and FailureDetails (so the orchestrator catches a
 * TaskFailedError). Inputs and results are never logged.
 */
import type { RpcTypedData } from './core-types';
import { history, type Failure, type FailureDetailsDto, type HistoryEvent } from './durable/history';
import { InvocationError, type Invoker } from './invoker';
import { errorMessage, type Logger } from './log';
import type { Registry } from './registry';
import { Semaphore } from './semaphore';

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

export class ActivityPool {
  private readonly slots: Semaphore;
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    limit: number,
    private readonly registry: Registry,
    private readonly invoker: Invoker,
    private readonly log: Logger,
    /** The durableClient binding value for activities that declare one (as Azure supplies it). */
    private readonly clientBinding?: () => unknown,
  ) {
    this.slots = new Semaphore(limit);
  }

  get active(): number {
    return this.slots.running;
  }

  /** Queues a job; `done` receives its answer (not called once the pool stopped). */
  schedule(job: ActivityJob, done: ActivityDone): void {
    const p = this.slots
      .run(async () => {
        if (this.stopped) return;
        const event = await this.execute(job);
        await done(job, event);
      })
      .catch((e: unknown) => this.log.error(`activity '${job.name}' of ${job.instanceId}: delivering its result failed`, e))
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Starts no more queued jobs; waits up to `ms` for running ones. */
  async drain(ms: number): Promise<void> {
    this.stopped = true;
    const all = Promise.allSettled([...this.running]);
    await Promise.race([all, new Promise((r) => setTimeout(r, ms).unref())]);
  }

  private async execute(job: ActivityJob): Promise<HistoryEvent> {
    const at = () => new Date().toISOString();
    const fn = this.registry.activities.get(job.name.toLowerCase());
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
        if (!this.clientBinding) throw new Error(`activity '${fn.name}' declares a durableClient input, which this host was not given`);
        inputData.push({ name, data: { json: JSON.stringify(this.clientBinding()) } });
      }
      const out = await this.invoker.invoke({
        fn,
        inputData,
        triggerMetadata: { instanceId: { json: JSON.stringify(job.instanceId) }, data },
      });
      this.log.invocation({ name: fn.name, invocationId: out.invocationId, instanceId: job.instanceId, ms: out.ms, ok: true });
      try {
        return history.taskCompleted(at(), job.seq, JSON.stringify(out.result) ?? 'null');
      } catch (e) {
        return history.taskFailed(at(), job.seq, activityFailure(job.name, new Error(`its result is not JSON-serializable: ${errorMessage(e)}`)));
      }
    } catch (e) {
      const cause = e instanceof InvocationError ? e.cause : e;
      if (e instanceof InvocationError) {
        this.log.invocation({ name: fn.name, invocationId: e.invocationId, instanceId: job.instanceId, ms: e.ms, ok: false });
      }
      this.log.error(`Activity '${fn.name}' (instance ${job.instanceId}) failed`, cause);
      return history.taskFailed(at(), job.seq, activityFailure(fn.name, cause));
    }
  }
}
