/**
 * The target-side done-marks of chunk copies (DESIGN.md "Exactly once"): a chunk's rows and its
 * mark commit in the same target transaction, so the rows exist if and only if the mark does.
 * The schema lives in the migrated database until cutover or cleanup (dropBookkeeping).
 */
import type { ClientBase } from 'pg';
import { quoteIdent } from '../pg/ident';
import { sqlstateOf } from '../pg/retryable';
import { BOOKKEEPING_SCHEMA } from '../pg/user-schemas';
import type { ChunkResult } from './types';

export { BOOKKEEPING_SCHEMA };
const MARKS = `${quoteIdent(BOOKKEEPING_SCHEMA)}.copy_chunk`;

const CREATE = `
  CREATE SCHEMA IF NOT EXISTS ${quoteIdent(BOOKKEEPING_SCHEMA)};
  CREATE TABLE IF NOT EXISTS ${MARKS} (
    chunk_id text PRIMARY KEY,
    table_name text NOT NULL,
    rows bigint NOT NULL,
    bytes bigint NOT NULL,
    snapshot text NOT NULL,
    end_lsn pg_lsn NOT NULL,
    done_at timestamptz NOT NULL DEFAULT now(),
    seconds double precision
  )`;

/**
 * Creates the mark table when missing. Concurrent first sessions can race inside CREATE … IF NOT
 * EXISTS (a unique violation on the catalog); the loser simply finds the table the next time.
 */
export async function ensureBookkeeping(client: ClientBase): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.query(CREATE);
      return;
    } catch (err) {
      const state = sqlstateOf(err);
      if (attempt < 3 && (state === '23505' || state === '42P06' || state === '42P07')) continue;
      throw err;
    }
  }
}

interface MarkRow {
  chunk_id: string;
  rows: string;
  bytes: string;
  snapshot: string;
  end_lsn: string;
  seconds: number | null;
}

const SELECT_MARK = `SELECT chunk_id, rows, bytes, snapshot, end_lsn::text AS end_lsn, seconds FROM ${MARKS}`;

function toResult(r: MarkRow): ChunkResult {
  return {
    chunkId: r.chunk_id,
    rows: Number(r.rows),
    bytes: Number(r.bytes),
    snapshot: r.snapshot,
    endLsn: r.end_lsn,
    seconds: r.seconds ?? 0,
    skipped: true,
  };
}

/** The recorded result of a done chunk, or undefined. */
export async function readMark(client: ClientBase, chunkId: string): Promise<ChunkResult | undefined> {
  const { rows } = await client.query<MarkRow>(`${SELECT_MARK} WHERE chunk_id = $1`, [chunkId]);
  return rows[0] && toResult(rows[0]);
}

/**
 * Every recorded mark whose id starts with `prefix` (e.g. a plan id), for progress or audits.
 * None when the mark table was never made: a database without tables copies no chunk.
 */
export async function listMarks(client: ClientBase, prefix = ''): Promise<ChunkResult[]> {
  const { rows: exists } = await client.query<{ t: string | null }>(`SELECT pg_catalog.to_regclass($1::text)::text AS t`, [MARKS]);
  if (!exists[0]?.t) return [];
  const { rows } = await client.query<MarkRow>(`${SELECT_MARK} WHERE left(chunk_id, length($1::text)) = $1::text ORDER BY chunk_id`, [prefix]);
  return rows.map(toResult);
}

/** The recorded results among `chunkIds`, by chunk id (one query for a group of tables). */
export async function readMarks(client: ClientBase, chunkIds: readonly string[]): Promise<Map<string, ChunkResult>> {
  const { rows } = await client.query<MarkRow>(`${SELECT_MARK} WHERE chunk_id = ANY ($1::text[])`, [chunkIds]);
  return new Map(rows.map((r) => [r.chunk_id, toResult(r)]));
}

/** Inserts the marks of a group's tables in one statement, inside the caller's open load transaction. */
export async function insertMarks(client: ClientBase, marks: ReadonlyArray<{ tableName: string; result: ChunkResult }>): Promise<void> {
  const column = <T>(f: (m: { tableName: string; result: ChunkResult }) => T) => marks.map(f);
  await client.query(
    `INSERT INTO ${MARKS} (chunk_id, table_name, rows, bytes, snapshot, end_lsn, seconds)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::pg_lsn[], $7::double precision[])`,
    [
      column((m) => m.result.chunkId),
      column((m) => m.tableName),
      column((m) => m.result.rows),
      column((m) => m.result.bytes),
      column((m) => m.result.snapshot),
      column((m) => m.result.endLsn),
      column((m) => m.result.seconds),
    ],
  );
}

/** Inserts the mark inside the caller's open load transaction. */
export async function insertMark(client: ClientBase, tableName: string, r: ChunkResult): Promise<void> {
  await client.query(
    `INSERT INTO ${MARKS} (chunk_id, table_name, rows, bytes, snapshot, end_lsn, seconds)
     VALUES ($1::text, $2::text, $3::bigint, $4::bigint, $5::text, $6::pg_lsn, $7::double precision)`,
    [r.chunkId, tableName, r.rows, r.bytes, r.snapshot, r.endLsn, r.seconds],
  );
}

/** Removes every mark (cutover / cleanup). */
export async function dropBookkeeping(client: ClientBase): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(BOOKKEEPING_SCHEMA)} CASCADE`);
}
