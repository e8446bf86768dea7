/**
 * Durable Task history events in the JSON shape durable-functions replays (PascalCase, numeric
 * EventType). The SDK reads only a few fields of a few types (spec §2); the others are recorded
 * for showHistory and for a faithful log of what happened.
 */

export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
  GenericEvent: 17,
  HistoryState: 18,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;
export type EventTypeNumber = (typeof EventType)[keyof typeof EventType];

export const EVENT_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(EventType).map(([name, n]) => [n, name]),
);

/** DurableTask.Core FailureDetails as the SDK's TaskFailedError reads it. */
export interface FailureDetailsDto {
  ErrorType: string;
  ErrorMessage: string;
  StackTrace?: string;
  IsNonRetriable?: boolean;
  Properties?: Record<string, unknown>;
  InnerFailure?: FailureDetailsDto;
}

/** Why a task, sub-orchestration or orchestration failed, in the three forms history carries. */
export interface Failure {
  reason: string;
  details: string;
  failureDetails: FailureDetailsDto;
}

export interface HistoryEvent {
  EventType: EventTypeNumber;
  /** The sequence number for scheduling events (TaskScheduled, TimerCreated, …), else -1. */
  EventId: number;
  IsPlayed: boolean;
  /** ISO-8601; the SDK turns it into a Date, and OrchestratorStarted's drives the clock. */
  Timestamp: string;
  Name?: string;
  /** JSON text (absent = undefined input). */
  Input?: string;
  Version?: string;
  /** JSON text of a task or orchestration result. */
  Result?: string;
  TaskScheduledId?: number;
  TimerId?: number;
  FireAt?: string;
  Reason?: string;
  Details?: string;
  FailureDetails?: FailureDetailsDto;
  InstanceId?: string;
  OrchestrationStatus?: string;
  OrchestrationInstance?: { InstanceId: string; ExecutionId: string };
  ParentInstance?: { OrchestrationInstance: { InstanceId: string; ExecutionId: string }; TaskScheduleId: number };
}

function ev(type: EventTypeNumber, at: string, fields: Partial<HistoryEvent> = {}, eventId = -1): HistoryEvent {
  return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: at, ...fields };
}

export const history = {
  orchestratorStarted: (at: string) => ev(EventType.OrchestratorStarted, at),
  orchestratorCompleted: (at: string) => ev(EventType.OrchestratorCompleted, at),
  executionStarted: (at: string, f: { name: string; instanceId: string; executionId: string; input?: string; version?: string; parent?: { instanceId: string; executionId: string; taskScheduledId: number } }) =>
    ev(EventType.ExecutionStarted, at, {
      Name: f.name,
      Input: f.input,
      Version: f.version ?? '',
      OrchestrationInstance: { InstanceId: f.instanceId, ExecutionId: f.executionId },
      ParentInstance: f.parent && {
        OrchestrationInstance: { InstanceId: f.parent.instanceId, ExecutionId: f.parent.executionId },
        TaskScheduleId: f.parent.taskScheduledId,
      },
    }),
  taskScheduled: (at: string, seq: number, name: string, input?: string) => ev(EventType.TaskScheduled, at, { Name: name, Input: input }, seq),
  taskCompleted: (at: string, seq: number, result: string) => ev(EventType.TaskCompleted, at, { TaskScheduledId: seq, Result: result }),
  taskFailed: (at: string, seq: number, f: Failure) =>
    ev(EventType.TaskFailed, at, { TaskScheduledId: seq, Reason: f.reason, Details: f.details, FailureDetails: f.failureDetails }),
  subOrchestrationCreated: (at: string, seq: number, name: string, instanceId: string, input?: string) =>
    ev(EventType.SubOrchestrationInstanceCreated, at, { Name: name, InstanceId: instanceId, Input: input }, seq),
  subOrchestrationCompleted: (at: string, seq: number, result: string) =>
    ev(EventType.SubOrchestrationInstanceCompleted, at, { TaskScheduledId: seq, Result: result }),
  subOrchestrationFailed: (at: string, seq: number, f: Failure) =>
    ev(EventType.SubOrchestrationInstanceFailed, at, { TaskScheduledId: seq, Reason: f.reason, Details: f.details, FailureDetails: f.failureDetails }),
  timerCreated: (at: string, seq: number, fireAt: string) => ev(EventType.TimerCreated, at, { FireAt: fireAt }, seq),
  timerFired: (at: string, seq: number, fireAt: string) => ev(EventType.TimerFired, at, { TimerId: seq, FireAt: fireAt }),
  eventRaised: (at: string, name: string, input?: string) => ev(EventType.EventRaised, at, { Name: name, Input: input }),
  executionCompleted: (at: string, status: 'Completed' | 'Failed', result?: string, f?: Failure) =>
    ev(EventType.ExecutionCompleted, at, { OrchestrationStatus: status, Result: result, FailureDetails: f?.failureDetails }),
  executionTerminated: (at: string, reason?: string) => ev(EventType.ExecutionTerminated, at, { Input: reason }),
  continueAsNew: (at: string, input?: string) => ev(EventType.ContinueAsNew, at, { Result: input }),
};

/** The sequence number a completion event answers, or undefined for other events. */
export function completedSeq(e: HistoryEvent): number | undefined {
  switch (e.EventType) {
    case EventType.TaskCompleted:
    case EventType.TaskFailed:
    case EventType.SubOrchestrationInstanceCompleted:
    case EventType.SubOrchestrationInstanceFailed:
      return e.TaskScheduledId;
    case EventType.TimerFired:
      return e.TimerId;
    default:
      return undefined;
  }
}

export function isFailureEvent(e: HistoryEvent): boolean {
  return e.EventType === EventType.TaskFailed || e.EventType === EventType.SubOrchestrationInstanceFailed;
}
