/**
 * A small fake of `context.df` for unit tests of the orchestrators: no host, no storage, no
 * replay. `runOrchestrator` drives the generator to its end and settles every task it yields:
 *
 * - an activity by the script's responder for its name, a sub-orchestration by the one for its
 *   orchestrator name (a responder that throws makes the task fail, as exhausted retries do);
 * - a timer fires: the clock (`currentUtcDateTime`) moves to its time;
 * - an external event takes the next event of its name from the script's queue (events are
 *   raised before the run and wait, buffered, for whoever waits for their name);
 * - `Task.any`: an already settled child wins, else a waited-for queued event, else the child the
 *   script's `pick` chooses among the rest (default: the first); `Task.all` settles every child.
 *
 * The run records what was scheduled, in order, with the clock at that moment, and the most tasks
 * of one name in flight (scheduled, not yet settled) at any time.
 */
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';

/** Answers one call (`n`: 1 for the first call of this name); throw to fail the task. */
export type Responder = (input: never, n: number) => unknown;

export interface Script {
  input: unknown;
  instanceId?: string;
  parentInstanceId?: string;
  /** The clock at the start (default 2030-01-01T00:00:00Z). */
  now?: Date;
  activities?: Record<string, Responder>;
  subOrchestrations?: Record<string, Responder>;
  events?: Array<{ name: string; data?: unknown }>;
  /** Which child wins a Task.any when no child is settled and no queued event is waited for. */
  pick?: (candidates: readonly FakeTask[]) => FakeTask;
}

export interface Call {
  kind: 'activity' | 'subOrchestration';
  name: string;
  input: unknown;
  /** The retry options of callActivityWithRetry. */
  retry?: unknown;
  /** The instance id given to callSubOrchestrator. */
  instanceId?: string;
  /** The clock when it was scheduled. */
  at: Date;
}

export interface Run {
  /** What the orchestrator returned. */
  output: unknown;
  calls: Call[];
  timers: FakeTask[];
  /** The input given to continueAsNew, if it was called. */
  continuedAsNew?: unknown;
  /** The most tasks of one activity or orchestrator name in flight at once. */
  maxInFlight: Record<string, number>;
  /** The inputs of every call of `name`, in order. */
  inputsOf<T = Record<string, unknown>>(name: string): T[];
  /** The names of every call, in order. */
  names(): string[];
}

type Kind = 'activity' | 'subOrchestration' | 'timer' | 'event' | 'any' | 'all';

export class FakeTask {
  isCompleted = false;
  isFaulted = false;
  isCanceled = false;
  result?: unknown;
  error?: unknown;

  constructor(
    readonly kind: Kind,
    readonly name: string,
    readonly input?: unknown,
    readonly children: FakeTask[] = [],
    readonly fireAt?: Date,
  ) {}

  cancel(): void {
    this.isCanceled = true;
  }
}

const T0 = new Date('2030-01-01T00:00:00Z');
const MAX_STEPS = 100_000;

export function runOrchestrator(orchestrator: OrchestrationHandler, script: Script): Run {
  let clock = (script.now ?? T0).getTime();
  const events = [...(script.events ?? [])];
  const calls: Call[] = [];
  const timers: FakeTask[] = [];
  const inFlight: Record<string, number> = {};
  const maxInFlight: Record<string, number> = {};
  const callCount: Record<string, number> = {};
  let continuedAsNew: { input: unknown } | undefined;

  const schedule = (kind: 'activity' | 'subOrchestration', name: string, input: unknown, extra: Partial<Call>): FakeTask => {
    calls.push({ kind, name, input: structuredClone(input), ...extra, at: new Date(clock) });
    inFlight[name] = (inFlight[name] ?? 0) + 1;
    maxInFlight[name] = Math.max(maxInFlight[name] ?? 0, inFlight[name]);
    return new FakeTask(kind, name, structuredClone(input));
  };

  const respond = (task: FakeTask, responders: Record<string, Responder> | undefined) => {
    const responder = responders?.[task.name];
    if (!responder) throw new Error(`the script has no responder for ${task.kind} ${task.name}`);
    callCount[`${task.kind}:${task.name}`] = (callCount[`${task.kind}:${task.name}`] ?? 0) + 1;
    try {
      task.result = structuredClone(responder(task.input as never, callCount[`${task.kind}:${task.name}`] ?? 0));
    } catch (err) {
      task.isFaulted = true;
      task.error = err;
    }
    inFlight[task.name] = (inFlight[task.name] ?? 1) - 1;
  };

  const queued = (task: FakeTask) => task.kind === 'event' && events.some((e) => e.name === task.name);

  const settle = (task: FakeTask): void => {
    if (task.isCompleted) return;
    switch (task.kind) {
      case 'activity':
        respond(task, script.activities);
        break;
      case 'subOrchestration':
        respond(task, script.subOrchestrations);
        break;
      case 'timer':
        clock = Math.max(clock, task.fireAt?.getTime() ?? clock);
        break;
      case 'event': {
        const at = events.findIndex((e) => e.name === task.name);
        if (at < 0) throw new Error(`the orchestration waits for event ${task.name}, which the script never raises`);
        task.result = events.splice(at, 1)[0]?.data;
        break;
      }
      case 'all':
        for (const child of task.children) settle(child);
        task.result = task.children.map((c) => c.result);
        task.error = task.children.find((c) => c.isFaulted)?.error;
        task.isFaulted = task.children.some((c) => c.isFaulted);
        break;
      case 'any': {
        const candidates = task.children.filter((c) => c.kind !== 'event');
        const winner = task.children.find((c) => c.isCompleted) ?? task.children.find(queued)
          ?? (candidates.length > 0 ? (script.pick ?? ((c) => c[0] as FakeTask))(candidates) : undefined);
        if (!winner) throw new Error(`Task.any of events only (${task.children.map((c) => c.name).join(', ')}), none raised`);
        settle(winner);
        task.result = winner;
        break;
      }
    }
    task.isCompleted = true;
  };

  const df = {
    instanceId: script.instanceId ?? 'instance',
    parentInstanceId: script.parentInstanceId,
    get currentUtcDateTime() {
      return new Date(clock);
    },
    getInput: () => structuredClone(script.input),
    callActivityWithRetry: (name: string, retry: unknown, input?: unknown) => schedule('activity', name, input, { retry }),
    callSubOrchestrator: (name: string, input?: unknown, instanceId?: string) =>
      schedule('subOrchestration', name, input, instanceId === undefined ? {} : { instanceId }),
    createTimer: (fireAt: Date) => {
      const timer = new FakeTask('timer', 'timer', undefined, [], fireAt);
      timers.push(timer);
      return timer;
    },
    waitForExternalEvent: (name: string) => new FakeTask('event', name),
    continueAsNew: (input: unknown) => {
      continuedAsNew = { input: structuredClone(input) };
    },
    Task: {
      any: (tasks: FakeTask[]) => new FakeTask('any', 'any', undefined, tasks),
      all: (tasks: FakeTask[]) => new FakeTask('all', 'all', undefined, tasks),
    },
  };

  const generator = orchestrator({ df } as unknown as OrchestrationContext);
  let step = generator.next();
  for (let i = 0; !step.done; i++) {
    if (i > MAX_STEPS) throw new Error(`the orchestration yielded more than ${MAX_STEPS} tasks`);
    const task = step.value as unknown as FakeTask;
    settle(task);
    step = task.isFaulted ? generator.throw(task.error) : generator.next(task.result);
  }

  return {
    output: step.value,
    calls,
    timers,
    ...(continuedAsNew ? { continuedAsNew: continuedAsNew.input } : {}),
    maxInFlight,
    inputsOf: <T>(name: string) => calls.filter((c) => c.name === name).map((c) => c.input as T),
    names: () => calls.map((c) => c.name),
  };
}
