/**
 * What one episode delivers, and what continueAsNew drops (pure, like state.ts).
 *
 * An episode takes every event waiting in the instance's inbox, as the extension's dispatcher
 * takes every message of the instance's batch, up to the control queue's batch size. One cut
 * keeps sequence numbers exact: the SDK allocates the ids of retry bookkeeping (a back-off timer
 * after a failed *WithRetry attempt, the next attempt when it fires) while it processes that event,
 * but the ids of new actions only when user code runs, which any other event may trigger. The host
 * allocates bookkeeping before the episode and actions after it, which matches only while every
 * allocating event comes before every other: a batch ends before an allocating event that follows
 * another kind. The rest waits for the next episode.
 */
import type { DecodedAction } from './actions';
import { EventType, type HistoryEvent } from './history';
import type { InboxEntry } from './model';
import { prepareEvent, type ExecutionState, type PreparedEvent } from './state';

/** Azure Storage's default controlQueueBatchSize; also keeps an episode's commit one transaction. */
export const MAX_BATCH = 32;

export interface Batch {
  /** Delivered in this episode, in arrival order. */
  deliver: InboxEntry[];
  /** Answers nobody waits for any more (cancelled timers, another execution's work): consumed unrecorded. */
  drop: InboxEntry[];
  /** The batch's transitions, chained: bookkeeping history, work to start, immediate failures. */
  prep: PreparedEvent;
}

function merge(into: PreparedEvent, next: PreparedEvent): PreparedEvent {
  const fireAt = [into.fireAt, next.fireAt].filter((t): t is string => t !== undefined).sort().pop();
  return {
    stale: false,
    exec: next.exec,
    recorded: [...into.recorded, ...next.recorded],
    start: [...into.start, ...next.start],
    failNow: [...into.failNow, ...next.failNow],
    fireAt,
  };
}

export function takeBatch(exec: ExecutionState, inbox: readonly InboxEntry[], instanceId: string, now: Date, max = MAX_BATCH): Batch {
  const out: Batch = { deliver: [], drop: [], prep: { stale: false, exec, recorded: [], start: [], failNow: [] } };
  let userCodeMayRun = false;
  for (const entry of inbox) {
    if (out.deliver.length + out.drop.length >= max) break;
    if (entry.executionId !== undefined && entry.executionId !== exec.executionId) {
      out.drop.push(entry);
      continue;
    }
    const prep = prepareEvent(out.prep.exec, entry.event, instanceId, now);
    if (prep.stale) {
      out.drop.push(entry);
      continue;
    }
    const allocates = prep.exec.nextSeq > out.prep.exec.nextSeq;
    if (allocates && userCodeMayRun) break;
    if (!allocates) userCodeMayRun = true;
    out.deliver.push(entry);
    out.prep = merge(out.prep, prep);
  }
  return out;
}

/**
 * The raised events of an execution that no waiter consumed, which the extension drops when the
 * orchestration continues as new (preserveUnprocessedEvents is false, and the JS SDK cannot ask
 * otherwise). The extension registers one waiter per WaitForExternalEvent action it receives
 * (names case-insensitive); a waiter takes the oldest event buffered before it or the next to
 * arrive, so per name the events beyond the number of waiters, the latest ones, are unconsumed.
 */
export function unconsumedEvents(history: readonly HistoryEvent[], actions: readonly DecodedAction[]): HistoryEvent[] {
  const waiters = new Map<string, number>();
  for (const a of actions) {
    if (a.type === 'waitForEvent') waiters.set(a.name.toLowerCase(), (waiters.get(a.name.toLowerCase()) ?? 0) + 1);
  }
  const seen = new Map<string, number>();
  return history.filter((e) => {
    if (e.EventType !== EventType.EventRaised) return false;
    const name = String(e.Name ?? '').toLowerCase();
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n > (waiters.get(name) ?? 0);
  });
}
