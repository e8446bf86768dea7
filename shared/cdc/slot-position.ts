/**
 * Where a slot stands and moving it on: its positions, advancing it once the target durably holds
 * everything before an LSN, and waiting while another session holds it (a slot serves one session
 * at a time: a peek or a stream holds it for as long as it decodes).
 */
import type { ClientBase } from 'pg';
import { sqlstateOf } from '../pg/retryable';
import { CDC_DEFAULTS } from './defaults';
import { compareLsn, normalizeLsn } from './lsn';

export interface SlotPosition {
  confirmedFlushLsn: string;
  restartLsn: string;
}

/** The slot's positions; throws when the slot does not exist. */
export async function slotPosition(client: ClientBase, slot: string): Promise<SlotPosition> {
  const { rows } = await client.query<{ c: string | null; r: string | null }>(
    `SELECT confirmed_flush_lsn::text AS c, restart_lsn::text AS r FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row?.c || !row.r) throw new Error(`replication slot "${slot}" does not exist (or has no position)`);
  return { confirmedFlushLsn: normalizeLsn(row.c), restartLsn: normalizeLsn(row.r) };
}

/**
 * Moves the slot forward to `lsn` — call only once the target committed everything before it.
 * Never moves it back; a no-op when already there.
 */
export async function advanceSlot(client: ClientBase, slot: string, lsn: string): Promise<void> {
  const pos = await slotPosition(client, slot);
  if (compareLsn(lsn, pos.confirmedFlushLsn) <= 0) return;
  await whileSlotBusy(() => client.query(`SELECT pg_catalog.pg_replication_slot_advance($1, $2::pg_lsn)`, [slot, lsn]));
}

/**
 * Runs fn, retrying while the slot is in use by another session (55006: a concurrent peek holds
 * it for as long as it decodes). Gives up after `timeoutMs` with the last error (retryable).
 */
export async function whileSlotBusy<T>(fn: () => Promise<T>, timeoutMs: number = CDC_DEFAULTS.slotBusyTimeoutMs): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; ; wait = Math.min(wait * 2, 250)) {
    try {
      return await fn();
    } catch (err) {
      if (sqlstateOf(err) !== '55006' || !/replication slot .* is active/.test((err as Error).message) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * Waits until no walsender holds the slot (at most timeoutMs): a closed replication connection's
 * walsender exits on its own time, and until then the slot reads as active (lag read from its
 * stale flush_lag, a new stream refused). Gives up quietly: callers cope with an active slot.
 */
export async function waitForSlotRelease(source: ClientBase, slot: string, timeoutMs: number = CDC_DEFAULTS.streamCloseMs): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; Date.now() < deadline; wait = Math.min(wait * 2, 100)) {
    const { rows } = await source.query<{ active: boolean }>(`SELECT active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, [slot]);
    if (!rows[0]?.active) return;
    await new Promise((r) => setTimeout(r, wait));
  }
}
