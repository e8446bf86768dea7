/**
 * Sub-orchestrations: the child is an ordinary instance that remembers its parent's task
 * (ParentLink); its end becomes the parent's SubOrchestrationInstanceCompleted/Failed. Starting
 * a child is idempotent so that a restart can re-run it: a child that already exists with the
 * same link is the one this task started, and if it has finished its answer is sent again
 * (the parent drops duplicates).
 */
import type { Registry } from '../registry';
import { history, type HistoryEvent } from './history';
import { isTerminal, type InstanceRecord, type ParentLink } from './model';
import { failureWith } from './settle';
import type { SubOrchestrationTask } from './state';

export interface ChildHost {
  registry: Registry;
  /** The instance's record, live or stored. */
  find(instanceId: string): Promise<InstanceRecord | undefined>;
  /** Whether someone is creating this instance right now (after waiting for it). */
  isBeingCreated(instanceId: string): Promise<boolean>;
  create(o: { name: string; instanceId: string; input?: string; version?: string; parent: ParentLink }): Promise<void>;
  deliver(instanceId: string, executionId: string, event: HistoryEvent): Promise<void>;
}

/** The event a finished child sends its parent, or undefined for a top-level instance. */
export function answerForParent(child: InstanceRecord): { parent: ParentLink; event: HistoryEvent } | undefined {
  const parent = child.parent;
  if (!parent) return undefined;
  const at = new Date().toISOString();
  const event =
    child.status === 'Completed'
      ? history.subOrchestrationCompleted(at, parent.taskScheduledId, child.output ?? 'null')
      : history.subOrchestrationFailed(at, parent.taskScheduledId, child.failure ?? failureWith('OrchestrationFailure', `Orchestration '${child.instanceId}' ended ${child.status}`));
  return { parent, event };
}

export async function notifyParent(h: ChildHost, child: InstanceRecord): Promise<void> {
  const a = answerForParent(child);
  if (a) await h.deliver(a.parent.instanceId, a.parent.executionId, a.event);
}

function sameLink(a: ParentLink | undefined, b: ParentLink): boolean {
  return a !== undefined && a.instanceId === b.instanceId && a.executionId === b.executionId && a.taskScheduledId === b.taskScheduledId;
}

export async function startChild(h: ChildHost, parentId: string, parentExec: string, t: SubOrchestrationTask): Promise<void> {
  const link: ParentLink = { instanceId: parentId, executionId: parentExec, taskScheduledId: t.seq };
  const fail = (msg: string) => h.deliver(parentId, parentExec, history.subOrchestrationFailed(new Date().toISOString(), t.seq, failureWith('Error', msg)));
  const fn = h.registry.orchestrations.get(t.name.toLowerCase());
  if (!fn) return fail(`The function '${t.name}' doesn't exist, is disabled, or is not an orchestrator function.`);
  const busy = await h.isBeingCreated(t.instanceId);
  const existing = await h.find(t.instanceId);
  if (existing && sameLink(existing.parent, link)) {
    if (isTerminal(existing.status)) await notifyParent(h, existing);
    return;
  }
  if (busy || (existing && !isTerminal(existing.status))) return fail(`An instance with ID '${t.instanceId}' already exists.`);
  await h.create({ name: fn.name, instanceId: t.instanceId, input: t.input, version: t.version, parent: link });
}
