/**
 * The scheduler's bookkeeping for one orchestration execution, and its two pure transitions:
 * before an episode (the ids the SDK allocates while it processes the delivered event: retry
 * back-off timers and next attempts, spec §5 step 3) and after it (ids for the new actions,
 * cancelled timers, continueAsNew; step 4). Keeping these pure keeps the id arithmetic, the part
 * that must match the SDK exactly, testable without a host.
 */
import type { DecodedAction, RetryPolicy } from './actions';
import { EventType, completedSeq, history, isFailureEvent, type Failure, type HistoryEvent } from './history';
import { retryDelayMs, retryTimedOut } from './retry';

export interface RetryState {
  policy: RetryPolicy;
  /** 1-based number of the attempt this task is. */
  attempt: number;
  firstAttemptAt: string;
}

export interface ActivityTask {
  kind: 'activity';
  seq: number;
  name: string;
  /** JSON text; absent when the orchestrator passed no input. */
  input?: string;
  retry?: RetryState;
}

export interface SubOrchestrationTask {
  kind: 'subOrchestration';
  seq: number;
  name: string;
  instanceId: string;
  /** The orchestrator chose the id, so every retry reuses it; otherwise each attempt gets `<parent>:<seq>`. */
  explicitId: boolean;
  input?: string;
  version?: string;
  retry?: RetryState;
}

export interface TimerTask {
  kind: 'timer';
  seq: number;
  fireAt: string;
  /** Index in the flattened action list, to notice a later `task.cancel()`. */
  actionIndex: number;
}

/** The back-off timer after a failed *WithRetry attempt; when it fires, the next attempt starts. */
export interface RetryTimerTask {
  kind: 'retryTimer';
  seq: number;
  fireAt: string;
  next: Omit<ActivityTask, 'seq'> | Omit<SubOrchestrationTask, 'seq'>;
  /** The failed attempt was the last: the SDK fails the task when this timer fires. */
  exhausted: boolean;
  /**
   * retryTimeout had passed when the attempt failed. The SDK knows nothing of retryTimeout and
   * counts attempts only, so the remaining attempts are allocated and fail at once, unrun.
   */
  timedOut: boolean;
  lastFailure: Failure;
}

export type PendingTask = ActivityTask | SubOrchestrationTask | TimerTask | RetryTimerTask;

export interface ExecutionState {
  executionId: string;
  /** Next sequence number, mirroring the SDK's counter. */
  nextSeq: number;
  /** Flattened actions already turned into work; later episodes re-emit them first. */
  knownActions: number;
  /** Outstanding work keyed by sequence number. */
  pending: Record<string, PendingTask>;
}

/** Work that exists but whose answer is decided without running it. */
export interface ImmediateFailure {
  seq: number;
  kind: 'activity' | 'subOrchestration';
  failure: Failure;
}

export interface PreparedEvent {
  /** A completion nobody waits for any more (cancelled, duplicate, older execution). */
  stale: boolean;
  exec: ExecutionState;
  /** History to record after the delivered event. */
  recorded: HistoryEvent[];
  start: PendingTask[];
  failNow: ImmediateFailure[];
  /** For TimerFired: the episode clock must not be earlier than this. */
  fireAt?: string;
}

export interface AppliedActions {
  exec: ExecutionState;
  recorded: HistoryEvent[];
  start: PendingTask[];
  /** Sequence numbers of timers the orchestrator cancelled. */
  cancel: number[];
  continueAsNew?: { input?: string };
  /** The first action this host cannot run, e.g. "callEntity". */
  unsupported?: string;
}

export function newExecution(executionId: string): ExecutionState {
  return { executionId, nextSeq: 0, knownActions: 0, pending: {} };
}

function clone(exec: ExecutionState): ExecutionState {
  return { ...exec, pending: { ...exec.pending } };
}

function matches(task: PendingTask, e: HistoryEvent): boolean {
  switch (e.EventType) {
    case EventType.TaskCompleted:
    case EventType.TaskFailed:
      return task.kind === 'activity';
    case EventType.SubOrchestrationInstanceCompleted:
    case EventType.SubOrchestrationInstanceFailed:
      return task.kind === 'subOrchestration';
    case EventType.TimerFired:
      return task.kind === 'timer' || task.kind === 'retryTimer';
    default:
      return false;
  }
}

export function failureOf(e: HistoryEvent): Failure {
  return {
    reason: e.Reason ?? 'failed',
    details: e.Details ?? '',
    failureDetails: e.FailureDetails ?? { ErrorType: 'Error', ErrorMessage: e.Reason ?? 'failed' },
  };
}

/** Child instance id of an attempt: the orchestrator's, or deterministic from the parent. */
export function childInstanceId(parentId: string, seq: number, explicit?: string): string {
  return explicit ?? `${parentId}:${seq}`;
}

function scheduledEvent(at: string, t: ActivityTask | SubOrchestrationTask): HistoryEvent {
  return t.kind === 'activity'
    ? history.taskScheduled(at, t.seq, t.name, t.input)
    : history.subOrchestrationCreated(at, t.seq, t.name, t.instanceId, t.input);
}

export function prepareEvent(exec: ExecutionState, event: HistoryEvent, instanceId: string, now: Date): PreparedEvent {
  const at = now.toISOString();
  const out: PreparedEvent = { stale: false, exec: clone(exec), recorded: [], start: [], failNow: [] };
  const seq = completedSeq(event);
  if (seq === undefined) return out;
  const task = exec.pending[String(seq)];
  if (!task || !matches(task, event)) return { ...out, stale: true, exec };
  const next = out.exec;
  delete next.pending[String(seq)];
  if (event.EventType === EventType.TimerFired) out.fireAt = event.FireAt;

  if (isFailureEvent(event) && (task.kind === 'activity' || task.kind === 'subOrchestration') && task.retry) {
    const { policy, attempt } = task.retry;
    const timedOut = retryTimedOut(policy, task.retry.firstAttemptAt, now);
    const delay = timedOut ? 0 : retryDelayMs(policy, attempt);
    const { seq: _omit, ...rest } = task;
    const timer: RetryTimerTask = {
      kind: 'retryTimer',
      seq: next.nextSeq++,
      fireAt: new Date(now.getTime() + delay).toISOString(),
      next: { ...rest, retry: { ...task.retry, attempt: attempt + 1 } },
      exhausted: attempt >= policy.maxNumberOfAttempts,
      timedOut,
      lastFailure: failureOf(event),
    };
    next.pending[String(timer.seq)] = timer;
    out.recorded.push(history.timerCreated(at, timer.seq, timer.fireAt));
    out.start.push(timer);
  }

  if (task.kind === 'retryTimer' && !task.exhausted) {
    const s = next.nextSeq++;
    const attempt: ActivityTask | SubOrchestrationTask =
      task.next.kind === 'activity'
        ? { ...task.next, seq: s }
        : { ...task.next, seq: s, instanceId: task.next.explicitId ? task.next.instanceId : childInstanceId(instanceId, s) };
    next.pending[String(s)] = attempt;
    out.recorded.push(scheduledEvent(at, attempt));
    if (task.timedOut) {
      out.failNow.push({ seq: s, kind: attempt.kind, failure: task.lastFailure });
    } else {
      out.start.push(attempt);
    }
  }
  return out;
}

export function applyActions(exec: ExecutionState, actions: DecodedAction[], instanceId: string, now: Date): AppliedActions {
  const at = now.toISOString();
  const next = clone(exec);
  const out: AppliedActions = { exec: next, recorded: [], start: [], cancel: [] };
  actions.forEach((a, index) => {
    if (index < exec.knownActions) {
      if (a.type === 'timer' && a.canceled) {
        for (const t of Object.values(next.pending)) {
          if (t.kind === 'timer' && t.actionIndex === index) {
            delete next.pending[String(t.seq)];
            out.cancel.push(t.seq);
          }
        }
      }
      return;
    }
    switch (a.type) {
      case 'activity':
      case 'subOrchestration': {
        const seq = next.nextSeq++;
        const retry = a.retry ? { policy: a.retry, attempt: 1, firstAttemptAt: at } : undefined;
        const task: ActivityTask | SubOrchestrationTask =
          a.type === 'activity'
            ? { kind: 'activity', seq, name: a.name, input: a.input, retry }
            : {
                kind: 'subOrchestration',
                seq,
                name: a.name,
                instanceId: childInstanceId(instanceId, seq, a.instanceId),
                explicitId: a.instanceId !== undefined,
                input: a.input,
                version: a.version,
                retry,
              };
        next.pending[String(seq)] = task;
        out.recorded.push(scheduledEvent(at, task));
        out.start.push(task);
        break;
      }
      case 'timer': {
        const seq = next.nextSeq++;
        out.recorded.push(history.timerCreated(at, seq, a.fireAt));
        if (a.canceled) break;
        const timer: TimerTask = { kind: 'timer', seq, fireAt: a.fireAt, actionIndex: index };
        next.pending[String(seq)] = timer;
        out.start.push(timer);
        break;
      }
      case 'continueAsNew':
        out.continueAsNew = { input: a.input };
        break;
      case 'unsupported':
        out.unsupported ??= a.what;
        break;
      case 'waitForEvent':
        break;
    }
  });
  next.knownActions = Math.max(exec.knownActions, actions.length);
  return out;
}
