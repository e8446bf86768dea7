/**
 * Replaying recorded orchestration histories through the REAL durable-functions replay engine,
 * with pgferry's own orchestrator functions, to prove they are deterministic.
 *
 * - A recording is read straight from the offline host's Table Storage (emulator/durable/store.ts):
 *   the Durable HTTP API's `showHistory` is the extension's condensed form (scheduling events folded
 *   into their completions, no OrchestratorStarted, so no sequence numbers and no orchestration
 *   clock), which is not enough to replay.
 * - The app is loaded from dist/ the way the host loads it (core shim, package.json `main`, the
 *   registrations classified), and each replay is one orchestrator invocation through the app's own
 *   programming model (emulator/durable/episode.ts `runEpisode`, the host's trigger value).
 * - What the replay scheduled is compared with what the history says was scheduled. The JS SDK
 *   itself never checks this (it matches completions to tasks by sequence number only, and a task
 *   scheduled in another order silently receives another task's result), so this is the check.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

import type * as DurableFunctions from 'durable-functions';

import { loadApp } from '../../emulator/app-loader';
import { installCoreShim, type CoreShim } from '../../emulator/core-shim';
import { decodeActions, takesSequenceNumber, type DecodedAction, type RetryPolicy } from '../../emulator/durable/actions';
import { runEpisode, type EpisodeOutcome } from '../../emulator/durable/episode';
import { EVENT_TYPE_NAMES, EventType, completedSeq, isFailureEvent, type HistoryEvent } from '../../emulator/durable/history';
import type { RuntimeStatus } from '../../emulator/durable/model';
import { DurableStore } from '../../emulator/durable/store';
import { Invoker, type InvocationRequest, type InvocationResult } from '../../emulator/invoker';
import { Logger } from '../../emulator/log';
import { classify, type DurableFunction } from '../../emulator/registry';
import { ROOT, ensureBuilt } from './host';

// ---------------------------------------------------------------------------------------------
// Recordings

/** One execution of one orchestration instance, as the host persisted it. */
export interface Recording {
  instanceId: string;
  /** Orchestrator function name (ExecutionStarted.Name). */
  name: string;
  status: RuntimeStatus;
  /** JSON text of the execution's input (ExecutionStarted.Input). */
  input?: string;
  parentInstanceId?: string;
  /** The whole history of the current execution, in recorded order. */
  history: HistoryEvent[];
  /** JSON text of the instance's output as its status row holds it. */
  output?: string;
}

/** Reads an instance's current execution from the host's `<hub>Orchestrations` table (read-only). */
export async function readRecording(storage: string, hub: string, instanceId: string): Promise<Recording> {
  const store = await DurableStore.open(storage, hub, new Logger('error'));
  const record = await store.readInstance(instanceId);
  if (!record) throw new Error(`instance ${instanceId} is not in task hub ${hub}`);
  const history = await store.readHistory(instanceId, record.exec.executionId);
  const started = history.find((e) => e.EventType === EventType.ExecutionStarted);
  if (!started?.Name) throw new Error(`instance ${instanceId}: the recorded history has no ExecutionStarted`);
  return {
    instanceId,
    name: started.Name,
    status: record.status,
    input: started.Input,
    parentInstanceId: started.ParentInstance?.OrchestrationInstance.InstanceId,
    history,
    output: record.output,
  };
}

/** The history cut into episodes, each beginning with its OrchestratorStarted. */
export function episodesOf(history: HistoryEvent[]): HistoryEvent[][] {
  const out: HistoryEvent[][] = [];
  for (const e of history) {
    if (e.EventType === EventType.OrchestratorStarted || out.length === 0) out.push([]);
    (out[out.length - 1] as HistoryEvent[]).push(e);
  }
  return out;
}

const DELIVERED = new Set<number>([
  EventType.ExecutionStarted, EventType.ExecutionTerminated, EventType.TaskCompleted, EventType.TaskFailed,
  EventType.SubOrchestrationInstanceCompleted, EventType.SubOrchestrationInstanceFailed, EventType.TimerFired, EventType.EventRaised,
]);

/** The events an episode delivered: those after its OrchestratorStarted, before what it recorded itself. */
export function deliveredOf(episode: HistoryEvent[]): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  for (const e of episode.slice(1)) {
    if (!DELIVERED.has(e.EventType)) break;
    out.push(e);
  }
  return out;
}

export function eventTypes(history: HistoryEvent[]): string[] {
  return history.map((e) => EVENT_TYPE_NAMES[e.EventType] ?? String(e.EventType));
}

// ---------------------------------------------------------------------------------------------
// The comparable view: what was scheduled, in order, and how the execution ended

export type Scheduled =
  | { kind: 'activity'; name: string; input: unknown }
  | { kind: 'subOrchestration'; name: string; instanceId: string; input: unknown }
  | { kind: 'timer'; fireAt: string };

export type Outcome =
  | { kind: 'running' }
  | { kind: 'completed'; output: unknown }
  | { kind: 'failed'; error: string }
  | { kind: 'continuedAsNew'; input: unknown };

export interface View {
  schedule: Scheduled[];
  outcome: Outcome;
}

const parse = (text: string | undefined): unknown => (text === undefined ? undefined : (JSON.parse(text) as unknown));

function scheduledOf(e: HistoryEvent): Scheduled | undefined {
  switch (e.EventType) {
    case EventType.TaskScheduled:
      return { kind: 'activity', name: String(e.Name), input: parse(e.Input) };
    case EventType.SubOrchestrationInstanceCreated:
      return { kind: 'subOrchestration', name: String(e.Name), instanceId: String(e.InstanceId), input: parse(e.Input) };
    case EventType.TimerCreated:
      return { kind: 'timer', fireAt: new Date(String(e.FireAt)).toISOString() };
    default:
      return undefined;
  }
}

/** A scheduling event of the history and who made it. */
export interface RecordedScheduling {
  seq: number;
  episode: number;
  item: Scheduled;
  /**
   * `retry`: the host's own retry bookkeeping (a back-off timer after a failed *WithRetry attempt,
   * or the next attempt), which the SDK keeps inside one RetryableTask and never emits as an action.
   */
  by: 'orchestrator' | 'retry';
}

/**
 * Every scheduling event of a history, attributed. The host records, per episode: OrchestratorStarted,
 * the delivered events (every one waiting in the inbox, emulator/durable/batch.ts), its retry bookkeeping
 * for them in their order (spec §5 step 3), then one scheduling event per new action (step 4). Which
 * failed tasks had a retry policy comes from the orchestrator's own actions, in scheduling order; a
 * history without failures needs none of this.
 */
export function recordedSchedule(history: HistoryEvent[], actions: DecodedAction[]): RecordedScheduling[] {
  interface Task { retry?: RetryPolicy; attempt: number }
  type Bookkeeping = { kind: 'timer'; failed: Task & { retry: RetryPolicy } } | { kind: 'attempt'; next: Task };
  const tasks = new Map<number, Task>();
  const retryTimers = new Map<number, { next: Task; exhausted: boolean }>();
  const own = actions.filter(takesSequenceNumber);
  let nextAction = 0;
  const out: RecordedScheduling[] = [];
  episodesOf(history).forEach((events, episode) => {
    const delivered = deliveredOf(events);
    const bookkeeping: Bookkeeping[] = [];
    for (const d of delivered) {
      if (isFailureEvent(d)) {
        const failed = tasks.get(completedSeq(d) ?? -1);
        if (failed?.retry) bookkeeping.push({ kind: 'timer', failed: { ...failed, retry: failed.retry } });
      } else if (d.EventType === EventType.TimerFired) {
        const fired = retryTimers.get(d.TimerId ?? -1);
        if (fired && !fired.exhausted) bookkeeping.push({ kind: 'attempt', next: fired.next });
      }
    }
    for (const e of events.slice(1 + delivered.length)) {
      const item = scheduledOf(e);
      if (!item) continue;
      const b = bookkeeping[0];
      if (b?.kind === 'timer' && item.kind === 'timer') {
        retryTimers.set(e.EventId, { next: { retry: b.failed.retry, attempt: b.failed.attempt + 1 }, exhausted: b.failed.attempt >= b.failed.retry.maxNumberOfAttempts });
        out.push({ seq: e.EventId, episode, item, by: 'retry' });
        bookkeeping.shift();
      } else if (b?.kind === 'attempt' && item.kind !== 'timer') {
        tasks.set(e.EventId, b.next);
        out.push({ seq: e.EventId, episode, item, by: 'retry' });
        bookkeeping.shift();
      } else {
        bookkeeping.length = 0;
        const a = own[nextAction++];
        tasks.set(e.EventId, { retry: a?.type === 'activity' || a?.type === 'subOrchestration' ? a.retry : undefined, attempt: 1 });
        out.push({ seq: e.EventId, episode, item, by: 'orchestrator' });
      }
    }
  });
  return out;
}

/** How an execution ended according to (a prefix of) its history; `running` while it has not. */
export function recordedOutcome(history: HistoryEvent[]): Outcome {
  for (const e of history) {
    if (e.EventType === EventType.ExecutionCompleted) {
      return e.OrchestrationStatus === 'Failed' ? { kind: 'failed', error: String(parse(e.Result)) } : { kind: 'completed', output: parse(e.Result) };
    }
    if (e.EventType === EventType.ContinueAsNew) return { kind: 'continuedAsNew', input: parse(e.Result) };
  }
  return { kind: 'running' };
}

function itemOf(a: DecodedAction): Scheduled | undefined {
  switch (a.type) {
    case 'activity':
      return { kind: 'activity', name: a.name, input: parse(a.input) };
    case 'subOrchestration':
      return { kind: 'subOrchestration', name: a.name, instanceId: String(a.instanceId), input: parse(a.input) };
    case 'timer':
      return { kind: 'timer', fireAt: a.fireAt };
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Replaying

export interface Replay {
  outcome: EpisodeOutcome;
  /** Every action the orchestrator produced in this execution, flattened in scheduling order. */
  actions: DecodedAction[];
  view: View;
}

/** The host's Invoker, keeping what the handler threw: a failed replay still carries its actions. */
class CapturingInvoker extends Invoker {
  thrown: unknown;

  override async invoke(req: InvocationRequest): Promise<InvocationResult> {
    this.thrown = undefined;
    try {
      return await super.invoke(req);
    } catch (e) {
      this.thrown = e;
      throw e;
    }
  }
}

const OUT_OF_PROC = '$OutOfProcData$:';

function actionsOfFailure(thrown: unknown): DecodedAction[] {
  const cause = (thrown as { cause?: unknown } | undefined)?.cause;
  const message = cause instanceof Error ? cause.message : '';
  const at = message.indexOf(OUT_OF_PROC);
  if (at < 0) return [];
  try {
    return decodeActions((JSON.parse(message.slice(at + OUT_OF_PROC.length)) as { actions?: unknown }).actions);
  } catch {
    return [];
  }
}

export interface ReplayOptions {
  /** The orchestrator to run (default: the one the history names). */
  fn?: DurableFunction;
  /** JSON text replacing the recorded input. */
  input?: string;
  /**
   * Replay only up to this episode, as the host ran it: earlier episodes played, then the episode's
   * OrchestratorStarted and delivered events. Default: the whole history, every event already played.
   */
  episode?: number;
}

export interface PgferryApp {
  shim: CoreShim;
  /** The app's own copy of durable-functions (the one its registrations went through). */
  df: typeof DurableFunctions;
  orchestration(name: string): DurableFunction;
  /** Registers another orchestrator with the app's durable-functions, e.g. a tampered copy. */
  register(name: string, handler: DurableFunctions.OrchestrationHandler): DurableFunction;
  /** A module of the built app (dist/…), the same instance the app loaded. */
  distModule<T>(path: string): T;
  replay(rec: Recording, o?: ReplayOptions): Promise<Replay>;
}

let app: Promise<PgferryApp> | undefined;

/** Loads dist/ once per process, as the host does (@azure/functions keeps one app per process). */
export function loadPgferryApp(): Promise<PgferryApp> {
  app ??= (async () => {
    await ensureBuilt();
    const shim = installCoreShim();
    const log = new Logger('error');
    shim.setSystemLog((level, _category, message) => {
      if (level === 'error' || level === 'critical') log.error(message);
    });
    const main = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string }).main;
    await loadApp(ROOT, [main]);
    if (!shim.programmingModel) throw new Error('the app registered no functions');
    const requireDist = createRequire(join(ROOT, main));
    const df = requireDist('durable-functions') as typeof DurableFunctions;
    const invoker = new CapturingInvoker(shim, log);
    const orchestration = (name: string): DurableFunction => {
      const fn = classify(shim.functions.values()).orchestrations.get(name.toLowerCase());
      if (!fn) throw new Error(`no orchestration named ${name} is registered`);
      return fn;
    };
    return {
      shim,
      df,
      orchestration,
      register: (name, handler) => {
        df.app.orchestration(name, handler);
        return orchestration(name);
      },
      distModule: <T>(path: string) => requireDist(join(ROOT, 'dist', path)) as T,
      async replay(rec, o = {}) {
        const fn = o.fn ?? orchestration(rec.name);
        const episodes = episodesOf(rec.history);
        const whole = o.episode === undefined;
        const past = (whole ? rec.history : episodes.slice(0, o.episode).flat()).map((e) => ({ ...e, IsPlayed: true }));
        const episode = episodes[o.episode ?? 0] ?? [];
        const fresh = whole ? [] : episode.slice(0, 1 + deliveredOf(episode).length).map((e) => ({ ...e, IsPlayed: false }));
        const outcome = await runEpisode(invoker, log, {
          fn,
          instanceId: rec.instanceId,
          parentInstanceId: rec.parentInstanceId,
          input: o.input ?? rec.input,
          past,
          fresh,
        });
        const actions = outcome.kind === 'failed' ? actionsOfFailure(invoker.thrown) : outcome.actions;
        return { outcome, actions, view: replayedView(rec.name, outcome, actions) };
      },
    } satisfies PgferryApp;
  })();
  return app;
}

/** What a replay scheduled (activities, sub-orchestrations, timers, in order) and how it ended. */
export function replayedView(name: string, outcome: EpisodeOutcome, actions: DecodedAction[]): View {
  const schedule = actions.map(itemOf).filter((s): s is Scheduled => s !== undefined);
  if (outcome.kind === 'failed') return { schedule, outcome: { kind: 'failed', error: `Orchestrator function '${name}' failed: ${outcome.error}` } };
  if (outcome.kind === 'yielded') return { schedule, outcome: { kind: 'running' } };
  const can = actions.find((a) => a.type === 'continueAsNew');
  if (can) return { schedule, outcome: { kind: 'continuedAsNew', input: parse(can.input) } };
  return { schedule, outcome: { kind: 'completed', output: parse(outcome.output) } };
}

/** What the history says the orchestrator scheduled through `episode` (default: all), and its outcome. */
export function recordedView(rec: Recording, scheduling: RecordedScheduling[], episode?: number): View {
  const last = episode ?? Number.MAX_SAFE_INTEGER;
  const history = episode === undefined ? rec.history : episodesOf(rec.history).slice(0, episode + 1).flat();
  return {
    schedule: scheduling.filter((s) => s.by === 'orchestrator' && s.episode <= last).map((s) => s.item),
    outcome: recordedOutcome(history),
  };
}

// ---------------------------------------------------------------------------------------------
// Verdicts

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

/** The differences between what the history recorded and what the replay produced; [] = deterministic. */
export function mismatches(expected: View, actual: View, label = ''): string[] {
  const out: string[] = [];
  const n = Math.max(expected.schedule.length, actual.schedule.length);
  for (let i = 0; i < n; i++) {
    const want = expected.schedule[i];
    const got = actual.schedule[i];
    if (!isDeepStrictEqual(want, got)) out.push(`${label}schedule[${i}]: recorded ${want ? show(want) : 'nothing'}, replay ${got ? show(got) : 'nothing'}`);
  }
  if (!isDeepStrictEqual(expected.outcome, actual.outcome)) out.push(`${label}outcome: recorded ${show(expected.outcome)}, replay ${show(actual.outcome)}`);
  return out;
}

/** History invariants the replay relies on: contiguous sequence numbers, every answer to a scheduled task. */
export function historyProblems(history: HistoryEvent[]): string[] {
  const out: string[] = [];
  const scheduled = new Map<number, HistoryEvent>();
  for (const e of history) {
    if (scheduledOf(e)) {
      if (scheduled.has(e.EventId)) out.push(`sequence number ${e.EventId} scheduled twice`);
      scheduled.set(e.EventId, e);
    }
  }
  const seqs = [...scheduled.keys()];
  if (!isDeepStrictEqual(seqs, seqs.map((_, i) => i))) out.push(`sequence numbers are not 0..n-1 in order: ${seqs.join(',')}`);
  const kindOf: Record<number, number> = {
    [EventType.TaskCompleted]: EventType.TaskScheduled,
    [EventType.TaskFailed]: EventType.TaskScheduled,
    [EventType.SubOrchestrationInstanceCompleted]: EventType.SubOrchestrationInstanceCreated,
    [EventType.SubOrchestrationInstanceFailed]: EventType.SubOrchestrationInstanceCreated,
    [EventType.TimerFired]: EventType.TimerCreated,
  };
  for (const e of history) {
    const seq = completedSeq(e);
    if (seq === undefined) continue;
    if (scheduled.get(seq)?.EventType !== kindOf[e.EventType]) out.push(`${EVENT_TYPE_NAMES[e.EventType]} answers ${seq}, which is no ${EVENT_TYPE_NAMES[kindOf[e.EventType] ?? -1]}`);
  }
  return out;
}

export interface Verdict {
  /** The whole history replayed at once. */
  whole: string[];
  /** Each episode replayed as the host ran it. */
  episodes: string[];
  replay: Replay;
  expected: View;
  scheduling: RecordedScheduling[];
}

/**
 * Replays `rec` whole and episode by episode against `fn` (default: the orchestrator it names) and
 * lists every difference from the recording.
 */
export async function verifyReplay(pgferry: PgferryApp, rec: Recording, o: Omit<ReplayOptions, 'episode'> = {}): Promise<Verdict> {
  const replay = await pgferry.replay(rec, o);
  const scheduling = recordedSchedule(rec.history, replay.actions);
  const expected = recordedView(rec, scheduling);
  const whole = mismatches(expected, replay.view);
  const episodes: string[] = [];
  const count = episodesOf(rec.history).length;
  for (let k = 0; k < count; k++) {
    const step = await pgferry.replay(rec, { ...o, episode: k });
    episodes.push(...mismatches(recordedView(rec, scheduling, k), step.view, `episode ${k}: `));
  }
  return { whole, episodes, replay, expected, scheduling };
}
