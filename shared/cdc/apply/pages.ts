/**
 * The read → group → write pipeline of one batch: pages of committed transactions come from the
 * page source, transactions already applied are skipped, the rest are grouped into target
 * transactions of about txnChanges changes (group.ts). Groups are written one after the other,
 * but the next one is decoded (stream) or fetched (SQL) while the current one is written, so the
 * target works while this process reads; at most one group waits its turn.
 *
 * Only a stream: a transaction growing past hugeTxnChanges is written in parts (huge.ts), the
 * current group is written as soon as little is buffered, and the durable position is reported to
 * the server now and then and as the stream's last word.
 */
import type { SourceTransaction } from '../change';
import { CDC_DEFAULTS } from '../defaults';
import { compareLsn } from '../lsn';
import type { Progress } from '../progress';
import { applyGroup } from './group';
import { applyHuge } from './huge';
import type { ApplyHooks, BatchResult } from './options';
import type { PageSource } from './page-sources';
import type { StreamMemory } from './stream-memory';
import type { ReplayPlanner } from './visibility';
import type { WriterContext } from './writer-context';

export interface PagesContext {
  ctx: WriterContext;
  progress: Progress;
  planner: ReplayPlanner;
  /** The target's durable progress when the batch started: transactions up to it are skipped. */
  applied: string | undefined;
  result: BatchResult;
  /** Source changes per target transaction. */
  txnChanges: number;
  /** Stream only: an open transaction this large is written in parts. */
  hugeTxnChanges: number;
  /** Stream only: the byte shares of the batch's memory budget (stream-memory.ts). */
  memory: StreamMemory;
  hooks: ApplyHooks | undefined;
}

/** Reads the source until it is exhausted, writing as it goes; closes the page source. */
export async function applyPages(reader: PageSource, p: PagesContext): Promise<void> {
  const { ctx, progress, planner, applied, result, hooks } = p;
  let closed = false;
  let inflight: Promise<void> | undefined;
  try {
    let group: SourceTransaction[] = [];
    let groupChanges = 0;
    let groupBytes = 0;
    let lastConfirm = Date.now();
    const write = async (txns: SourceTransaction[]) => {
      const w0 = Date.now();
      await applyGroup(ctx, progress, planner, txns, result, hooks);
      result.writeMs += Date.now() - w0;
      // A long stream reports durable progress now and then, so the slot (and lag) move on.
      if (reader.kind === 'stream' && Date.now() - lastConfirm > CDC_DEFAULTS.streamConfirmEveryMs) {
        lastConfirm = Date.now();
        const durable = await progress.flush();
        if (durable !== undefined) {
          await hooks?.beforeAdvance?.(durable);
          reader.confirm(durable);
        }
      }
    };
    const flushGroup = async () => {
      if (group.length === 0) return;
      const txns = group;
      group = [];
      groupChanges = 0;
      groupBytes = 0;
      const prev = inflight;
      const run = prev ? prev.then(() => write(txns)) : write(txns);
      run.catch(() => undefined);
      inflight = run;
      if (prev) await prev;
    };
    const accept = async (txns: SourceTransaction[]) => {
      for (const t of txns) {
        result.changesRead += t.changes.length;
        if (applied !== undefined && compareLsn(t.commitLsn, applied) <= 0) {
          result.alreadyApplied++;
          continue;
        }
        group.push(t);
        groupChanges += t.changes.length;
        groupBytes += t.bytes ?? 0;
        if (groupChanges >= p.txnChanges || groupBytes >= p.memory.groupBytes) await flushGroup();
      }
    };
    // The SQL reader fetches its next page while this one is handled; a stream decodes on demand.
    let next = reader.kind === 'sql' ? settle(reader.next()) : undefined;
    for (;;) {
      const r1 = Date.now();
      const page = next ? await next : await settle(reader.next());
      result.readWaitMs += Date.now() - r1;
      if (page.error !== undefined) throw page.error;
      const txns = page.value;
      if (txns === undefined) break;
      if (next) next = settle(reader.next());
      await accept(txns);
      if (reader.kind === 'stream') {
        // A huge transaction is not held whole: it is written in parts inside one target transaction.
        const open = reader.openTransaction();
        if (open && (open.changes.length >= p.hugeTxnChanges || reader.openBytes() >= p.memory.hugeTxnBytes)) {
          await flushGroup();
          if (inflight) await inflight;
          inflight = undefined;
          await accept(await applyHuge(ctx, progress, planner, reader, open, result, hooks, p.memory.hugePartBytes));
        }
        // A stream delivers as the server decodes: when little is buffered, write what we have
        // rather than wait for more (the next messages arrive meanwhile).
        if (groupChanges > 0 && reader.queued() < CDC_DEFAULTS.streamWriteBelowQueued) await flushGroup();
      }
    }
    await flushGroup();
    if (inflight) await inflight;
    result.caughtUp = reader.caughtUp();
    if (reader.kind === 'stream') {
      // End the stream with the durable position as its last word (persisted through SQL after).
      const durable = await progress.flush();
      if (durable !== undefined) await hooks?.beforeAdvance?.(durable);
      await reader.close(durable);
    } else {
      await reader.close();
    }
    closed = true;
  } finally {
    // Never leave a group writing on the target behind an error.
    if (inflight) await inflight.catch(() => undefined);
    if (!closed) await reader.close().catch(() => undefined);
  }
}

/** A promise that never rejects unhandled while we are busy elsewhere. */
export function settle<T>(p: Promise<T>): Promise<{ value: T; error?: undefined } | { value?: undefined; error: unknown }> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}
