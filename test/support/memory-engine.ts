/**
 * The host's scheduler (emulator/durable/engine.ts) in memory, for unit tests: a store that keeps
 * the rows the engine commits, an invoker that runs orchestrators through the REAL durable-functions
 * replay engine (optionally held mid-episode, so a test decides what arrives meanwhile), an activity
 * pool the test answers by hand, and a log that keeps its lines.
 */
import { createRequire } from 'node:module';

import * as df from 'durable-functions';

import { Engine } from '../../emulator/durable/engine';
import { EVENT_TYPE_NAMES, history, type Failure, type HistoryEvent } from '../../emulator/durable/history';
import type { InboxEntry, InstanceRecord } from '../../emulator/durable/model';
import type { Commit, LoadedInstance } from '../../emulator/durable/store';
import type { ActivityDone, ActivityJob } from '../../emulator/activities';
import { InvocationError, type InvocationRequest, type InvocationResult } from '../../emulator/invoker';
import { Logger, type LogLevel } from '../../emulator/log';
import type { DurableFunction, Registry } from '../../emulator/registry';

type Handler = (trigger: unknown, context: unknown) => Promise<unknown>;
export type OrchestratorFn = (context: df.OrchestrationContext) => Generator<unknown, unknown, unknown>;
const { Orchestrator } = createRequire(__filename)('durable-functions/lib/src/orchestrations/Orchestrator') as {
  Orchestrator: new (fn: OrchestratorFn) => { listen(): Handler };
};

/** Rows as the engine commits them, one partition per instance. */
export class MemoryStore {
  readonly records = new Map<string, InstanceRecord>();
  /** instanceId → executionId → episode → events */
  readonly histories = new Map<string, Map<string, Map<number, HistoryEvent[]>>>();
  readonly inboxes = new Map<string, Map<string, InboxEntry>>();
  commits = 0;

  async readInstance(id: string): Promise<InstanceRecord | undefined> {
    return this.records.get(id);
  }

  async listInstances(): Promise<InstanceRecord[]> {
    return [...this.records.values()];
  }

  async loadInstance(id: string): Promise<LoadedInstance | undefined> {
    const record = this.records.get(id);
    if (!record) return undefined;
    return { record, history: this.historyOf(id), inbox: [...(this.inboxes.get(id)?.values() ?? [])].sort((a, b) => a.key.localeCompare(b.key)) };
  }

  async createInstance(record: InstanceRecord): Promise<void> {
    this.histories.delete(record.instanceId);
    this.inboxes.delete(record.instanceId);
    await this.commit({ record, consumed: [] });
  }

  async appendInbox(id: string, entry: InboxEntry): Promise<void> {
    const inbox = this.inboxes.get(id) ?? new Map<string, InboxEntry>();
    inbox.set(entry.key, entry);
    this.inboxes.set(id, inbox);
  }

  async commit(c: Commit): Promise<void> {
    this.commits++;
    const id = c.record.instanceId;
    this.records.set(id, structuredClone(c.record));
    if (c.history) {
      const execs = this.histories.get(id) ?? new Map<string, Map<number, HistoryEvent[]>>();
      const episodes = execs.get(c.record.exec.executionId) ?? new Map<number, HistoryEvent[]>();
      episodes.set(c.history.episode, structuredClone(c.history.events));
      execs.set(c.record.exec.executionId, episodes);
      this.histories.set(id, execs);
    }
    for (const k of [...c.consumed, ...(c.dropInbox ?? [])]) this.inboxes.get(id)?.delete(k);
    if (c.dropHistoryOf) this.histories.get(id)?.delete(c.dropHistoryOf);
  }

  async deleteRows(pk: string, rowKeys: string[]): Promise<void> {
    const id = decodeURIComponent(pk);
    for (const rk of rowKeys) if (rk.startsWith('i-')) this.inboxes.get(id)?.delete(rk.slice(2));
  }

  async purge(id: string): Promise<boolean> {
    return this.records.delete(id);
  }

  /** The current execution's history, episodes in order. */
  historyOf(id: string): HistoryEvent[] {
    const exec = this.records.get(id)?.exec.executionId ?? '';
    const episodes = this.histories.get(id)?.get(exec) ?? new Map<number, HistoryEvent[]>();
    return [...episodes.entries()].sort(([a], [b]) => a - b).flatMap(([, e]) => e);
  }

  /** The current execution's episodes, each as the event types it delivered (after OrchestratorStarted). */
  deliveredPerEpisode(id: string): string[][] {
    const exec = this.records.get(id)?.exec.executionId ?? '';
    const episodes = this.histories.get(id)?.get(exec) ?? new Map<number, HistoryEvent[]>();
    const delivered = new Set([0, 3, 5, 6, 8, 9, 11, 15]);
    return [...episodes.entries()].sort(([a], [b]) => a - b).map(([, events]) =>
      events.filter((e) => delivered.has(e.EventType)).map((e) => (e.EventType === 15 ? `EventRaised:${String(e.Name)}` : (EVENT_TYPE_NAMES[e.EventType] ?? String(e.EventType)))),
    );
  }
}

/** Runs orchestrators through the SDK's replay engine; `hold()` parks the next episodes until released. */
export class ReplayInvoker {
  private readonly handlers = new Map<string, Handler>();
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  /** Episodes parked at the gate right now. */
  parked = 0;
  episodes = 0;

  add(name: string, fn: OrchestratorFn): void {
    this.handlers.set(name.toLowerCase(), new Orchestrator(fn).listen());
  }

  hold(): void {
    this.gate ??= new Promise((r) => { this.open = r; });
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
    this.open = undefined;
  }

  async invoke(req: InvocationRequest): Promise<InvocationResult> {
    const handler = this.handlers.get(req.fn.name.toLowerCase());
    if (!handler) throw new Error(`no orchestrator ${req.fn.name}`);
    if (this.gate) {
      this.parked++;
      await this.gate;
      this.parked--;
    }
    this.episodes++;
    const trigger = JSON.parse(String(req.inputData[0]?.data?.json)) as unknown;
    try {
      return { invocationId: `inv-${this.episodes}`, result: await handler(trigger, new df.DummyOrchestrationContext()), ms: 0 };
    } catch (e) {
      throw new InvocationError(`inv-${this.episodes}`, 0, e);
    }
  }
}

/** Activities the test answers: each scheduled job waits in `jobs` until answered. */
export class ManualActivities {
  readonly jobs: Array<{ job: ActivityJob; done: ActivityDone }> = [];

  schedule(job: ActivityJob, done: ActivityDone): void {
    this.jobs.push({ job, done });
  }

  async drain(): Promise<void> {}

  private take(name: string): { job: ActivityJob; done: ActivityDone } {
    const i = this.jobs.findIndex((j) => j.job.name === name);
    const found = this.jobs[i];
    if (!found) throw new Error(`no activity ${name} is waiting (waiting: ${this.jobs.map((j) => j.job.name).join(', ')})`);
    this.jobs.splice(i, 1);
    return found;
  }

  async complete(name: string, result: unknown): Promise<void> {
    const { job, done } = this.take(name);
    await done(job, history.taskCompleted(new Date().toISOString(), job.seq, JSON.stringify(result)));
  }

  async fail(name: string, message: string): Promise<void> {
    const { job, done } = this.take(name);
    const f: Failure = { reason: message, details: message, failureDetails: { ErrorType: 'Error', ErrorMessage: message } };
    await done(job, history.taskFailed(new Date().toISOString(), job.seq, f));
  }
}

export class MemoryLog extends Logger {
  readonly lines: Array<{ level: LogLevel; msg: string }> = [];

  constructor() {
    super('debug');
  }

  protected override write(level: LogLevel, msg: string): void {
    this.lines.push({ level, msg });
  }

  warnings(): string[] {
    return this.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
  }
}

export interface MemoryEngine {
  engine: Engine;
  store: MemoryStore;
  invoker: ReplayInvoker;
  activities: ManualActivities;
  log: MemoryLog;
  /** Waits until `probe` holds (polling every few ms), failing after `ms`. */
  until(what: string, probe: () => boolean, ms?: number): Promise<void>;
  status(id: string): InstanceRecord | undefined;
}

export function memoryEngine(orchestrators: Record<string, OrchestratorFn>): MemoryEngine {
  const store = new MemoryStore();
  const invoker = new ReplayInvoker();
  const activities = new ManualActivities();
  const log = new MemoryLog();
  const registry: Registry = { all: [], http: [], orchestrations: new Map(), activities: new Map() };
  for (const [name, fn] of Object.entries(orchestrators)) {
    invoker.add(name, fn);
    const entry: DurableFunction = { kind: 'orchestration', name, triggerName: 'context', clientBindings: [], fn: { metadata: { name, bindings: {} }, callback: () => undefined } };
    registry.orchestrations.set(name.toLowerCase(), entry);
  }
  const engine = new Engine({ store, registry, invoker, activities, log, maxConcurrentOrchestratorFunctions: 4 });
  const until = async (what: string, probe: () => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log.lines.map((l) => `${l.level} ${l.msg}`).join('\n')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { engine, store, invoker, activities, log, until, status: (id) => store.records.get(id) };
}
