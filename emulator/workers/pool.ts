/**
 * The host's activity workers: child processes (workers/worker.ts) that each load the app and run
 * the invocations sent to them. A worker that exits fails what it was running (TaskFailed, as the
 * Functions host fails invocations of a language worker that died) and is replaced; an invocation
 * that outlives functionTimeout is answered with Azure's timeout failure and its worker is killed,
 * as the Functions host recycles a worker whose function timed out.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { ActivityJob } from '../activities';
import { history, type Failure, type HistoryEvent } from '../durable/history';
import type { Logger } from '../log';
import type { FromWorker, ToWorker, WorkerInit } from './protocol';

/** The worker's script: beside this file when built; the built one when running from the TypeScript sources (vite-node). */
function workerEntry(): string {
  for (const file of [join(__dirname, 'worker.js'), resolve(__dirname, '..', '..', 'dist', 'emulator', 'workers', 'worker.js')]) {
    if (existsSync(file)) return file;
  }
  throw new Error(`the activity worker (dist/emulator/workers/worker.js) is missing: build the host first (npm run build)`);
}
const START_MS = 60_000;

/** A .NET TimeSpan as the Functions host prints it: [d.]hh:mm:ss. */
export function formatTimeSpan(ms: number): string {
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(s / 86_400);
  const hms = `${pad(Math.floor((s % 86_400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return days > 0 ? `${days}.${hms}` : hms;
}

/** What an activity that outlived functionTimeout answers (Microsoft.Azure.WebJobs.Host.FunctionTimeoutException). */
export function timeoutFailure(name: string, timeoutMs: number): Failure {
  const message = `Timeout value of ${formatTimeSpan(timeoutMs)} was exceeded by function: Functions.${name}`;
  return {
    reason: `Activity function '${name}' failed: ${message}`,
    details: JSON.stringify({ Message: message, StackTrace: null }),
    failureDetails: { ErrorType: 'Microsoft.Azure.WebJobs.Host.FunctionTimeoutException', ErrorMessage: message, IsNonRetriable: false },
  };
}

function exitFailure(name: string, pid: number | undefined, how: string): Failure {
  const message = `The activity worker process (pid ${pid ?? '?'}) running '${name}' exited (${how}) before it answered`;
  return {
    reason: `Activity function '${name}' failed: ${message}`,
    details: JSON.stringify({ Message: message, StackTrace: null }),
    failureDetails: { ErrorType: 'WorkerProcessExitException', ErrorMessage: message, IsNonRetriable: false },
  };
}

interface Running {
  job: ActivityJob;
  answer(event: HistoryEvent): void;
  timer?: NodeJS.Timeout;
}

/** One worker process. */
export class Worker {
  readonly child: ChildProcess;
  ready = false;
  /** It loaded the app once (a worker that never did is not replaced at once). */
  loaded = false;
  exited = false;
  private readonly running = new Map<number, Running>();
  private nextId = 0;
  /** Settles once the worker answered init: true when ready, false when it failed or exited. */
  readonly started: Promise<boolean>;
  readonly exit: Promise<void>;

  constructor(
    readonly no: number,
    init: Omit<WorkerInit, 'type'>,
    private readonly log: Logger,
    private readonly isStopping: () => boolean,
    onExit: (w: Worker) => void,
    /** The number of the worker this one replaces. */
    private readonly replacing?: number,
  ) {
    this.child = fork(workerEntry(), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    let settle: (ok: boolean) => void = () => undefined;
    this.started = new Promise((r) => { settle = r; });
    const timer = setTimeout(() => {
      this.log.error(`activity worker ${this.no} (pid ${this.child.pid ?? '?'}) did not load the app in ${START_MS / 1000} s`);
      this.child.kill('SIGKILL');
    }, START_MS);
    this.child.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'ready':
          clearTimeout(timer);
          this.ready = true;
          this.loaded = true;
          this.log[this.replacing === undefined ? 'debug' : 'info'](
            `activity worker ${this.no} (pid ${this.child.pid ?? '?'}) loaded ${m.activities} activities${this.replacing === undefined ? '' : `, replacing worker ${this.replacing}`}`,
          );
          settle(true);
          break;
        case 'failed':
          clearTimeout(timer);
          this.log.error(`activity worker ${this.no} (pid ${this.child.pid ?? '?'}) could not load the app:\n${m.error}`);
          settle(false);
          break;
        case 'log':
          this.log[m.level](m.text);
          break;
        case 'done':
          this.finish(m.id, m.event);
          break;
      }
    });
    this.exit = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.exited = true;
        this.ready = false;
        settle(false);
        const how = signal ? `signal ${signal}` : `code ${code ?? '?'}`;
        if (!this.isStopping()) {
          if (this.running.size > 0) this.log.error(`activity worker ${this.no} (pid ${this.child.pid ?? '?'}) exited (${how}) with ${this.running.size} invocation(s) running; they fail`);
          for (const [id, r] of this.running) this.finish(id, history.taskFailed(new Date().toISOString(), r.job.seq, exitFailure(r.job.name, this.child.pid, how)));
        }
        this.running.clear();
        onExit(this);
        resolve();
      });
    });
    this.child.on('error', (e) => this.log.error(`activity worker ${this.no}: ${e.message}`));
    this.send({ type: 'init', ...init });
  }

  get busy(): number {
    return this.running.size;
  }

  /** Runs `job`; `timeoutMs` (functionTimeout) kills the worker and answers with Azure's timeout failure. */
  invoke(job: ActivityJob, timeoutMs: number | undefined): Promise<HistoryEvent> {
    const id = this.nextId++;
    if (this.exited || !this.child.connected) {
      return Promise.resolve(history.taskFailed(new Date().toISOString(), job.seq, exitFailure(job.name, this.child.pid, 'before the invocation reached it')));
    }
    return new Promise((answer) => {
      const r: Running = { job, answer };
      if (timeoutMs !== undefined) {
        r.timer = setTimeout(() => {
          this.log.error(
            `Timeout value of ${formatTimeSpan(timeoutMs)} exceeded by function 'Functions.${job.name}' (instance ${job.instanceId}): ` +
              `killing activity worker ${this.no} (pid ${this.child.pid ?? '?'})`,
          );
          this.finish(id, history.taskFailed(new Date().toISOString(), job.seq, timeoutFailure(job.name, timeoutMs)));
          this.child.kill('SIGKILL');
        }, timeoutMs);
      }
      this.running.set(id, r);
      this.send({ type: 'invoke', id, job });
    });
  }

  /** Asks the worker to run appTerminate and exit; SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (this.exited) return;
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exit;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private finish(id: number, event: HistoryEvent): void {
    const r = this.running.get(id);
    if (!r) return;
    clearTimeout(r.timer);
    this.running.delete(id);
    r.answer(event);
  }

  private send(m: ToWorker): void {
    if (this.child.connected) this.child.send(m);
  }
}

export interface WorkerPoolOptions {
  size: number;
  init: Omit<WorkerInit, 'type'>;
  log: Logger;
}

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private waiters: Array<() => void> = [];
  private stopping = false;
  private spawned = 0;
  private failures = 0;

  constructor(private readonly o: WorkerPoolOptions) {
    if (!Number.isInteger(o.size) || o.size < 2) throw new RangeError(`activity workers must be at least 2, got ${o.size}`);
  }

  get size(): number {
    return this.o.size;
  }

  /** Pids of the live workers. */
  get pids(): number[] {
    return this.workers.filter((w) => !w.exited).map((w) => w.child.pid ?? -1);
  }

  /** Starts every worker; throws when one cannot load the app. */
  async start(): Promise<void> {
    const first = Array.from({ length: this.o.size }, () => this.spawn());
    const ok = await Promise.all(first.map((w) => w.started));
    if (ok.includes(false)) {
      this.stopping = true;
      first.forEach((w) => w.kill());
      throw new Error('an activity worker could not load the app (see the log above)');
    }
  }

  /** `count` distinct workers chosen at random among the ready ones (waits for them). */
  async pick(count: number): Promise<Worker[]> {
    const n = Math.min(count, this.o.size);
    for (;;) {
      if (this.stopping) throw new Error('the activity workers are stopping');
      const ready = this.workers.filter((w) => w.ready && !w.exited);
      if (ready.length >= n) {
        const chosen: Worker[] = [];
        while (chosen.length < n) {
          const [w] = ready.splice(Math.floor(Math.random() * ready.length), 1);
          if (w) chosen.push(w);
        }
        return chosen;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wake();
    await Promise.all(this.workers.map((w) => w.stop(graceMs)));
  }

  private spawn(replacing?: number): Worker {
    const w = new Worker(++this.spawned, this.o.init, this.o.log, () => this.stopping, (gone) => this.replace(gone), replacing);
    this.workers.push(w);
    void w.started.then((ok) => {
      if (ok) this.failures = 0;
      this.wake();
    });
    return w;
  }

  private replace(gone: Worker): void {
    const i = this.workers.indexOf(gone);
    if (i >= 0) this.workers.splice(i, 1);
    this.wake();
    if (this.stopping) return;
    this.failures = gone.loaded ? 0 : this.failures + 1;
    const delay = Math.min(30_000, this.failures === 0 ? 0 : 500 * 2 ** this.failures);
    this.o.log.info(`replacing activity worker ${gone.no}${delay > 0 ? ` in ${delay} ms` : ''}`);
    setTimeout(() => {
      if (!this.stopping) this.spawn(gone.no);
    }, delay).unref();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((r) => r());
  }
}
