/**
 * Table Storage persistence of the task hub: one table `<hub>Orchestrations`, one partition per
 * instance, so everything an episode changes commits in one entity-group transaction:
 *
 * | RowKey                     | holds                                                    |
 * |----------------------------|----------------------------------------------------------|
 * | `s`                        | InstanceRecord (status, input/output, scheduler state)   |
 * | `h-<executionId>-<nnnnnn>` | history events of one episode of the current execution   |
 * | `i-<arrival key>`          | an inbox entry not yet delivered (event, result, timer)  |
 * | `<key>~<gen>~<n>`          | continuation rows of a large body (blob-codec.ts)        |
 *
 * The table name differs from the Azure Storage provider's (`<hub>Instances`, `<hub>History`) so
 * pointing this host at a real account never touches a real task hub.
 */
import { TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';

import { errorMessage, type Logger } from '../log';
import { continuationCount, continuationKey, decodeRecord, encodeRecord, genOf, rowBytes, type Row } from './blob-codec';
import type { HistoryEvent } from './history';
import { isTerminal, type InboxEntry, type InstanceRecord } from './model';

const STATE = 's';
const MAX_OPS = 100;
const MAX_BATCH_BYTES = 3_500_000;

type Entity = Record<string, unknown> & { partitionKey?: string; rowKey?: string };

export interface LoadedInstance {
  record: InstanceRecord;
  history: HistoryEvent[];
  inbox: InboxEntry[];
}

export interface Commit {
  record: InstanceRecord;
  /** The episode's history row; absent when nothing is recorded (a dropped stale event). */
  history?: { episode: number; events: HistoryEvent[] };
  /** Inbox keys delivered (or dropped) by this commit. */
  consumed: string[];
  /** After commit: stale inbox rows to delete (continueAsNew, termination). */
  dropInbox?: string[];
  /** After commit: an execution whose history rows are no longer needed. */
  dropHistoryOf?: string;
}

export function partitionOf(instanceId: string): string {
  // Keys may not contain / \ # ? or control characters; encodeURIComponent removes them all.
  return encodeURIComponent(instanceId);
}

function historyKey(executionId: string, episode: number): string {
  return `h-${executionId}-${String(episode).padStart(6, '0')}`;
}

function statusOf(e: unknown): number | undefined {
  const s = (e as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' ? s : undefined;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

let inboxCounter = 0;
/** Arrival order across restarts: wall-clock milliseconds, then a per-process counter. */
export function newInboxKey(): string {
  inboxCounter = (inboxCounter + 1) % 1_000_000;
  return `${String(Date.now()).padStart(15, '0')}-${String(inboxCounter).padStart(6, '0')}`;
}

export class DurableStore {
  /** Continuation rows behind each instance's `s` row, as last written. */
  private readonly stateRows = new Map<string, { gen: number; extra: number }>();

  private constructor(
    private readonly table: TableClient,
    readonly tableName: string,
    private readonly log: Logger,
  ) {}

  static async open(connectionString: string, hubName: string, log: Logger): Promise<DurableStore> {
    const tableName = `${hubName}Orchestrations`;
    const allowInsecureConnection = /DefaultEndpointsProtocol=http;|TableEndpoint=http:|UseDevelopmentStorage=true/i.test(connectionString);
    const table = TableClient.fromConnectionString(connectionString, tableName, { allowInsecureConnection });
    try {
      await table.createTable();
    } catch (e) {
      throw new Error(
        `cannot create table ${tableName} at ${table.url.split('?')[0] ?? ''}: ${errorMessage(e)}. Is the storage reachable? ` +
          'Locally start Azurite (npx azurite-table --inMemoryPersistence) or pass --storage <connection string>.',
        { cause: e },
      );
    }
    return new DurableStore(table, tableName, log);
  }

  async readInstance(instanceId: string): Promise<InstanceRecord | undefined> {
    const pk = partitionOf(instanceId);
    let main: Entity;
    try {
      main = await this.table.getEntity<Entity>(pk, STATE);
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
    return this.decodeState(pk, main);
  }

  async listInstances(): Promise<InstanceRecord[]> {
    const out: InstanceRecord[] = [];
    for await (const e of this.table.listEntities<Entity>({ queryOptions: { filter: `RowKey eq '${STATE}'` } })) {
      out.push(await this.decodeState(String(e.partitionKey), e));
    }
    return out;
  }

  /** Everything of one instance: its record, current history and inbox; stale rows are removed. */
  async loadInstance(instanceId: string): Promise<LoadedInstance | undefined> {
    const pk = partitionOf(instanceId);
    const rows = await this.partitionRows(pk);
    const main = rows.get(STATE);
    if (!main) return undefined;
    const record = this.parseState(main, rows);
    this.stateRows.set(record.instanceId, { gen: genOf(main), extra: continuationCount(main) });
    const histPrefix = `h-${record.exec.executionId}-`;
    const history: HistoryEvent[] = [];
    const inbox: InboxEntry[] = [];
    const stale: string[] = [];
    const keep = new Set([STATE]);
    for (let n = 1; n <= continuationCount(main); n++) keep.add(continuationKey(STATE, genOf(main), n));
    for (const [rk, row] of [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (rk.includes('~')) continue;
      if (rk.startsWith(histPrefix)) {
        history.push(...(JSON.parse(decodeRecord(row, rows)) as HistoryEvent[]));
        keep.add(rk);
      } else if (rk.startsWith('i-')) {
        inbox.push(JSON.parse(decodeRecord(row, rows)) as InboxEntry);
        keep.add(rk);
      }
      for (let n = 1; n <= continuationCount(row); n++) {
        if (keep.has(rk)) keep.add(continuationKey(rk, genOf(row), n));
      }
    }
    for (const rk of rows.keys()) if (!keep.has(rk)) stale.push(rk);
    if (stale.length > 0) await this.deleteRows(pk, stale);
    return { record, history, inbox };
  }

  async readHistory(instanceId: string, executionId: string): Promise<HistoryEvent[]> {
    const pk = partitionOf(instanceId);
    const prefix = `h-${executionId}-`;
    const rows = await this.rangeRows(pk, prefix);
    const events: HistoryEvent[] = [];
    for (const [rk, row] of [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!rk.includes('~')) events.push(...(JSON.parse(decodeRecord(row, rows)) as HistoryEvent[]));
    }
    return events;
  }

  /** A fresh instance: whatever the partition held before (a finished run of the same id) goes. */
  async createInstance(record: InstanceRecord): Promise<void> {
    const pk = partitionOf(record.instanceId);
    const old = await this.partitionRows(pk);
    if (old.size > 0) await this.deleteRows(pk, [...old.keys()]);
    this.stateRows.delete(record.instanceId);
    await this.commit({ record, consumed: [] });
  }

  /** Writes one inbox entry; `attempts` > 1 retries transient failures with back-off. */
  async appendInbox(instanceId: string, entry: InboxEntry, attempts = 1): Promise<void> {
    const pk = partitionOf(instanceId);
    const rows = encodeRecord(pk, `i-${entry.key}`, {}, JSON.stringify(entry));
    for (let attempt = 1; ; attempt++) {
      try {
        if (rows.length === 1) await this.table.upsertEntity(rows[0] as TableEntity, 'Replace');
        else await this.submit(rows.map((r): TransactionAction => ['upsert', r, 'Replace']));
        return;
      } catch (e) {
        if (attempt >= attempts) throw e;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  async commit(c: Commit): Promise<void> {
    const id = c.record.instanceId;
    const pk = partitionOf(id);
    const pre: Row[] = c.history
      ? encodeRecord(pk, historyKey(c.record.exec.executionId, c.history.episode), {}, JSON.stringify(c.history.events))
      : [];
    const prev = this.stateRows.get(id) ?? { gen: 0, extra: 0 };
    const scalars = { InstanceId: id, Name: c.record.name, RuntimeStatus: c.record.status, CreatedTime: c.record.createdTime, LastUpdatedTime: c.record.lastUpdatedTime };
    const body = JSON.stringify(c.record);
    let state = encodeRecord(pk, STATE, scalars, body, prev.gen);
    // New continuation rows never overwrite the ones the current `s` row points to.
    if (state.length > 1 || prev.extra > 0) state = encodeRecord(pk, STATE, scalars, body, prev.gen + 1);
    const [main, ...cont] = state as [Row, ...Row[]];
    const upserts = [...pre, ...cont].map((r): TransactionAction => ['upsert', r, 'Replace']);
    const deletes = c.consumed.map((k): TransactionAction => ['delete', { partitionKey: pk, rowKey: `i-${k}` }]);
    const finalOps: TransactionAction[] = [...upserts, ['upsert', main, 'Replace'], ...deletes];
    if (finalOps.length <= MAX_OPS && [...pre, ...cont, main].reduce((n, r) => n + rowBytes(r), 0) <= MAX_BATCH_BYTES) {
      await this.submit(finalOps);
    } else {
      // Rows nothing points to yet are safe to write first; the `s` row switches to them.
      for (const batch of this.batches([...pre, ...cont])) await this.submit(batch.map((r): TransactionAction => ['upsert', r, 'Replace']));
      await this.submit([['upsert', main, 'Replace'], ...deletes.slice(0, MAX_OPS - 1)]);
      if (deletes.length > MAX_OPS - 1) await this.deleteRows(pk, c.consumed.slice(MAX_OPS - 1).map((k) => `i-${k}`));
    }
    this.stateRows.set(id, { gen: genOf(main), extra: cont.length });
    const garbage: string[] = [];
    if (genOf(main) !== prev.gen) for (let n = 1; n <= prev.extra; n++) garbage.push(continuationKey(STATE, prev.gen, n));
    for (const k of c.dropInbox ?? []) garbage.push(`i-${k}`);
    if (c.dropHistoryOf) garbage.push(...(await this.rangeRows(pk, `h-${c.dropHistoryOf}-`)).keys());
    if (garbage.length > 0) {
      await this.deleteRows(pk, garbage).catch((e: unknown) => this.log.warn(`cleanup of instance ${id} failed (it is retried on the next start): ${errorMessage(e)}`));
    }
  }

  /** Deletes a finished instance and all its rows; false when unknown or still running. */
  async purge(instanceId: string): Promise<boolean> {
    const record = await this.readInstance(instanceId);
    if (!record || !isTerminal(record.status)) return false;
    const pk = partitionOf(instanceId);
    await this.deleteRows(pk, [...(await this.partitionRows(pk)).keys()]);
    this.stateRows.delete(instanceId);
    return true;
  }

  async deleteRows(pk: string, rowKeys: string[]): Promise<void> {
    for (let i = 0; i < rowKeys.length; i += MAX_OPS) {
      const chunk = rowKeys.slice(i, i + MAX_OPS);
      try {
        await this.table.submitTransaction(chunk.map((rowKey): TransactionAction => ['delete', { partitionKey: pk, rowKey }]));
      } catch (e) {
        if (statusOf(e) !== 404) throw e;
        for (const rowKey of chunk) await this.table.deleteEntity(pk, rowKey).catch((err: unknown) => { if (statusOf(err) !== 404) throw err; });
      }
    }
  }

  /** A transaction; a delete of a row already gone (a retried commit) must not sink the rest. */
  private async submit(ops: TransactionAction[]): Promise<void> {
    try {
      await this.table.submitTransaction(ops);
    } catch (e) {
      if (statusOf(e) !== 404 || !ops.some((o) => o[0] === 'delete')) throw e;
      const writes = ops.filter((o) => o[0] !== 'delete');
      if (writes.length > 0) await this.table.submitTransaction(writes);
      const first = ops[0]?.[1];
      const pk = String(first?.partitionKey ?? '');
      await this.deleteRows(pk, ops.filter((o) => o[0] === 'delete').map((o) => String(o[1].rowKey)));
    }
  }

  private batches(rows: Row[]): Row[][] {
    const out: Row[][] = [];
    let cur: Row[] = [];
    let bytes = 0;
    for (const r of rows) {
      const b = rowBytes(r);
      if (cur.length > 0 && (cur.length >= MAX_OPS || bytes + b > MAX_BATCH_BYTES)) {
        out.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(r);
      bytes += b;
    }
    if (cur.length > 0) out.push(cur);
    return out;
  }

  private async partitionRows(pk: string): Promise<Map<string, Entity>> {
    const rows = new Map<string, Entity>();
    for await (const e of this.table.listEntities<Entity>({ queryOptions: { filter: `PartitionKey eq ${quote(pk)}` } })) {
      rows.set(String(e.rowKey), e);
    }
    return rows;
  }

  /** Rows whose key starts with `prefix` ('~' sorts after every character keys use). */
  private async rangeRows(pk: string, prefix: string): Promise<Map<string, Entity>> {
    const rows = new Map<string, Entity>();
    const filter = `PartitionKey eq ${quote(pk)} and RowKey ge ${quote(prefix)} and RowKey lt ${quote(`${prefix}~~`)}`;
    for await (const e of this.table.listEntities<Entity>({ queryOptions: { filter } })) rows.set(String(e.rowKey), e);
    return rows;
  }

  private async decodeState(pk: string, main: Entity): Promise<InstanceRecord> {
    const extra = continuationCount(main);
    const rows = extra > 0 ? await this.rangeRows(pk, `${STATE}~${genOf(main)}~`) : new Map<string, Entity>();
    return this.parseState(main, rows);
  }

  /** Status reads do not touch stateRows: only loads and commits know what the writer wrote. */
  private parseState(main: Entity, rows: Map<string, Entity>): InstanceRecord {
    return JSON.parse(decodeRecord(main, rows)) as InstanceRecord;
  }
}
