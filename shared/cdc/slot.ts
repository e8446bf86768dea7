/**
 * One logical replication slot per migrated database, created on the source BEFORE its copy
 * starts (DESIGN.md, consistency without a held snapshot): its start LSN is where replay begins.
 *
 * Plugin: wal2json (format-version 2) when the source has it, else pgoutput, which is built into
 * every PostgreSQL ≥ 10 and needs a publication. The publication is created BEFORE the slot:
 * pgoutput looks it up with the catalog as of each decoded change, so changes older than the
 * publication would fail to decode. It is named like the slot, `FOR ALL TABLES` when the login is
 * a superuser, else `FOR TABLE` the replicated tables (publication.ts: managed services).
 *
 * Caveat of a publication (FOR ALL TABLES, or FOR TABLE all of them): while it exists, UPDATE and DELETE on a source table
 * without a replica identity (no primary key, REPLICA IDENTITY DEFAULT) fail on the SOURCE with
 * "cannot update table … because it does not have a replica identity and publishes updates".
 * Validation therefore refuses such tables for Online migrations (fix: add a primary key or
 * ALTER TABLE … REPLICA IDENTITY FULL); wal2json has no such effect on the source, but cannot
 * replicate their updates either.
 *
 * Every function is idempotent and receives a client connected to the migrated source database
 * (logical slots and publications belong to one database).
 */
import { createHash } from 'node:crypto';
import type { ClientBase } from 'pg';
import { quoteIdent } from '../pg/ident';
import { sqlstateOf } from '../pg/retryable';
import { CDC_DEFAULTS } from './defaults';
import { normalizeLsn } from './lsn';
import { publicationStatement } from './publication';

export type Plugin = 'wal2json' | 'pgoutput';

/** Prefix of every slot (and publication, and target replication origin) pgferry creates. */
export const SLOT_PREFIX = 'pgferry_';

const MAX_NAME_BYTES = 63;
const HASH_CHARS = 8;

/**
 * `pgferry_<migration>_<database>_<hash>`: lower-case [a-z0-9_], at most 63 bytes. The readable
 * part is sanitised and truncated; the hash of the exact (migration, database) pair keeps names
 * unique even when sanitising or truncating maps two pairs to the same text (`a-b`/`a_b`, or the
 * `_` separator: migration `x_y` + database `z` vs migration `x` + database `y_z`).
 */
export function slotNameFor(migration: string, database: string): string {
  const hash = createHash('sha256').update(`${migration}\u0000${database}`).digest('hex').slice(0, HASH_CHARS);
  const readable = `${SLOT_PREFIX}${migration}_${database}`.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
  return `${readable.slice(0, MAX_NAME_BYTES - HASH_CHARS - 1)}_${hash}`;
}

export interface SlotInfo {
  slotName: string;
  plugin: Plugin;
  /** pgoutput's publication (named like the slot); undefined for wal2json. */
  publication?: string;
  /** Where replay starts: the slot's consistent point when created, else its confirmed_flush_lsn. */
  startLsn: string;
  /** False when the slot already existed (a retried activity). */
  created: boolean;
}

export interface EnsureSlotOptions {
  /** 'auto' (default): wal2json when installed on the source, else pgoutput. */
  plugin?: Plugin | 'auto';
}

interface SlotRow {
  slot_name: string;
  plugin: string;
  slot_type: string;
  database: string | null;
  confirmed_flush_lsn: string | null;
  restart_lsn: string | null;
  active_pid: number | null;
}

export async function readSlot(client: ClientBase, name: string): Promise<SlotRow | undefined> {
  const { rows } = await client.query<SlotRow>(
    `SELECT slot_name, plugin, slot_type, database, confirmed_flush_lsn::text, restart_lsn::text, active_pid
       FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
    [name],
  );
  return rows[0];
}

/** Creates the slot (and publication) unless it exists; returns where replay starts. */
export async function ensureSlot(client: ClientBase, name: string, opts: EnsureSlotOptions = {}): Promise<SlotInfo> {
  const existing = await readSlot(client, name);
  if (existing) return describeExisting(client, existing);
  const wanted = opts.plugin ?? 'auto';
  if (wanted !== 'pgoutput') {
    try {
      return await createSlot(client, name, 'wal2json');
    } catch (err) {
      if (wanted === 'wal2json' || !isMissingPlugin(err)) throw err;
    }
  }
  await ensurePublication(client, name);
  return createSlot(client, name, 'pgoutput');
}

async function createSlot(client: ClientBase, name: string, plugin: Plugin): Promise<SlotInfo> {
  try {
    const { rows } = await client.query<{ lsn: string }>(`SELECT lsn::text FROM pg_catalog.pg_create_logical_replication_slot($1, $2)`, [name, plugin]);
    const lsn = rows[0]?.lsn;
    if (!lsn) throw new Error(`pg_create_logical_replication_slot(${name}) returned no LSN`);
    return { slotName: name, plugin, ...(plugin === 'pgoutput' ? { publication: name } : {}), startLsn: normalizeLsn(lsn), created: true };
  } catch (err) {
    // A concurrent attempt of the same activity won the race: use its slot.
    if (sqlstateOf(err) === '42710') {
      const row = await readSlot(client, name);
      if (row) return describeExisting(client, row);
    }
    throw err;
  }
}

async function describeExisting(client: ClientBase, row: SlotRow): Promise<SlotInfo> {
  const db = (await client.query<{ db: string }>(`SELECT current_database() AS db`)).rows[0]?.db;
  if (row.slot_type !== 'logical' || row.database !== db) {
    throw new Error(`replication slot "${row.slot_name}" exists but is not a logical slot of database "${db}" (type ${row.slot_type}, database ${row.database ?? 'none'})`);
  }
  if (row.plugin !== 'wal2json' && row.plugin !== 'pgoutput') {
    throw new Error(`replication slot "${row.slot_name}" uses plugin ${row.plugin}; pgferry reads wal2json or pgoutput`);
  }
  if (row.plugin === 'pgoutput' && !(await publicationExists(client, row.slot_name))) {
    throw new Error(`replication slot "${row.slot_name}" (pgoutput) has lost its publication; drop the slot and restart this database's migration`);
  }
  const lsn = row.confirmed_flush_lsn ?? row.restart_lsn;
  if (!lsn) throw new Error(`replication slot "${row.slot_name}" has no confirmed or restart LSN`);
  return {
    slotName: row.slot_name,
    plugin: row.plugin,
    ...(row.plugin === 'pgoutput' ? { publication: row.slot_name } : {}),
    startLsn: normalizeLsn(lsn),
    created: false,
  };
}

/** wal2json is not installed, or (PostgreSQL 15.20+ …) not listed in output_plugin_libraries. */
function isMissingPlugin(err: unknown): boolean {
  const message = err instanceof Error ? err.message : '';
  return sqlstateOf(err) === '58P01' || /could not access file "wal2json"/.test(message) || (sqlstateOf(err) === '42501' && /may not be used as an output plugin/.test(message));
}

async function publicationExists(client: ClientBase, name: string): Promise<boolean> {
  const { rows } = await client.query(`SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1`, [name]);
  return rows.length > 0;
}

export async function ensurePublication(client: ClientBase, name: string): Promise<void> {
  if (await publicationExists(client, name)) return;
  try {
    await client.query(await publicationStatement(client, name));
  } catch (err) {
    // 42710: it existed by then. 23505 (pg_publication_pubname_index): a twin of this step (the
    // same activity delivered twice) created it in the same moment and committed first.
    if (sqlstateOf(err) === '42710') return;
    if (sqlstateOf(err) === '23505' && (await publicationExists(client, name))) return;
    throw err;
  }
}

export interface DropResult {
  droppedSlot: boolean;
  droppedPublication: boolean;
  /** Walsender or peeking backend terminated because it held the slot. */
  terminatedPid?: number;
}

/**
 * Drops the slot if it exists, terminating a backend that holds it first, then the publication
 * named like it if that exists — also when the slot is already gone (an interrupted drop, or a
 * failed creation, leaves one behind). Safe to repeat. The client must be connected to the slot's
 * database (publications belong to one database).
 */
export async function dropSlotAndPublication(client: ClientBase, name: string, opts: { timeoutMs?: number } = {}): Promise<DropResult> {
  const deadline = Date.now() + (opts.timeoutMs ?? CDC_DEFAULTS.dropSlotTimeoutMs);
  const result: DropResult = { droppedSlot: false, droppedPublication: false };
  for (;;) {
    const row = await readSlot(client, name);
    if (!row) break;
    if (row.active_pid !== null) {
      await client.query(`SELECT pg_catalog.pg_terminate_backend($1)`, [row.active_pid]);
      result.terminatedPid = row.active_pid;
    } else {
      try {
        await client.query(`SELECT pg_catalog.pg_drop_replication_slot($1)`, [name]);
        result.droppedSlot = true;
        break;
      } catch (err) {
        const state = sqlstateOf(err);
        if (state === '42704') break; // dropped meanwhile
        if (state !== '55006') throw err; // 55006: became active again; terminate and retry
      }
    }
    if (Date.now() > deadline) throw new Error(`replication slot "${name}" stays in use; could not drop it`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (await publicationExists(client, name)) {
    await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(name)}`);
    result.droppedPublication = true;
  }
  return result;
}

export interface SlotSummary {
  slotName: string;
  plugin: string;
  database: string | null;
  active: boolean;
  activePid: number | null;
  confirmedFlushLsn: string | null;
  restartLsn: string | null;
  /** WAL the server keeps for this slot: pg_current_wal_lsn() − restart_lsn, in bytes. */
  retainedWalBytes: number | null;
}

/** Every pgferry slot on the server (any database). */
export async function listSlots(client: ClientBase): Promise<SlotSummary[]> {
  const { rows } = await client.query<{
    slot_name: string;
    plugin: string;
    database: string | null;
    active: boolean;
    active_pid: number | null;
    confirmed_flush_lsn: string | null;
    restart_lsn: string | null;
    retained: string | null;
  }>(
    `SELECT slot_name, plugin, database, active, active_pid, confirmed_flush_lsn::text, restart_lsn::text,
            pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::int8::text AS retained
       FROM pg_catalog.pg_replication_slots
      WHERE slot_type = 'logical' AND left(slot_name, length($1)) = $1
      ORDER BY slot_name`,
    [SLOT_PREFIX],
  );
  return rows.map((r) => ({
    slotName: r.slot_name,
    plugin: r.plugin,
    database: r.database,
    active: r.active,
    activePid: r.active_pid,
    confirmedFlushLsn: r.confirmed_flush_lsn,
    restartLsn: r.restart_lsn,
    retainedWalBytes: r.retained === null ? null : Number(r.retained),
  }));
}
