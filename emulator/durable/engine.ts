/**
 * The orchestration scheduler (spec §5). Per instance: the record, the current execution's
 * history and an inbox, with one episode at a time delivering every event waiting in the inbox
 * (batch.ts). An episode replays the history through the real SDK, then commits its history row,
 * the new scheduler state and the consumed inbox rows in one transaction; only then does work
 * start (activities, timers, children) and does a finished child answer its parent. A host killed
 * anywhere in between finds in storage either the old state, with the events still in the inbox,
 * or the new one, with the work still pending: start() re-runs the one and re-arms the other
 * (at-least-once, as in Azure).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import type { ActivityPool } from '../activities';
import type { Invoker } from '../invoker';
import { errorMessage, type Logger } from '../log';
import type { Registry } from '../registry';
import { Semaphore } from '../semaphore';
import { runEpisode, type EpisodeOutcome } from './episode';
import { EventType, completedSeq, history, type HistoryEvent } from './history';
import { notifyParent, startChild, type ChildHost } from './children';
import { isTerminal, validInstanceId, type InboxEntry, type InstanceRecord, type ParentLink } from './model';
import { failureWith, settleEpisode, settleTermination, type Settled } from './settle';
import { newExecution, prepareEvent, type PendingTask, type PreparedEvent } from './state';
import { takeBatch, unconsumedEvents } from './batch';
import { newInboxKey, partitionOf, type DurableStore } from './store';
import { TimerSet } from './timers';

/** What the engine needs of the store, the invoker and the activity pool (tests give it fakes). */
export type EngineStore = Pick<DurableStore, 'readInstance' | 'listInstances' | 'loadInstance' | 'createInstance' | 'appendInbox' | 'commit' | 'deleteRows' | 'purge'>;
export type EngineActivities = Pick<ActivityPool, 'schedule' | 'drain'>;

export interface EngineDeps {
  store: EngineStore;
  registry: Registry;
  invoker: Pick<Invoker, 'invoke'>;
  activities: EngineActivities;
  log: Logger;
  maxConcurrentOrchestratorFunctions: number;
}

interface Active {
  record: InstanceRecord;
  history: HistoryEvent[];
  inbox: InboxEntry[];
  running: boolean;
}

/** What the engine has done since it started (benchmarks read it). */
export interface EngineStats {
  /** Orchestrator episodes run (each a replay of the execution's history through the SDK). */
  episodes: number;
  /** Time spent in those replays, in milliseconds. */
  replayMs: number;
  /** Most history events one execution held (counted before an episode, so continued executions count too). */
  longestHistory: number;
  /** Which orchestration held it. */
  longestHistoryOf: string;
}

export type StartResult = { ok: true; instanceId: string } | { ok: false; status: 400 | 409 | 503; message: string };
export type SendResult = 'accepted' | 'notFound' | 'gone';

const newId = () => randomUUID().replace(/-/g, '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const later = (...t: Array<string | undefined>) => new Date(Math.max(...t.filter((x): x is string => x !== undefined).map(Date.parse))).toISOString();
const timerKey = (instanceId: string, executionId = '', seq = '') => `${instanceId}\u0000${executionId}\u0000${seq}`;

export class Engine {
  private readonly active = new Map<string, Active>();
  /** Instances being written by create(); their id is taken. */
  private readonly creating = new Map<string, Promise<void>>();
  private readonly timers = new TimerSet();
  private readonly loops = new Set<Promise<void>>();
  private readonly slots: Semaphore;
  private readonly children: ChildHost;
  private stopping = false;
  readonly stats: EngineStats = { episodes: 0, replayMs: 0, longestHistory: 0, longestHistoryOf: '' };

  constructor(private readonly d: EngineDeps) {
    this.slots = new Semaphore(d.maxConcurrentOrchestratorFunctions);
    this.children = {
      registry: d.registry,
      find: async (id) => this.active.get(id)?.record ?? (await d.store.readInstance(id)),
      isBeingCreated: async (id) => {
        await this.creating.get(id);
        return this.creating.has(id);
      },
      create: (o) => this.create(o),
      deliver: (id, exec, event) => this.deliver(id, exec, event),
    };
  }

  /** Loads every unfinished instance and resumes its work; returns how many. */
  async start(): Promise<number> {
    for (const r of await this.d.store.listInstances()) {
      if (isTerminal(r.status)) continue;
      const loaded = await this.d.store.loadInstance(r.instanceId);
      if (loaded && !isTerminal(loaded.record.status)) this.active.set(r.instanceId, { ...loaded, running: false });
    }
    for (const a of this.active.values()) {
      const exec = a.record.exec.executionId;
      const answered = new Set(a.inbox.filter((e) => e.executionId === exec).map((e) => completedSeq(e.event)));
      this.dispatch(a, Object.values(a.record.exec.pending).filter((t) => !answered.has(t.seq)));
      this.kick(a);
    }
    return this.active.size;
  }

  /** Stops episodes and timers; running activities get `drainMs` to finish and record results. */
  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    this.timers.clear();
    await this.d.activities.drain(drainMs);
    this.d.log.debug(`activities drained; ${this.loops.size} episode loop(s) still running`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.loops]), new Promise((r) => { timer = setTimeout(r, drainMs); })]);
    clearTimeout(timer);
  }

  /** A running instance's record and history (storage holds the same: commits come first). */
  activeRecord(instanceId: string): { record: InstanceRecord; history: HistoryEvent[] } | undefined {
    const a = this.active.get(instanceId);
    return a && { record: a.record, history: a.history };
  }

  async startNew(name: string, o: { instanceId?: string; input?: string; version?: string }): Promise<StartResult> {
    if (this.stopping) return { ok: false, status: 503, message: 'the host is stopping' };
    const fn = this.d.registry.orchestrations.get(name.toLowerCase());
    if (!fn) return { ok: false, status: 400, message: `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function.` };
    const instanceId = o.instanceId ?? newId();
    if (!validInstanceId(instanceId)) return { ok: false, status: 400, message: `instance id ${JSON.stringify(instanceId)} is empty, too long or has / \\ # ? or control characters` };
    const taken = () => this.active.has(instanceId) || this.creating.has(instanceId);
    const existing = taken() ? undefined : await this.d.store.readInstance(instanceId);
    if (taken() || (existing && !isTerminal(existing.status))) return { ok: false, status: 409, message: `An instance with ID '${instanceId}' already exists.` };
    await this.create({ name: fn.name, instanceId, input: o.input, version: o.version });
    return { ok: true, instanceId };
  }

  raiseEvent(instanceId: string, name: string, input?: string): Promise<SendResult> {
    return this.send(instanceId, history.eventRaised(new Date().toISOString(), name, input));
  }

  terminate(instanceId: string, reason: string): Promise<SendResult> {
    return this.send(instanceId, history.executionTerminated(new Date().toISOString(), reason));
  }

  /** Only finished instances can be purged; a running one answers false. */
  async purge(instanceId: string): Promise<boolean> {
    if (this.active.has(instanceId) || this.creating.has(instanceId)) return false;
    return this.d.store.purge(instanceId);
  }

  private async send(instanceId: string, event: HistoryEvent): Promise<SendResult> {
    await this.creating.get(instanceId);
    if (!this.active.has(instanceId)) return (await this.d.store.readInstance(instanceId)) ? 'gone' : 'notFound';
    const entry: InboxEntry = { key: newInboxKey(), event };
    await this.d.store.appendInbox(instanceId, entry);
    const a = this.active.get(instanceId);
    if (!a) return 'gone';
    a.inbox.push(entry);
    this.kick(a);
    return 'accepted';
  }

  private async create(o: { name: string; instanceId: string; input?: string; version?: string; parent?: ParentLink }): Promise<void> {
    const now = new Date().toISOString();
    const record: InstanceRecord = { ...o, status: 'Pending', createdTime: now, lastUpdatedTime: now, exec: newExecution(newId()), episodes: 0 };
    const write = this.d.store.createInstance(record);
    this.creating.set(o.instanceId, write.catch(() => undefined));
    try {
      await write;
    } finally {
      this.creating.delete(o.instanceId);
    }
    const a: Active = { record, history: [], inbox: [], running: false };
    this.active.set(o.instanceId, a);
    this.kick(a);
  }

  /** Answers scheduled work: persisted first, so a restart does not run it again. */
  private async deliver(instanceId: string, executionId: string, event: HistoryEvent): Promise<void> {
    const live = () => {
      const a = this.active.get(instanceId);
      return a && a.record.exec.executionId === executionId ? a : undefined;
    };
    if (!live()) return;
    const entry: InboxEntry = { key: newInboxKey(), executionId, event };
    await this.d.store.appendInbox(instanceId, entry, 5).catch((e: unknown) => {
      this.d.log.error(`could not persist a result for ${instanceId}; it is kept in memory only (a restart runs the work again)`, e);
    });
    const a = live();
    if (!a) return;
    a.inbox.push(entry);
    this.kick(a);
  }

  private kick(a: Active): void {
    if (a.running || this.stopping) return;
    a.running = true;
    const isCurrent = () => this.active.get(a.record.instanceId) === a;
    const loop = (async () => {
      for (let failures = 0; !this.stopping && isCurrent(); ) {
        try {
          if (!(await this.step(a))) break;
          failures = 0;
        } catch (e) {
          failures++;
          this.d.log.error(`episode of ${a.record.instanceId} failed in the host (retry ${failures})`, e);
          await sleep(Math.min(30_000, 250 * 2 ** failures));
        }
      }
    })().finally(() => {
      a.running = false;
      this.loops.delete(loop);
      // An event may have arrived after the last look at the inbox.
      if ((a.history.length === 0 || a.inbox.length > 0) && isCurrent()) this.kick(a);
    });
    this.loops.add(loop);
  }

  /** Runs one episode with every event waiting (batch.ts); false when there was nothing to deliver. */
  private async step(a: Active): Promise<boolean> {
    const rec = a.record;
    const terminate = a.inbox.find((e) => e.event.EventType === EventType.ExecutionTerminated);
    if (terminate) {
      await this.apply(a, settleTermination(rec, terminate.event, later(new Date().toISOString(), rec.clock)), [terminate]);
      this.d.log.info(`Orchestration ${rec.instanceId} terminated`);
      return false;
    }
    const now = new Date();
    // Everything waiting now would be in the extension's batch, even what the cut leaves for later.
    const waiting = new Set(a.inbox);
    let taken: InboxEntry[] = [];
    let events: HistoryEvent[];
    let prep: PreparedEvent;
    if (a.history.length === 0) {
      const { name, instanceId, input, version, parent } = rec;
      events = [history.executionStarted(now.toISOString(), { name, instanceId, executionId: rec.exec.executionId, input, version, parent })];
      prep = prepareEvent(rec.exec, events[0] as HistoryEvent, rec.instanceId, now);
    } else {
      const batch = takeBatch(rec.exec, a.inbox, rec.instanceId, now);
      if (batch.deliver.length === 0) {
        if (batch.drop.length === 0) return false;
        await this.d.store.deleteRows(partitionOf(rec.instanceId), batch.drop.map((e) => `i-${e.key}`));
        a.inbox = a.inbox.filter((e) => !batch.drop.includes(e));
        return true;
      }
      taken = [...batch.deliver, ...batch.drop];
      events = batch.deliver.map((e) => e.event);
      prep = batch.prep;
    }
    const clock = later(now.toISOString(), rec.clock, prep.fireAt);
    const fresh = [history.orchestratorStarted(clock), ...events.map((e) => ({ ...e, IsPlayed: false }))];
    const fn = this.d.registry.orchestrations.get(rec.name.toLowerCase());
    const replayStarted = performance.now();
    const outcome: EpisodeOutcome = fn
      ? await this.slots.run(() => runEpisode(this.d.invoker, this.d.log, { fn, instanceId: rec.instanceId, parentInstanceId: rec.parent?.instanceId, input: rec.input, past: a.history, fresh }))
      : { kind: 'failed', error: `The function '${rec.name}' doesn't exist, is disabled, or is not an orchestrator function.` };
    this.stats.episodes++;
    this.stats.replayMs += performance.now() - replayStarted;
    if (a.history.length + fresh.length > this.stats.longestHistory) {
      this.stats.longestHistory = a.history.length + fresh.length;
      this.stats.longestHistoryOf = `${rec.name} ${rec.instanceId}`;
    }
    const settled = settleEpisode(rec, prep, outcome, fresh, clock, newId());
    if (settled.record.status === 'Failed') this.d.log.warn(`Orchestration ${rec.instanceId}: ${settled.record.failure?.reason ?? 'failed'}`);
    if (settled.continuedAsNew && outcome.kind === 'done') {
      const undelivered = a.inbox.filter((e) => waiting.has(e) && !taken.includes(e) && e.event.EventType === EventType.EventRaised).map((e) => e.event);
      for (const e of [...unconsumedEvents([...a.history, ...fresh], outcome.actions), ...undelivered]) {
        this.d.log.warn(
          `Orchestration ${rec.instanceId} ('${rec.name}') continued as new: event '${String(e.Name)}' raised at ${e.Timestamp} was not consumed by a waiter ` +
            'and is dropped (the Durable extension drops unprocessed events on continueAsNew)',
        );
      }
    }
    await this.apply(a, settled, taken, waiting);
    if (isTerminal(settled.record.status)) return false;
    for (const f of prep.failNow) {
      const at = new Date().toISOString();
      const answer = f.kind === 'activity' ? history.taskFailed(at, f.seq, f.failure) : history.subOrchestrationFailed(at, f.seq, f.failure);
      void this.deliver(rec.instanceId, settled.record.exec.executionId, answer);
    }
    return true;
  }

  /** Commits a settled episode, then makes memory and the outside world follow it. */
  private async apply(a: Active, s: Settled, taken: InboxEntry[], waiting = new Set<InboxEntry>()): Promise<void> {
    const old = a.record;
    const terminal = isTerminal(s.record.status);
    const rest = a.inbox.filter((e) => !taken.includes(e));
    // On continueAsNew, answers to the old execution's work are void. A raised event that arrived
    // while this episode ran targets no execution: the new one receives it (in Azure it is still in
    // the queue). One that was waiting when the episode began would have been in the extension's
    // batch, so in the old execution's history, unconsumed: it goes too.
    const carried = (e: InboxEntry) => e.event.EventType === EventType.EventRaised && !waiting.has(e);
    const dropped = terminal ? rest : s.continuedAsNew ? rest.filter((e) => !carried(e)) : [];
    await this.d.store.commit({
      record: s.record,
      history: s.continuedAsNew ? undefined : { episode: old.episodes, events: s.recorded },
      consumed: taken.map((e) => e.key),
      dropInbox: dropped.map((e) => e.key),
      dropHistoryOf: s.continuedAsNew ? old.exec.executionId : undefined,
    });
    a.record = s.record;
    a.history = s.continuedAsNew ? [] : [...a.history, ...s.recorded];
    a.inbox = a.inbox.filter((e) => !taken.includes(e) && !dropped.includes(e));
    if (terminal || s.continuedAsNew) this.timers.cancelPrefix(timerKey(old.instanceId, old.exec.executionId));
    if (terminal) {
      this.active.delete(old.instanceId);
      await notifyParent(this.children, s.record);
      return;
    }
    for (const seq of s.cancel) this.timers.cancel(timerKey(old.instanceId, s.record.exec.executionId, String(seq)));
    this.dispatch(a, s.start);
  }

  private dispatch(a: Active, tasks: PendingTask[]): void {
    const { instanceId } = a.record;
    const executionId = a.record.exec.executionId;
    for (const t of tasks) {
      switch (t.kind) {
        case 'activity':
          this.d.activities.schedule({ instanceId, executionId, seq: t.seq, name: t.name, input: t.input }, (job, event) => this.deliver(job.instanceId, job.executionId, event));
          break;
        case 'timer':
        case 'retryTimer':
          this.timers.arm(timerKey(instanceId, executionId, String(t.seq)), new Date(t.fireAt), () => {
            void this.deliver(instanceId, executionId, history.timerFired(new Date().toISOString(), t.seq, t.fireAt));
          });
          break;
        case 'subOrchestration':
          // Starting a child is idempotent (it recognises its own earlier start), so a storage blip is
          // retried with back-off, as Azure's provider does, before the parent is told it failed.
          retryStart(() => startChild(this.children, instanceId, executionId, t)).catch((e: unknown) => {
            this.d.log.error(`starting sub-orchestration ${t.instanceId} of ${instanceId} failed`, e);
            void this.deliver(instanceId, executionId, history.subOrchestrationFailed(new Date().toISOString(), t.seq, failureWith('Error', errorMessage(e))));
          });
          break;
      }
    }
  }
}

/** Up to 8 attempts over about a minute (0.25 s doubling to 16 s). */
async function retryStart(start: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= 7) throw err;
      await new Promise((r) => setTimeout(r, Math.min(16_000, 250 * 2 ** attempt)));
    }
  }
}
