/**
 * Decodes the `actions` of an OrchestratorState as the Durable extension reads them. The SDK
 * re-emits every action since the execution started on every episode (V1: one array per yield;
 * V2+: `[[…]]` with WhenAll/WhenAny compounds, nestable), and a compound carries the action of
 * every child, including a child yielded before (the very same object). The extension receives the
 * list as JSON and schedules every atomic action in it, in the list and in each compound, as new
 * (azure-functions-durable-js#574): so the host first looks, by object identity, for a compound
 * holding an action already emitted in this execution — a non-deterministic orchestration in Azure
 * — and otherwise decodes the list after a JSON round trip, every atomic action counted.
 */

/** Retry policy of CallActivityWithRetry / CallSubOrchestratorWithRetry (durable-functions RetryOptions). */
export interface RetryPolicy {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

export type DecodedAction =
  | { type: 'activity'; name: string; input?: string; retry?: RetryPolicy }
  | { type: 'subOrchestration'; name: string; instanceId?: string; input?: string; version?: string; retry?: RetryPolicy }
  | { type: 'timer'; fireAt: string; canceled: boolean }
  | { type: 'waitForEvent'; name: string }
  | { type: 'continueAsNew'; input?: string }
  | { type: 'unsupported'; actionType: number; what: string };

const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

const UNSUPPORTED: Record<number, string> = {
  [ActionType.CallEntity]: 'callEntity',
  [ActionType.CallHttp]: 'callHttp',
  [ActionType.SignalEntity]: 'signalEntity',
  [ActionType.LockEntities]: 'lock',
  [ActionType.ReleaseEntities]: 'lock release',
};

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCompound(v: Obj): boolean {
  return (v.actionType === ActionType.WhenAll || v.actionType === ActionType.WhenAny) && Array.isArray(v.compoundActions);
}

/** Atomic actions depth-first, left to right, each occurrence counted (as the extension counts them). */
export function flattenActions(actions: unknown): Obj[] {
  const out: Obj[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObj(v)) {
      if (isCompound(v)) visit(v.compoundActions);
      else out.push(v);
    }
  };
  visit(actions);
  return out;
}

/** An atomic action that a compound holds although this execution emitted it before. */
export interface RescheduledAction {
  action: DecodedAction;
  /** The compound that holds it again. */
  compound: 'Task.any' | 'Task.all';
}

/**
 * The first atomic action, by object identity, that a Task.any/Task.all holds although it was
 * already emitted earlier in the list (on its own or in an earlier compound) or earlier in the same
 * compound. Must run on the SDK's own objects, before any JSON round trip.
 */
export function findRescheduled(actions: unknown): RescheduledAction | undefined {
  const emitted = new Set<Obj>();
  let found: RescheduledAction | undefined;
  const visit = (v: unknown, inCompound: RescheduledAction['compound'] | undefined): void => {
    if (found) return;
    if (Array.isArray(v)) {
      for (const item of v) visit(item, inCompound);
    } else if (isObj(v)) {
      if (isCompound(v)) {
        visit(v.compoundActions, inCompound ?? (v.actionType === ActionType.WhenAny ? 'Task.any' : 'Task.all'));
      } else if (emitted.has(v) && inCompound) {
        found = { action: decodeAction(JSON.parse(JSON.stringify(v)) as Obj), compound: inCompound };
      } else {
        emitted.add(v);
      }
    }
  };
  visit(actions, undefined);
  return found;
}

/** A few words naming an action, e.g. `activity 'copyChunk' (input {"chunk":3})`. */
export function describeAction(a: DecodedAction): string {
  const input = (text: string | undefined) => (text === undefined ? '' : ` (input ${text.length > 200 ? `${text.slice(0, 200)}…` : text})`);
  switch (a.type) {
    case 'activity':
      return `activity '${a.name}'${input(a.input)}`;
    case 'subOrchestration':
      return `sub-orchestration '${a.name}'${a.instanceId === undefined ? '' : ` (instance ${a.instanceId})`}${input(a.input)}`;
    case 'timer':
      return `a timer (fireAt ${a.fireAt})`;
    case 'waitForEvent':
      return `a wait for event '${a.name}'`;
    case 'continueAsNew':
      return 'continueAsNew';
    case 'unsupported':
      return a.what;
  }
}

/**
 * JSON text of an action input. CallActivity(WithRetry) and ContinueAsNew stringify string inputs
 * before storing them (Utils.processInput), so a string here already is JSON text; sub-orchestration
 * inputs are always the raw value.
 */
function inputText(v: unknown, preStringified: boolean): string | undefined {
  if (v === undefined) return undefined;
  if (preStringified && typeof v === 'string') {
    try {
      JSON.parse(v);
      return v;
    } catch {
      return JSON.stringify(v);
    }
  }
  return JSON.stringify(v);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function retryOf(v: unknown): RetryPolicy {
  const o = isObj(v) ? v : {};
  return {
    firstRetryIntervalInMilliseconds: num(o.firstRetryIntervalInMilliseconds) ?? 1000,
    maxNumberOfAttempts: num(o.maxNumberOfAttempts) ?? 1,
    backoffCoefficient: num(o.backoffCoefficient),
    maxRetryIntervalInMilliseconds: num(o.maxRetryIntervalInMilliseconds),
    retryTimeoutInMilliseconds: num(o.retryTimeoutInMilliseconds),
  };
}

function iso(v: unknown): string {
  const d = v instanceof Date ? v : new Date(typeof v === 'string' || typeof v === 'number' ? v : NaN);
  if (Number.isNaN(d.getTime())) throw new Error(`timer fireAt is not a date: ${String(v)}`);
  return d.toISOString();
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function decodeAction(a: Obj): DecodedAction {
  const t = typeof a.actionType === 'number' ? a.actionType : -1;
  switch (t) {
    case ActionType.CallActivity:
    case ActionType.CallActivityWithRetry:
      return {
        type: 'activity',
        name: String(a.functionName),
        input: inputText(a.input, true),
        retry: t === ActionType.CallActivityWithRetry ? retryOf(a.retryOptions) : undefined,
      };
    case ActionType.CallSubOrchestrator:
    case ActionType.CallSubOrchestratorWithRetry:
      return {
        type: 'subOrchestration',
        name: String(a.functionName),
        instanceId: str(a.instanceId),
        input: inputText(a.input, false),
        version: str(a.version),
        retry: t === ActionType.CallSubOrchestratorWithRetry ? retryOf(a.retryOptions) : undefined,
      };
    case ActionType.CreateTimer:
      return { type: 'timer', fireAt: iso(a.fireAt), canceled: a.isCanceled === true };
    case ActionType.WaitForExternalEvent:
      return { type: 'waitForEvent', name: String(a.externalEventName) };
    case ActionType.ContinueAsNew:
      return { type: 'continueAsNew', input: inputText(a.input, true) };
    default:
      return { type: 'unsupported', actionType: t, what: UNSUPPORTED[t] ?? `action type ${t}` };
  }
}

/** The actions as the extension reads them: JSON text, every atomic action counted. */
export function decodeActions(actions: unknown): DecodedAction[] {
  const wire = JSON.stringify(actions);
  return wire === undefined ? [] : flattenActions(JSON.parse(wire)).map(decodeAction);
}

/** Whether an action takes a sequence number when the SDK first yields it. */
export function takesSequenceNumber(a: DecodedAction): boolean {
  return a.type === 'activity' || a.type === 'subOrchestration' || a.type === 'timer';
}
