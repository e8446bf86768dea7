/**
 * One orchestrator episode: the orchestration trigger value (spec §2: full history with
 * OrchestratorStarted and the new event last, the V3 schema announcement, timer settings), the
 * real durable-functions replay engine run through the app's programming model, and the
 * OrchestratorState (or the `$OutOfProcData$` failure) decoded into what the scheduler needs.
 */
import { InvocationError, type Invoker } from '../invoker';
import { errorMessage, type Logger } from '../log';
import type { DurableFunction } from '../registry';
import { decodeActions, describeAction, findRescheduled, type DecodedAction } from './actions';
import type { FailureDetailsDto, HistoryEvent } from './history';

/**
 * Timers shorter than this are single timers. Making it ten years keeps the SDK from splitting long
 * timers into chained segments (LongTimerTask), whose hidden sequence numbers the host would
 * otherwise have to mirror; the wait itself is the same.
 */
const MAXIMUM_SHORT_TIMER = '3650.00:00:00';
const LONG_TIMER_INTERVAL = '3.00:00:00';
const HTTP_POLL_MS = 30_000;

export interface EpisodeRequest {
  fn: DurableFunction;
  instanceId: string;
  parentInstanceId?: string;
  /** JSON text of the execution's input. */
  input?: string;
  /** Earlier events, already marked IsPlayed. */
  past: HistoryEvent[];
  /** OrchestratorStarted and the delivered event, IsPlayed false. */
  fresh: HistoryEvent[];
}

export type EpisodeOutcome =
  | { kind: 'yielded' | 'done'; actions: DecodedAction[]; output?: string; customStatus?: string }
  | {
      kind: 'failed';
      error: string;
      failureDetails?: FailureDetailsDto;
      customStatus?: string;
      /** The host's own verdict (not the orchestrator's error): the failure reason is `error` as it is. */
      nonDeterministic?: boolean;
    };

/** Which orchestration an episode ran, for the messages that name it. */
export interface EpisodeOf {
  name: string;
  instanceId: string;
}

const OUT_OF_PROC = '$OutOfProcData$:';

interface WireState {
  isDone?: unknown;
  actions?: unknown;
  output?: unknown;
  error?: unknown;
  customStatus?: unknown;
  failureDetails?: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function jsonOrUndefined(v: unknown): string | undefined {
  return v === undefined ? undefined : JSON.stringify(v);
}

/** The SDK's failure: `"<orchestratorReturned>\n\n$OutOfProcData$:" + JSON(OrchestratorState)`. */
export function decodeFailure(cause: unknown): Extract<EpisodeOutcome, { kind: 'failed' }> {
  const message = errorMessage(cause);
  const at = message.indexOf(OUT_OF_PROC);
  if (at < 0) return { kind: 'failed', error: message };
  let state: WireState;
  try {
    state = JSON.parse(message.slice(at + OUT_OF_PROC.length)) as WireState;
  } catch {
    return { kind: 'failed', error: message.slice(0, at).trim() };
  }
  const error = typeof state.error === 'string' && state.error !== '' ? state.error : 'the orchestrator threw a value that is not an Error';
  return {
    kind: 'failed',
    error,
    failureDetails: isRecord(state.failureDetails) ? (state.failureDetails as unknown as FailureDetailsDto) : undefined,
    customStatus: jsonOrUndefined(state.customStatus),
  };
}

/** The failure of an orchestration whose Task.any/Task.all holds a task it yielded before. */
export function rescheduledError(of: EpisodeOf | undefined, found: NonNullable<ReturnType<typeof findRescheduled>>): string {
  const who = of ? `'${of.name}' (instance ${of.instanceId})` : '(unnamed)';
  const verb = found.action.type === 'waitForEvent' ? 'wait for it' : 'schedule it';
  return (
    `Non-deterministic orchestration ${who}: a Task.any/Task.all holds ${describeAction(found.action)} that was already scheduled; ` +
    `the Durable extension would ${verb} again. Yield each task in at most one Task.any/Task.all.`
  );
}

/**
 * The SDK's OrchestratorState, read as the extension reads it (actions.ts), after the identity
 * check that only the SDK's own objects allow: `result` must be what the orchestrator function
 * returned, not a copy.
 */
export function decodeState(result: unknown, of?: EpisodeOf): EpisodeOutcome {
  if (!isRecord(result) || typeof result.isDone !== 'boolean' || !Array.isArray(result.actions)) {
    return { kind: 'failed', error: 'the orchestrator function did not return an OrchestratorState (is it registered with df.app.orchestration?)' };
  }
  const s = result as WireState;
  const again = findRescheduled(s.actions);
  if (again) {
    const error = rescheduledError(of, again);
    return {
      kind: 'failed',
      error,
      nonDeterministic: true,
      failureDetails: { ErrorType: 'NonDeterministicOrchestrationException', ErrorMessage: error },
      customStatus: jsonOrUndefined(s.customStatus),
    };
  }
  const actions = decodeActions(s.actions);
  return {
    kind: s.isDone === true ? 'done' : 'yielded',
    actions,
    output: s.isDone === true ? (jsonOrUndefined(s.output) ?? 'null') : undefined,
    customStatus: jsonOrUndefined(s.customStatus),
  };
}

export async function runEpisode(invoker: Pick<Invoker, 'invoke'>, log: Logger, req: EpisodeRequest): Promise<EpisodeOutcome> {
  const trigger = {
    history: [...req.past, ...req.fresh],
    instanceId: req.instanceId,
    isReplaying: false,
    parentInstanceId: req.parentInstanceId,
    input: req.input === undefined ? undefined : (JSON.parse(req.input) as unknown),
    upperSchemaVersion: 1,
    upperSchemaVersionNew: 2,
    maximumShortTimerDuration: MAXIMUM_SHORT_TIMER,
    longRunningTimerIntervalDuration: LONG_TIMER_INTERVAL,
    defaultHttpAsyncRequestSleepTimeMillseconds: HTTP_POLL_MS,
  };
  const inputData = [{ name: req.fn.triggerName, data: { json: JSON.stringify(trigger) } }];
  const triggerMetadata = { instanceId: { json: JSON.stringify(req.instanceId) } };
  try {
    const out = await invoker.invoke({ fn: req.fn, inputData, triggerMetadata });
    const decoded = decodeState(out.result, { name: req.fn.name, instanceId: req.instanceId });
    log.invocation({ name: req.fn.name, invocationId: out.invocationId, instanceId: req.instanceId, ms: out.ms, ok: decoded.kind !== 'failed' });
    return decoded;
  } catch (e) {
    if (!(e instanceof InvocationError)) throw e;
    log.invocation({ name: req.fn.name, invocationId: e.invocationId, instanceId: req.instanceId, ms: e.ms, ok: false });
    return decodeFailure(e.cause);
  }
}
