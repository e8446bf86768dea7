/**
 * What an episode's outcome does to an instance: the next record, the history to record, the
 * work to start. Pure, like state.ts, so the engine only sequences I/O around it.
 */
import type { EpisodeOutcome } from './episode';
import { history, type Failure, type FailureDetailsDto, type HistoryEvent } from './history';
import { isTerminal, type InstanceRecord } from './model';
import { applyActions, newExecution, type PendingTask, type PreparedEvent } from './state';

export interface Settled {
  record: InstanceRecord;
  /** Full episode history (OrchestratorStarted … OrchestratorCompleted), marked played. */
  recorded: HistoryEvent[];
  start: PendingTask[];
  cancel: number[];
  /** Set when the orchestration continued as new: the record is already the new execution's. */
  continuedAsNew: boolean;
}

export function failureWith(type: string, message: string, inner?: FailureDetailsDto): Failure {
  return { reason: message, details: message, failureDetails: { ErrorType: type, ErrorMessage: message, InnerFailure: inner } };
}

const played = (events: HistoryEvent[]) => events.map((e) => ({ ...e, IsPlayed: true }));

/**
 * @param fresh the OrchestratorStarted and delivered event the episode ran with
 * @param newExecutionId used only if the orchestration continues as new
 */
export function settleEpisode(
  rec: InstanceRecord,
  prep: PreparedEvent,
  outcome: EpisodeOutcome,
  fresh: HistoryEvent[],
  clock: string,
  newExecutionId: string,
): Settled {
  const now = new Date().toISOString();
  const recorded = [...fresh, ...prep.recorded];
  let next: InstanceRecord = { ...rec, exec: prep.exec, clock, lastUpdatedTime: now, episodes: rec.episodes + 1, status: 'Running' };
  let start: PendingTask[] = prep.start;
  let cancel: number[] = [];
  let result = outcome;
  if (result.kind !== 'failed') {
    next.customStatus = result.customStatus;
    const applied = applyActions(prep.exec, result.actions, rec.instanceId, new Date(clock));
    if (applied.unsupported) {
      result = { kind: 'failed', error: `${applied.unsupported} is not supported by the offline host` };
    } else {
      next.exec = applied.exec;
      recorded.push(...applied.recorded);
      start = [...start, ...applied.start];
      cancel = applied.cancel;
      if (result.kind === 'done' && applied.continueAsNew) {
        const record: InstanceRecord = {
          ...next,
          status: 'ContinuedAsNew',
          input: applied.continueAsNew.input,
          output: undefined,
          failure: undefined,
          exec: newExecution(newExecutionId),
          episodes: 0,
        };
        return { record, recorded: [], start: [], cancel: [], continuedAsNew: true };
      }
    }
  }
  if (result.kind === 'failed') {
    const failure = result.nonDeterministic
      ? failureWith('NonDeterministicOrchestrationException', result.error)
      : failureWith('OrchestrationFailure', `Orchestrator function '${rec.name}' failed: ${result.error}`, result.failureDetails);
    if (result.customStatus !== undefined) next.customStatus = result.customStatus;
    next = { ...next, status: 'Failed', output: JSON.stringify(failure.reason), failure };
    recorded.push(history.executionCompleted(clock, 'Failed', next.output, failure));
  } else if (result.kind === 'done') {
    next = { ...next, status: 'Completed', output: result.output };
    recorded.push(history.executionCompleted(clock, 'Completed', result.output));
  }
  recorded.push(history.orchestratorCompleted(clock));
  if (isTerminal(next.status)) {
    next.exec = { ...next.exec, pending: {} };
    start = [];
  }
  return { record: next, recorded: played(recorded), start, cancel, continuedAsNew: false };
}

/** Termination: no episode runs (the SDK ignores ExecutionTerminated); output is the reason. */
export function settleTermination(rec: InstanceRecord, terminated: HistoryEvent, clock: string): Settled {
  const reason = terminated.Input ?? '';
  const failure = failureWith('OrchestrationTerminated', `Orchestration '${rec.instanceId}' was terminated: ${reason}`);
  const record: InstanceRecord = {
    ...rec,
    status: 'Terminated',
    output: JSON.stringify(reason),
    failure,
    clock,
    lastUpdatedTime: new Date().toISOString(),
    exec: { ...rec.exec, pending: {} },
    episodes: rec.episodes + 1,
  };
  const recorded = played([history.orchestratorStarted(clock), terminated, history.orchestratorCompleted(clock)]);
  return { record, recorded, start: [], cancel: [], continuedAsNew: false };
}
