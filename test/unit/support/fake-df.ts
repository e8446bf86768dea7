/**
 * A small fake of `context.df` for unit tests of the orchestrators: no host, no storage, no
 * replay. `runOrchestrator` drives one execution of the generator to its end and settles every task
 * it yields; `runExecutions` runs the executions a chain of `continueAsNew` makes, one after another.
 *
 * - An activity is answered by the script's responder for its name, a sub-orchestration by the one
 *   for its orchestrator name (a responder that throws makes the task fail, as exhausted retries
 *   do); `durations` moves the clock while one runs.
 * - A timer fires: the clock (`currentUtcDateTime`) moves to its time.
 * - External events are delivered as the durable-functions SDK (3.x) delivers them: a waiter
 *   listens from the moment it is yielded (alone or inside a Task.any/Task.all); a raised event
 *   completes the most recent listening waiter of its name (the SDK pops its list), or else is
 *   buffered and given, first in first out, to the next waiter of that name that is yielded.
 *   Script events are raised when the execution starts, or `during` a task: just before the fake
 *   completes the `nth` task of that name (an activity, a sub-orchestration, or 'timer'), so such
 *   an event wins a Task.any against that task. Events still buffered when an execution continues
 *   as new are dropped, as the extension does (`preserveUnprocessedEvents` is false).
 * - `Task.any`: the child that completed first wins; when none has, the script's `pick` chooses
 *   which of the non-event children runs next (default: the first). `Task.all` settles every child.
 *
 * The Durable rules (DESIGN.md) are checked on every run, and a broken one makes the run throw a
 * DurableRuleError from the driver (so no try/catch in the orchestrator can swallow it):
 * - a task, once yielded (alone or inside a Task.any/Task.all), is never put into another
 *   Task.any/Task.all: the extension would schedule it again as new; nor is one task put into two
 *   of them (the SDK keeps one parent per task, so the first would never hear of it);
 * - no Task.any/Task.all is yielded twice;
 * - nothing is yielded after continueAsNew (the SDK drops it), and a timer that fired is not
 *   cancelled (the SDK throws).
 *
 * The run records what was scheduled, in order, with the clock at that moment; what was yielded;
 * and the most tasks of one name in flight (scheduled, not yet settled) at any time.
 */
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';

/** Answers one call (`n`: 1 for the first call of this name); throw to fail the task. */
export type Responder = (input: never, n: number) => unknown;

export interface ScriptEvent {
  name: string;
  data?: unknown;
  /** Raised while this task runs (an activity or orchestrator name, or 'timer'); default: before the run. */
  during?: string;
  /** Which task of that name, counted from 1 across the executions of a chain (default 1). */
  nth?: number;
}

export interface Script {
  input: unknown;
  instanceId?: string;
  parentInstanceId?: string;
  /** The clock at the start (default 2030-01-01T00:00:00Z). */
  now?: Date;
  activities?: Record<string, Responder>;
  subOrchestrations?: Record<string, Responder>;
  /** How long (ms) an activity or sub-orchestration of this name takes: the clock moves on by it. */
  durations?: Record<string, number>;
  events?: ScriptEvent[];
  /** Which child runs next in a Task.any where no child has completed (events are never offered). */
  pick?: (candidates: readonly FakeTask[]) => FakeTask;
}

export interface Call {
  kind: 'activity' | 'subOrchestration';
  name: string;
  input: unknown;
  /** The retry options of callActivityWithRetry (undefined for callActivity). */
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
  /** Every task the orchestrator yielded, in order. */
  yields: FakeTask[];
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

/** A Durable rule broken by the orchestration under test. */
export class DurableRuleError extends Error {
  override name = 'DurableRuleError';
}

export class FakeTask {
  /** Completed successfully (false while running or when it failed), as in the SDK. */
  isCompleted = false;
  isFaulted = false;
  isCanceled = false;
  result?: unknown;
  error?: unknown;
  /** Order of completion within the run (for Task.any: the first wins). */
  settledAs?: number;
  /** The compound (Task.any/Task.all) this task was put into. */
  parent?: FakeTask;

  constructor(
    readonly kind: Kind,
    readonly name: string,
    /** 1 for the first task of this name (across the executions of a chain). */
    readonly n: number,
    readonly input?: unknown,
    readonly children: FakeTask[] = [],
    readonly fireAt?: Date,
    private readonly onCancel?: (task: FakeTask) => void,
  ) {}

  get hasResult(): boolean {
    return this.settledAs !== undefined;
  }

  cancel(): void {
    this.onCancel?.(this);
  }
}

const T0 = new Date('2030-01-01T00:00:00Z');
const MAX_STEPS = 100_000;
const describeTask = (t: FakeTask) => (t.kind === 'any' || t.kind === 'all' ? `Task.${t.kind}` : `${t.kind} ${t.name}`);

/** Shared by the executions of one chain: the clock, call counts, events not yet raised. */
class World {
  clock: number;
  readonly callCount: Record<string, number> = {};
  readonly created: Record<string, number> = {};
  /** Script events not raised yet. */
  readonly pending: ScriptEvent[];
  private started = false;

  constructor(readonly script: Script) {
    this.clock = (script.now ?? T0).getTime();
    this.pending = [...(script.events ?? [])];
  }

  nextN(name: string): number {
    this.created[name] = (this.created[name] ?? 0) + 1;
    return this.created[name];
  }

  /** Events raised before the first execution (those with no `during`), once. */
  takeInitial(): ScriptEvent[] {
    if (this.started) return [];
    this.started = true;
    const initial = this.pending.filter((e) => e.during === undefined);
    for (const e of initial) this.pending.splice(this.pending.indexOf(e), 1);
    return initial;
  }

  takeDuring(task: FakeTask): ScriptEvent[] {
    const due = this.pending.filter((e) => e.during === task.name && (e.nth ?? 1) === task.n);
    for (const e of due) this.pending.splice(this.pending.indexOf(e), 1);
    return due;
  }

  execute(orchestrator: OrchestrationHandler, input: unknown): Run {
    const { script } = this;
    const calls: Call[] = [];
    const timers: FakeTask[] = [];
    const yields: FakeTask[] = [];
    const inFlight: Record<string, number> = {};
    const maxInFlight: Record<string, number> = {};
    /** Waiters that listen, by event name (the SDK's openEvents). */
    const open: Record<string, FakeTask[]> = {};
    /** Raised events nobody listened for yet (the SDK's deferred tasks). */
    const buffered: Array<{ name: string; data?: unknown }> = [];
    const yielded = new Set<FakeTask>();
    let settled = 0;
    let violation: DurableRuleError | undefined;
    let continuedAsNew: { input: unknown } | undefined;

    const violate = (message: string) => {
      violation ??= new DurableRuleError(message);
    };

    const complete = (task: FakeTask, result: unknown) => {
      task.result = result;
      task.isCompleted = true;
      task.settledAs = settled++;
    };
    const fail = (task: FakeTask, error: unknown) => {
      task.error = error;
      task.isFaulted = true;
      task.settledAs = settled++;
    };

    const raise = (e: { name: string; data?: unknown }) => {
      const waiter = open[e.name]?.pop();
      if (waiter) complete(waiter, structuredClone(e.data));
      else buffered.push(e);
    };
    const raiseDuring = (task: FakeTask) => {
      for (const e of this.takeDuring(task)) raise(e);
    };

    /** A yielded task listens: event waiters join the open list or take a buffered event. */
    const listen = (task: FakeTask) => {
      if (task.kind === 'any' || task.kind === 'all') {
        for (const child of task.children) listen(child);
        return;
      }
      if (task.kind !== 'event' || task.hasResult || open[task.name]?.includes(task)) return;
      const at = buffered.findIndex((e) => e.name === task.name);
      if (at >= 0) complete(task, structuredClone(buffered.splice(at, 1)[0]?.data));
      else (open[task.name] ??= []).push(task);
    };

    const schedule = (kind: 'activity' | 'subOrchestration', name: string, taskInput: unknown, extra: Partial<Call>): FakeTask => {
      calls.push({ kind, name, input: structuredClone(taskInput), ...extra, at: new Date(this.clock) });
      inFlight[name] = (inFlight[name] ?? 0) + 1;
      maxInFlight[name] = Math.max(maxInFlight[name] ?? 0, inFlight[name]);
      return new FakeTask(kind, name, this.nextN(name), structuredClone(taskInput));
    };

    const respond = (task: FakeTask, responders: Record<string, Responder> | undefined) => {
      const responder = responders?.[task.name];
      if (!responder) throw new Error(`the script has no responder for ${task.kind} ${task.name}`);
      const count = `${task.kind}:${task.name}`;
      this.callCount[count] = (this.callCount[count] ?? 0) + 1;
      this.clock += script.durations?.[task.name] ?? 0;
      inFlight[task.name] = (inFlight[task.name] ?? 1) - 1;
      try {
        complete(task, structuredClone(responder(task.input as never, this.callCount[count] ?? 0)));
      } catch (err) {
        fail(task, err);
      }
    };

    /** Runs the world until `task` has a result. */
    const settle = (task: FakeTask): void => {
      if (task.hasResult) return;
      switch (task.kind) {
        case 'activity':
          raiseDuring(task);
          respond(task, script.activities);
          return;
        case 'subOrchestration':
          raiseDuring(task);
          respond(task, script.subOrchestrations);
          return;
        case 'timer':
          raiseDuring(task);
          this.clock = Math.max(this.clock, task.fireAt?.getTime() ?? this.clock);
          complete(task, undefined);
          return;
        case 'event':
          throw new Error(`the orchestration waits for event ${task.name}, which the script does not raise by then`);
        case 'all': {
          for (const child of task.children) settle(child);
          const failed = task.children.filter((c) => c.isFaulted).sort((x, y) => (x.settledAs ?? 0) - (y.settledAs ?? 0))[0];
          if (failed) fail(task, failed.error);
          else complete(task, task.children.map((c) => c.result));
          return;
        }
        case 'any':
          for (;;) {
            const first = task.children.filter((c) => c.hasResult).sort((x, y) => (x.settledAs ?? 0) - (y.settledAs ?? 0))[0];
            if (first) {
              complete(task, first);
              return;
            }
            const candidates = task.children.filter((c) => c.kind !== 'event');
            if (candidates.length === 0) throw new Error(`Task.any of events only (${task.children.map((c) => c.name).join(', ')}), none raised`);
            const next = (script.pick ?? ((c) => c[0] as FakeTask))(candidates);
            raiseDuring(next);
            if (!task.children.some((c) => c.hasResult)) settle(next);
          }
      }
    };

    const compound = (kind: 'any' | 'all', tasks: FakeTask[]): FakeTask => {
      if (tasks.length === 0) {
        // What the SDK's CompoundTask constructor throws.
        throw new Error('When constructing a CompoundTask (such as Task.all() or Task.any()), you must specify at least one Task.');
      }
      const task = new FakeTask(kind, kind, this.nextN(kind), undefined, tasks);
      for (const child of tasks) {
        if (yielded.has(child)) violate(`Task.${kind} is given ${describeTask(child)}, which was yielded already: the extension would schedule it again as new`);
        else if (child.parent) violate(`Task.${kind} is given ${describeTask(child)}, which is in another Task.${child.parent.kind} already: a task has one parent`);
        child.parent = task;
      }
      return task;
    };

    const checkYield = (task: FakeTask) => {
      if (continuedAsNew) violate(`${describeTask(task)} was yielded after continueAsNew: the extension drops it`);
      if (task.kind !== 'any' && task.kind !== 'all') return;
      if (yielded.has(task)) violate(`the same Task.${task.kind} was yielded twice`);
      for (const child of task.children) {
        if (yielded.has(child) && !yielded.has(task)) violate(`Task.${task.kind} holds ${describeTask(child)}, which was yielded already: the extension would schedule it again as new`);
      }
    };
    const markYielded = (task: FakeTask) => {
      yielded.add(task);
      for (const child of task.children) markYielded(child);
    };

    const now = () => new Date(this.clock);
    const df = {
      instanceId: script.instanceId ?? 'instance',
      parentInstanceId: script.parentInstanceId,
      get currentUtcDateTime() {
        return now();
      },
      getInput: () => structuredClone(input),
      callActivity: (name: string, taskInput?: unknown) => schedule('activity', name, taskInput, {}),
      callActivityWithRetry: (name: string, retry: unknown, taskInput?: unknown) => schedule('activity', name, taskInput, { retry }),
      callSubOrchestrator: (name: string, taskInput?: unknown, instanceId?: string) =>
        schedule('subOrchestration', name, taskInput, instanceId === undefined ? {} : { instanceId }),
      createTimer: (fireAt: Date) => {
        const timer = new FakeTask('timer', 'timer', this.nextN('timer'), undefined, [], fireAt, (t) => {
          if (t.hasResult) {
            violate(`a timer that fired (at ${t.fireAt?.toISOString()}) was cancelled`);
            throw new Error('Cannot cancel a completed task.');
          }
          t.isCanceled = true;
        });
        timers.push(timer);
        return timer;
      },
      waitForExternalEvent: (name: string) => new FakeTask('event', name, this.nextN(`event:${name}`)),
      continueAsNew: (next: unknown) => {
        continuedAsNew = { input: structuredClone(next) };
      },
      Task: {
        any: (tasks: FakeTask[]) => compound('any', tasks),
        all: (tasks: FakeTask[]) => compound('all', tasks),
      },
    };
    for (const e of this.takeInitial()) raise(e);
    const generator = orchestrator({ df } as unknown as OrchestrationContext);
    const advance = (next: () => IteratorResult<unknown, unknown>) => {
      const step = next();
      if (violation) throw violation;
      return step;
    };
    let step = advance(() => generator.next());
    for (let i = 0; !step.done; i++) {
      if (i > MAX_STEPS) throw new Error(`the orchestration yielded more than ${MAX_STEPS} tasks`);
      const task = step.value as FakeTask;
      checkYield(task);
      if (violation) throw violation;
      yields.push(task);
      markYielded(task);
      listen(task);
      settle(task);
      step = advance(() => (task.isFaulted ? generator.throw(task.error) : generator.next(task.result)));
    }

    return {
      output: step.value,
      calls,
      timers,
      yields,
      ...(continuedAsNew ? { continuedAsNew: continuedAsNew.input } : {}),
      maxInFlight,
      inputsOf: <T>(name: string) => calls.filter((c) => c.name === name).map((c) => c.input as T),
      names: () => calls.map((c) => c.name),
    };
  }
}

/** One execution of the orchestrator. */
export function runOrchestrator(orchestrator: OrchestrationHandler, script: Script): Run {
  return new World(script).execute(orchestrator, script.input);
}

/**
 * The executions of a continueAsNew chain, until one ends without continuing: each starts with
 * the input the last one gave continueAsNew. Clock, responder counts and `during` events run on
 * across executions; events raised at the start are raised for the first execution only.
 */
export function runExecutions(orchestrator: OrchestrationHandler, script: Script, maxExecutions = 100): Run[] {
  const world = new World(script);
  const runs: Run[] = [];
  for (let input = script.input; ;) {
    if (runs.length === maxExecutions) throw new Error(`still continuing as new after ${maxExecutions} executions`);
    const run = world.execute(orchestrator, input);
    runs.push(run);
    if (!('continuedAsNew' in run)) return runs;
    input = run.continuedAsNew;
  }
}
