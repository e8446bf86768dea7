/**
 * A group of small whole tables in one unit of work (plan.ts copyUnits): one pair of connections,
 * one source snapshot, one target transaction.
 *
 *   source  BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT snapshot, WAL position
 *           COPY t1 TO STDOUT; COPY t2 TO STDOUT; …          (all under that one snapshot)
 *   target  BEGIN; [TRUNCATE ONLY t1, t2 …;] COPY t1 FROM STDIN [FREEZE]; COPY t2 …
 *           (FREEZE only for tables of GROUP_FREEZE_MIN_BYTES and more)
 *           INSERT the done-mark of every table; COMMIT (synchronous)
 *
 * Each table is still a one-chunk table for the CDC applier: its own mark records the snapshot
 * its rows are consistent with and the WAL position read right after it, exactly as a one-table
 * chunk does (the same pair for every table of the group, since they share the snapshot).
 *
 * Exactly once: every table's rows and its mark commit in the same target transaction. A retry
 * first reads the marks and copies only the tables without one; a concurrent twin cannot commit
 * (its mark insert waits for the first run and fails on the key, then it returns what was recorded).
 */
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { quoteQualified } from '../pg/ident';
import { sqlstateOf } from '../pg/retryable';
import type { ServerEndpoint } from '../pg/endpoint';
import { insertMarks, readMarks } from './bookkeeping';
import { beginSource, breakSession, setCopyEncoding, sourceCopySql, targetCopySql } from './copy-chunk';
import { copyErrorOf, TargetTableMissingError, type CopySide } from './errors';
import { closeCopySession, openCopySession, type CopySession, type SessionOptions } from './session';
import { qualifiedName, type ChunkResult, type CopyChunk } from './types';

interface Facts {
  canFreeze: boolean;
}

/**
 * Tables of a group smaller than this are copied without TRUNCATE + COPY FREEZE. Freezing saves a
 * later vacuum's pass over the pages, worth nothing for a few pages, while the TRUNCATE gives the
 * table a new file and drops the old one: measured at 2,000 tables of 10 rows, the group TRUNCATEs
 * took ~1.7 s of target time per 200 tables, more than their COPYs.
 */
export const GROUP_FREEZE_MIN_BYTES = 1024 * 1024;

/** Per table, in order: whether TRUNCATE + COPY FREEZE is possible; undefined when the table is missing. */
async function targetFacts(session: CopySession, chunks: readonly CopyChunk[]): Promise<Array<Facts | undefined>> {
  const { rows } = await session.target.query<{ k: string; relkind: string | null; can_truncate: boolean | null; referenced: boolean | null }>(
    `SELECT n.k::int8::text AS k, c.relkind::text AS relkind, pg_catalog.has_table_privilege(c.oid, 'TRUNCATE') AS can_truncate,
            EXISTS (SELECT 1 FROM pg_catalog.pg_constraint f WHERE f.confrelid = c.oid AND f.contype = 'f') AS referenced
       FROM unnest($1::text[]) WITH ORDINALITY AS n(name, k)
       LEFT JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(n.name)`,
    [chunks.map((c) => quoteQualified(c.schema, c.table))],
  );
  const byOrdinal = new Map(rows.map((r) => [Number(r.k), r]));
  return chunks.map((_, i) => {
    const r = byOrdinal.get(i + 1);
    if (!r?.relkind) return undefined;
    // FREEZE needs the TRUNCATE in the same transaction, a plain table, and no FK pointing at it.
    return { canFreeze: r.relkind === 'r' && r.can_truncate === true && r.referenced === false };
  });
}

/**
 * Copies a group of whole-table chunks in one target transaction, or returns their recorded
 * results (those already done are not copied again). Results come back in the order of `chunks`.
 * On failure both connections are destroyed and a CopyError names the table.
 */
export interface CopyGroupOptions {
  format?: 'auto' | 'text';
  /** Smallest estimated size frozen (TRUNCATE + COPY FREEZE); default GROUP_FREEZE_MIN_BYTES. */
  freezeMinBytes?: number;
}

export async function copyGroup(session: CopySession, chunks: readonly CopyChunk[], opts: CopyGroupOptions = {}): Promise<ChunkResult[]> {
  let side: CopySide = 'target';
  let current: CopyChunk | undefined;
  try {
    if (session.broken) throw new Error('the copy session is broken: open a new one');
    for (const c of chunks) {
      if (c.chunkCount !== 1 || c.range.kind !== 'all' || c.baseSnapshot !== undefined) throw new Error(`chunk ${c.id} is not a whole table`);
    }
    const recorded = await readMarks(session.target, chunks.map((c) => c.id));
    const todo = chunks.filter((c) => !recorded.has(c.id));
    if (todo.length === 0) return chunks.map((c) => recorded.get(c.id) as ChunkResult);
    const freezeMin = opts.freezeMinBytes ?? GROUP_FREEZE_MIN_BYTES;
    const facts = (await targetFacts(session, todo)).map((f, i) => f && { canFreeze: f.canFreeze && (todo[i] as CopyChunk).estimatedBytes >= freezeMin });
    const missing = todo.findIndex((_, i) => facts[i] === undefined);
    if (missing >= 0) throw new TargetTableMissingError(qualifiedName(todo[missing] as CopyChunk), (todo[missing] as CopyChunk).id);

    side = 'source';
    const begun = await beginSource(session, todo[0] as CopyChunk);
    side = 'target';
    // One TRUNCATE for every table that can be frozen: COPY FREEZE only needs it earlier in the same transaction.
    const frozen = todo.filter((_, i) => (facts[i] as Facts).canFreeze);
    await session.target.query(`BEGIN${frozen.length > 0 ? `; TRUNCATE ONLY ${frozen.map((c) => quoteQualified(c.schema, c.table)).join(', ')}` : ''}`);
    const recode = session.sourceEncoding !== 'UTF8';
    if (recode) await setCopyEncoding(session, session.sourceEncoding); // SET LOCAL: COMMIT restores UTF8

    const results: ChunkResult[] = [];
    for (const [i, chunk] of todo.entries()) {
      current = chunk;
      const started = performance.now();
      const freeze = (facts[i] as Facts).canFreeze;
      const binary = opts.format !== 'text' && chunk.binarySafe && session.sourceMajor === session.targetMajor;
      const copyOut = session.source.query(copyTo(sourceCopySql(chunk, session.sourceMajor, binary)));
      const copyIn = session.target.query(copyFrom(targetCopySql(chunk, binary, freeze)));
      let bytes = 0;
      copyOut.on('data', (b: Buffer) => (bytes += b.length));
      copyOut.once('error', () => (side = 'source'));
      copyIn.once('error', () => (side = 'target'));
      await pipeline(copyOut, copyIn);
      side = 'target';
      const seconds = (performance.now() - started) / 1000;
      results.push({ chunkId: chunk.id, rows: copyIn.rowCount, bytes, snapshot: begun.snapshot, endLsn: begun.lsn, seconds, format: binary ? 'binary' : 'text', frozen: freeze });
    }
    current = undefined;
    const sourceDone = session.source.query('COMMIT');
    sourceDone.catch(() => undefined);
    if (recode) await session.target.query(`SET LOCAL client_encoding = 'UTF8'`);
    const won = await commitWithMarks(session, results.map((result, i) => ({ tableName: qualifiedName(todo[i] as CopyChunk), result })));
    side = 'source';
    await sourceDone;
    const copied = new Map((won ?? results).map((r) => [r.chunkId, r]));
    return chunks.map((c) => (recorded.get(c.id) ?? copied.get(c.id)) as ChunkResult);
  } catch (err) {
    // A unique index on the target makes a concurrent twin's COPY wait for the first run and then
    // fail on its keys: when the first run's marks are all there, this run simply lost the race.
    const twin = side === 'target' && sqlstateOf(err) === '23505' && !session.broken ? await twinResults(session, chunks) : undefined;
    breakSession(session, err);
    if (twin) return twin;
    const at = current ?? chunks[0];
    throw copyErrorOf(err, { table: at ? qualifiedName(at) : '(no table)', chunkId: at?.id ?? '', side });
  }
}

/**
 * Inserts every mark and commits, waiting for the WAL flush (a group reported done must survive a
 * target crash). Returns the recorded results when a concurrent run of the same group won.
 */
async function commitWithMarks(session: CopySession, marks: Array<{ tableName: string; result: ChunkResult }>): Promise<ChunkResult[] | undefined> {
  try {
    await insertMarks(session.target, marks);
  } catch (err) {
    if (sqlstateOf(err) !== '23505') throw err;
    await session.target.query('ROLLBACK');
    const recorded = await readMarks(session.target, marks.map((m) => m.result.chunkId));
    if (recorded.size !== marks.length) throw err;
    return [...recorded.values()];
  }
  await session.target.query('SET LOCAL synchronous_commit = on; COMMIT');
  return undefined;
}

async function twinResults(session: CopySession, chunks: readonly CopyChunk[]): Promise<ChunkResult[] | undefined> {
  try {
    await session.target.query('ROLLBACK');
    const recorded = await readMarks(session.target, chunks.map((c) => c.id));
    return chunks.every((c) => recorded.has(c.id)) ? chunks.map((c) => recorded.get(c.id) as ChunkResult) : undefined;
  } catch {
    return undefined;
  }
}

/** One group on fresh connections, for an activity: connect both sides, copy (or find the marks), close. */
export async function copyGroupAt(source: ServerEndpoint, target: ServerEndpoint, chunks: readonly CopyChunk[], opts: SessionOptions & CopyGroupOptions = {}): Promise<ChunkResult[]> {
  const session = await openCopySession(source, target, opts);
  try {
    return await copyGroup(session, chunks, opts);
  } finally {
    await closeCopySession(session);
  }
}
