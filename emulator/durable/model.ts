/** What the host persists about an orchestration instance (one `s` row per instance, store.ts). */
import type { Failure, HistoryEvent } from './history';
import type { ExecutionState } from './state';

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Canceled' | 'Terminated' | 'Suspended';

export const RUNTIME_STATUSES: readonly RuntimeStatus[] = ['Pending', 'Running', 'Completed', 'ContinuedAsNew', 'Failed', 'Canceled', 'Terminated', 'Suspended'];

const TERMINAL = new Set<RuntimeStatus>(['Completed', 'Failed', 'Canceled', 'Terminated']);

export function isTerminal(s: RuntimeStatus): boolean {
  return TERMINAL.has(s);
}

/** Azure's rules for instance ids, which also keep them usable as Table Storage keys. */
export function validInstanceId(id: string): boolean {
  if (id.length < 1 || id.length > 256 || /[/\\#?]/.test(id)) return false;
  return ![...id].some((c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 || (code >= 0x7f && code <= 0x9f);
  });
}

export interface ParentLink {
  instanceId: string;
  /** The parent execution that started the child; a later execution ignores the answer. */
  executionId: string;
  /** Sequence number of the parent's sub-orchestration task. */
  taskScheduledId: number;
}

export interface InstanceRecord {
  instanceId: string;
  /** Orchestrator function name as the caller spelled it. */
  name: string;
  version?: string;
  status: RuntimeStatus;
  /** ISO-8601, when the instance was (re)started by a client or parent. */
  createdTime: string;
  /** ISO-8601, the last state change. */
  lastUpdatedTime: string;
  /** JSON text of the current execution's input. */
  input?: string;
  /** JSON text: the result, the failure message, or the termination reason. */
  output?: string;
  /** JSON text of the last custom status the orchestrator set. */
  customStatus?: string;
  parent?: ParentLink;
  /** For Failed/Terminated: what a parent orchestration receives. */
  failure?: Failure;
  /** Scheduler state of the current execution. */
  exec: ExecutionState;
  /** History rows written for the current execution (one per episode). */
  episodes: number;
  /** The last episode's OrchestratorStarted time: the orchestration clock never goes back. */
  clock?: string;
}

/** An event waiting to be delivered to an orchestration, one per episode, in key order. */
export interface InboxEntry {
  /** Sortable arrival key. */
  key: string;
  /** Set for answers to scheduled work: they belong to that execution only. Raised events survive continueAsNew. */
  executionId?: string;
  event: HistoryEvent;
}
