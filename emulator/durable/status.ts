/**
 * Instance status as the Durable extension's HTTP API returns it: the fields
 * DurableOrchestrationStatus requires (input and output always present), timestamps without
 * fractions, and with showHistory the extension's condensed history (scheduling events folded
 * into their completions, OrchestratorStarted/Completed left out).
 */
import { EVENT_TYPE_NAMES, EventType, type HistoryEvent } from './history';
import type { InstanceRecord } from './model';

export interface StatusOptions {
  showInput: boolean;
  history?: HistoryEvent[];
  showHistoryOutput?: boolean;
}

function parse(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `yyyy-MM-ddTHH:mm:ssZ`, the extension's format. */
export function wireTime(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function toStatus(rec: InstanceRecord, o: StatusOptions): Record<string, unknown> {
  const status: Record<string, unknown> = {
    name: rec.name,
    instanceId: rec.instanceId,
    runtimeStatus: rec.status,
    input: o.showInput ? parse(rec.input) : null,
    customStatus: parse(rec.customStatus),
    output: parse(rec.output),
    createdTime: wireTime(rec.createdTime),
    lastUpdatedTime: wireTime(rec.lastUpdatedTime),
  };
  if (o.history) status.historyEvents = condenseHistory(o.history, o.showHistoryOutput === true);
  return status;
}

export function condenseHistory(events: HistoryEvent[], withOutput: boolean): Array<Record<string, unknown>> {
  const scheduled = new Map<number, HistoryEvent>();
  const out: Array<Record<string, unknown>> = [];
  for (const e of events) {
    const base = { EventType: EVENT_TYPE_NAMES[e.EventType] ?? String(e.EventType), Timestamp: e.Timestamp };
    switch (e.EventType) {
      case EventType.TaskScheduled:
      case EventType.SubOrchestrationInstanceCreated:
      case EventType.TimerCreated:
        scheduled.set(e.EventId, e);
        break;
      case EventType.ExecutionStarted:
        out.push({ ...base, FunctionName: e.Name, ...(withOutput ? { Input: parse(e.Input) } : {}) });
        break;
      case EventType.TaskCompleted:
      case EventType.SubOrchestrationInstanceCompleted:
      case EventType.TaskFailed:
      case EventType.SubOrchestrationInstanceFailed: {
        const s = scheduled.get(e.TaskScheduledId ?? -1);
        out.push({
          ...base,
          FunctionName: s?.Name,
          ...(s?.InstanceId ? { InstanceId: s.InstanceId } : {}),
          ScheduledTime: s?.Timestamp,
          ...(e.Result !== undefined && withOutput ? { Result: parse(e.Result) } : {}),
          ...(e.Reason !== undefined ? { Reason: e.Reason, Details: e.Details } : {}),
        });
        break;
      }
      case EventType.TimerFired:
        out.push({ ...base, TimerId: e.TimerId, FireAt: e.FireAt });
        break;
      case EventType.EventRaised:
        out.push({ ...base, Name: e.Name, ...(withOutput ? { Input: parse(e.Input) } : {}) });
        break;
      case EventType.ExecutionCompleted:
        out.push({ ...base, OrchestrationStatus: e.OrchestrationStatus, ...(withOutput ? { Result: parse(e.Result) } : {}) });
        break;
      case EventType.ExecutionTerminated:
        out.push({ ...base, Input: e.Input });
        break;
      default:
        break;
    }
  }
  return out;
}
