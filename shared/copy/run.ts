/**
 * A whole-database copy runner for tests, benchmarks and the command line (the Durable
 * orchestrator fans chunks out itself): bounded parallelism in chunks, tables and index builds;
 * largest tables first; a table's post-data (indexes, keys) starts the moment its last chunk
 * lands, while other tables still copy.
 */
import { performance } from 'node:perf_hooks';
import type { Client } from 'pg';
import { closeQuietly, connect, destroyClient } from '../pg/connect';
import type { ServerEndpoint } from '../pg/endpoint';
import { copyChunk } from './copy-chunk';
import { CopyError, copyErrorOf } from './errors';
import { planChunks } from './plan';
import { closeCopySession, openCopySession, prepareTargetSession, type CopySession } from './session';
import { maxLsn } from './snapshot';
import { qualifiedName, tableKeyOf, type ChunkResult, type CopyChunk, type CopyPlan, type TablePlan } from './types';

export interface RunCopyOptions {
  source: ServerEndpoint;
  target: ServerEndpoint;
  plan: CopyPlan;
  /** Chunk copies at once (each holds one source and one target connection); default 4. */
  chunkJobs?: number;
  /** Tables being copied at once; default 4. */
  tableJobs?: number;
  /** Post-data statements (index builds) at once, on their own target connections; default 4. */
  indexJobs?: number;
  /** Attempts after a retryable failure of a chunk; default 3. 0 = fail at once. */
  retries?: number;
  retryDelayMs?: number;
  format?: 'auto' | 'text';
  maintenanceWorkMem?: string;
  /**
   * Statements to run once the table is loaded; each string runs on its own connection (so one
   * table's indexes build in parallel) and may hold several `;`-separated statements run in order.
   */
  postData?: (table: TablePlan) => string[] | Promise<string[]>;
  /** Called when a table's last chunk landed (e.g. to trigger the schema phase's post-data). */
  onTableLoaded?: (table: TablePlan, results: ChunkResult[]) => void | Promise<void>;
  /** Called when a chunk attempt starts (the orchestrator's "loading" mark). */
  onChunkStart?: (chunk: CopyChunk) => void;
  onChunkDone?: (chunk: CopyChunk, result: ChunkResult) => void;
  signal?: AbortSignal;
}

export interface TableOutcome {
  schema: string;
  table: string;
  rows: number;
  bytes: number;
  chunks: number;
  /** Seconds from the table's first chunk start to its last chunk landing. */
  loadSeconds: number;
  /** Seconds its post-data statements took (wall clock), when any. */
  postDataSeconds?: number;
}

export interface RunCopyResult {
  chunks: ChunkResult[];
  tables: TableOutcome[];
  /** Highest end LSN of all chunks: past it, CDC replay is exact. */
  consistencyLsn: string | null;
  seconds: number;
  /** Chunk attempts that failed and were retried. */
  retried: number;
}

/** A bounded pool of workers over a growing queue of jobs. */
class JobQueue {
  private readonly jobs: Array<() => Promise<void>> = [];
  private running = 0;
  private idle: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  push(job: () => Promise<void>): void {
    this.jobs.push(job);
    this.pump();
  }
  private pump(): void {
    while (this.running < this.limit && this.jobs.length > 0) {
      const job = this.jobs.shift() as () => Promise<void>;
      this.running++;
      void job().finally(() => {
        this.running--;
        this.pump();
      });
    }
    if (this.running === 0 && this.jobs.length === 0) for (const wake of this.idle.splice(0)) wake();
  }
  drained(): Promise<void> {
    if (this.running === 0 && this.jobs.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}

export async function runCopy(opts: RunCopyOptions): Promise<RunCopyResult> {
  const started = performance.now();
  const chunkJobs = Math.max(1, opts.chunkJobs ?? 4);
  const tableJobs = Math.max(1, opts.tableJobs ?? 4);
  const retries = opts.retries ?? 3;
  const sessionOpts = { ...(opts.maintenanceWorkMem ? { maintenanceWorkMem: opts.maintenanceWorkMem } : {}) };

  const queue = planChunks(opts.plan);
  const tables = new Map(opts.plan.tables.map((t) => [tableKeyOf(t), t]));
  const remaining = new Map(opts.plan.tables.map((t) => [tableKeyOf(t), t.chunks.length]));
  const byTable = new Map<string, ChunkResult[]>();
  const firstStart = new Map<string, number>();
  const outcomes = new Map<string, TableOutcome>();
  const active = new Set<string>();
  const results: ChunkResult[] = [];
  const failures: Error[] = [];
  let retried = 0;
  let wake: () => void = () => undefined;
  let changed = new Promise<void>((r) => (wake = r));
  const notify = () => {
    const w = wake;
    changed = new Promise<void>((r) => (wake = r));
    w();
  };

  const indexClients: Client[] = [];
  const freeIndexClients: Client[] = [];
  const indexQueue = new JobQueue(Math.max(1, opts.indexJobs ?? 4));
  const runPostData = async (statement: string): Promise<void> => {
    let client = freeIndexClients.pop();
    if (!client) {
      client = await connect(opts.target);
      indexClients.push(client);
      await prepareTargetSession(client, { ...sessionOpts, applicationName: 'pgferry-index' });
    }
    try {
      await client.query(statement);
      freeIndexClients.push(client);
    } catch (err) {
      destroyClient(client);
      throw err;
    }
  };

  const tableLoaded = async (key: string): Promise<void> => {
    const table = tables.get(key) as TablePlan;
    const chunkResults = byTable.get(key) ?? [];
    const outcome: TableOutcome = {
      schema: table.schema,
      table: table.table,
      rows: chunkResults.reduce((s, r) => s + r.rows, 0),
      bytes: chunkResults.reduce((s, r) => s + r.bytes, 0),
      chunks: chunkResults.length,
      loadSeconds: (performance.now() - (firstStart.get(key) ?? performance.now())) / 1000,
    };
    outcomes.set(key, outcome);
    await opts.onTableLoaded?.(table, chunkResults);
    const statements = (await opts.postData?.(table)) ?? [];
    if (statements.length === 0) return;
    const t0 = performance.now();
    let left = statements.length;
    for (const statement of statements) {
      indexQueue.push(async () => {
        try {
          await runPostData(statement);
        } catch (err) {
          failures.push(copyErrorOf(err, { table: key, side: 'target' }));
        } finally {
          if (--left === 0) outcome.postDataSeconds = (performance.now() - t0) / 1000;
        }
      });
    }
  };

  const copyWithRetry = async (worker: { session?: CopySession }, chunk: CopyChunk): Promise<ChunkResult> => {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!worker.session || worker.session.broken) {
          if (worker.session) await closeCopySession(worker.session);
          worker.session = await openCopySession(opts.source, opts.target, sessionOpts);
        }
        opts.onChunkStart?.(chunk);
        return await copyChunk(worker.session, chunk, { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.format ? { format: opts.format } : {}) });
      } catch (err) {
        const e = err instanceof CopyError ? err : copyErrorOf(err, { table: qualifiedName(chunk), chunkId: chunk.id });
        if (!e.retryable || attempt >= retries || opts.signal?.aborted) throw e;
        retried++;
        await new Promise((r) => setTimeout(r, (opts.retryDelayMs ?? 500) * (attempt + 1)));
      }
    }
  };

  const worker = async (): Promise<void> => {
    const state: { session?: CopySession } = {};
    try {
      while (failures.length === 0 && !opts.signal?.aborted) {
        const i = queue.findIndex((c) => active.has(tableKeyOf(c)) || active.size < tableJobs);
        if (i < 0) {
          if (queue.length === 0) return;
          await changed;
          continue;
        }
        const [chunk] = queue.splice(i, 1) as [CopyChunk];
        const key = tableKeyOf(chunk);
        active.add(key);
        if (!firstStart.has(key)) firstStart.set(key, performance.now());
        try {
          const result = await copyWithRetry(state, chunk);
          results.push(result);
          byTable.set(key, [...(byTable.get(key) ?? []), result]);
          opts.onChunkDone?.(chunk, result);
          const left = (remaining.get(key) ?? 1) - 1;
          remaining.set(key, left);
          if (left === 0) {
            active.delete(key);
            await tableLoaded(key);
          }
        } catch (err) {
          failures.push(err instanceof Error ? err : new Error(String(err)));
        }
        notify();
      }
    } finally {
      if (state.session) await closeCopySession(state.session);
      notify();
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(chunkJobs, Math.max(1, queue.length)) }, worker));
    await indexQueue.drained();
  } finally {
    await Promise.all(indexClients.map((c) => closeQuietly(c)));
  }
  if (opts.signal?.aborted && failures.length === 0) failures.push(new Error('copy aborted'));
  if (failures.length > 0) {
    const first = failures[0] as Error;
    if (failures.length === 1) throw first;
    throw new AggregateError(failures, `${failures.length} copy failures; first: ${first.message}`);
  }
  return {
    chunks: results,
    tables: [...outcomes.values()],
    consistencyLsn: maxLsn(results.map((r) => r.endLsn)),
    seconds: (performance.now() - started) / 1000,
    retried,
  };
}
