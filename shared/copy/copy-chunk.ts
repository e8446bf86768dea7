/**
 * One chunk copy: a short, restartable unit of work.
 *
 *   source  BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY
 *           SELECT snapshot, WAL position            ← first, so the snapshot is the chunk's
 *           COPY (SELECT cols FROM ONLY t WHERE range) TO STDOUT ─┐ bytes piped unparsed,
 *   target  BEGIN [; TRUNCATE ONLY t]                             │ with back-pressure
 *           COPY t (cols) FROM STDIN [WITH (FREEZE)]  ◄───────────┘
 *           INSERT done-mark; COMMIT (synchronous)
 *
 * Exactly once: the rows and the done-mark commit in one target transaction. A failure at any
 * point destroys both connections, which makes the servers roll back; a retry first looks for
 * the mark and returns the recorded result when it exists. Two concurrent runs of one chunk
 * cannot both commit: the second mark insert waits for the first and fails on the key.
 */
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { destroyClient } from '../pg/connect';
import { quoteIdent, quoteQualified } from '../pg/ident';
import { sqlstateOf } from '../pg/retryable';
import { insertMark, readMark } from './bookkeeping';
import { copyErrorOf, TableRewrittenError, TargetTableMissingError, type CopySide } from './errors';
import type { ServerEndpoint } from '../pg/endpoint';
import { closeCopySession, openCopySession, type CopySession, type SessionOptions } from './session';
import { CopyRowCounter } from './row-count';
import { lsnExpr, snapshotExpr, visibleInSnapshotExpr } from './snapshot';
import { qualifiedName, type ChunkRange, type ChunkResult, type CopyChunk } from './types';

export interface CopyChunkOptions {
  /** Aborting destroys both connections (the target rolls back). */
  signal?: AbortSignal;
  /** 'text' forces text COPY; 'auto' (default) uses binary when the majors and types allow it. */
  format?: 'auto' | 'text';
  /** Streamed bytes and rows so far, called as data flows (for live progress; keep it cheap). */
  onProgress?: (copied: { bytes: number; rows: number }) => void;
}

/** SQL condition selecting a range's rows, or undefined for the whole table. Bounds are validated numbers. */
export function rangePredicate(range: ChunkRange): string | undefined {
  switch (range.kind) {
    case 'all':
      return undefined;
    case 'key': {
      const col = quoteIdent(range.column);
      const parts = [];
      if (range.from !== null) parts.push(`${col} >= ${integerLiteral(range.from)}`);
      if (range.to !== null) parts.push(`${col} < ${integerLiteral(range.to)}`);
      return parts.length > 0 ? parts.join(' AND ') : `${col} IS NOT NULL`;
    }
    case 'keyNull':
      return `${quoteIdent(range.column)} IS NULL`;
    case 'ctid': {
      const parts = [];
      if (range.fromPage > 0) parts.push(`ctid >= '(${pageNumber(range.fromPage)},0)'::pg_catalog.tid`);
      if (range.toPage !== null) parts.push(`ctid < '(${pageNumber(range.toPage)},0)'::pg_catalog.tid`);
      return parts.length > 0 ? parts.join(' AND ') : undefined;
    }
  }
}

function integerLiteral(text: string): string {
  if (!/^-?\d{1,20}$/.test(text)) throw new Error(`not an integer bound: ${JSON.stringify(text)}`);
  return `'${text}'::int8`;
}

function pageNumber(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a page number: ${n}`);
  return n;
}

/** The source COPY … TO STDOUT of a chunk (COPY takes no parameters: everything inlined is validated). */
export function sourceCopySql(chunk: CopyChunk, sourceMajor: number, binary: boolean): string {
  const table = quoteQualified(chunk.schema, chunk.table);
  const cols = chunk.columns.map(quoteIdent).join(', ');
  const conditions = [rangePredicate(chunk.range), chunk.baseSnapshot ? visibleInSnapshotExpr(sourceMajor, chunk.baseSnapshot) : undefined].filter(
    (c): c is string => c !== undefined,
  );
  const options = binary ? ' WITH (FORMAT binary)' : '';
  // The plain form skips the executor's projection; it too reads only this table, not its children.
  if (conditions.length === 0 && chunk.columns.length > 0) return `COPY ${table} (${cols}) TO STDOUT${options}`;
  return `COPY (SELECT ${cols} FROM ONLY ${table}${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''}) TO STDOUT${options}`;
}

export function targetCopySql(chunk: CopyChunk, binary: boolean, freeze: boolean): string {
  const cols = chunk.columns.length > 0 ? ` (${chunk.columns.map(quoteIdent).join(', ')})` : '';
  const options = [binary ? 'FORMAT binary' : '', freeze ? 'FREEZE' : ''].filter((o) => o !== '');
  return `COPY ${quoteQualified(chunk.schema, chunk.table)}${cols} FROM STDIN${options.length ? ` WITH (${options.join(', ')})` : ''}`;
}

interface TargetTableFacts {
  relkind: string;
  canTruncate: boolean;
  referenced: boolean;
}

async function targetTableFacts(session: CopySession, chunk: CopyChunk): Promise<TargetTableFacts | undefined> {
  const { rows } = await session.target.query<{ relkind: string; can_truncate: boolean; referenced: boolean }>(
    `SELECT c.relkind::text AS relkind, pg_catalog.has_table_privilege(c.oid, 'TRUNCATE') AS can_truncate,
            EXISTS (SELECT 1 FROM pg_catalog.pg_constraint f WHERE f.confrelid = c.oid AND f.contype = 'f') AS referenced
       FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1::text)`,
    [quoteQualified(chunk.schema, chunk.table)],
  );
  const r = rows[0];
  return r && { relkind: r.relkind, canTruncate: r.can_truncate, referenced: r.referenced };
}

/**
 * Copies one chunk, or returns its recorded result when it is already done. On failure both
 * connections of the session are destroyed (session.broken = true) and a CopyError says whether
 * a retry on a new session can help.
 */
export async function copyChunk(session: CopySession, chunk: CopyChunk, opts: CopyChunkOptions = {}): Promise<ChunkResult> {
  const table = qualifiedName(chunk);
  let side: CopySide = 'target';
  const started = performance.now();
  const abort = () => breakSession(session, new Error('copy aborted'));
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    if (session.broken) throw new Error('the copy session is broken: open a new one');
    opts.signal?.throwIfAborted();
    const done = await readMark(session.target, chunk.id);
    if (done) return done;
    const facts = await targetTableFacts(session, chunk);
    if (!facts) throw new TargetTableMissingError(table, chunk.id);

    const binary = opts.format !== 'text' && chunk.binarySafe && session.sourceMajor === session.targetMajor;
    const whole = chunk.chunkCount === 1 && chunk.range.kind === 'all';
    // FREEZE needs the TRUNCATE in the same transaction, a plain table, and no FK pointing at it (TRUNCATE would fail).
    const freeze = whole && facts.relkind === 'r' && facts.canTruncate && !facts.referenced;
    const recode = session.sourceEncoding !== 'UTF8';

    const blame = <T>(where: CopySide, p: Promise<T>): Promise<T> =>
      p.catch((e: unknown) => {
        side = where;
        throw e;
      });
    const [begun] = await Promise.all([
      blame('source', beginSource(session, chunk)),
      blame('target', session.target.query(`BEGIN${freeze ? `; TRUNCATE ONLY ${quoteQualified(chunk.schema, chunk.table)}` : ''}`)),
    ]);
    if (recode) await setCopyEncoding(session, session.sourceEncoding); // SET LOCAL: COMMIT restores UTF8

    const copyOut = session.source.query(copyTo(sourceCopySql(chunk, session.sourceMajor, binary)));
    const copyIn = session.target.query(copyFrom(targetCopySql(chunk, binary, freeze)));
    let bytes = 0;
    const counter = opts.onProgress ? new CopyRowCounter(binary) : undefined;
    copyOut.on('data', (b: Buffer) => {
      bytes += b.length;
      if (!counter) return;
      counter.push(b);
      opts.onProgress?.({ bytes, rows: counter.rows });
    });
    // Which side failed first decides the error's context (the pipeline then destroys the other).
    let failedFirst: CopySide | undefined;
    copyOut.once('error', () => (side = failedFirst ??= 'source'));
    copyIn.once('error', () => (side = failedFirst ??= 'target'));
    await pipeline(copyOut, copyIn);

    // The source snapshot is no longer needed; its COMMIT overlaps the target's.
    const sourceDone = session.source.query('COMMIT');
    sourceDone.catch(() => undefined);
    side = 'target';
    if (recode) await session.target.query(`SET LOCAL client_encoding = 'UTF8'`);
    const result: ChunkResult = {
      chunkId: chunk.id,
      rows: copyIn.rowCount,
      bytes,
      snapshot: chunk.baseSnapshot ?? begun.snapshot,
      endLsn: begun.lsn,
      seconds: (performance.now() - started) / 1000,
      format: binary ? 'binary' : 'text',
      frozen: freeze,
    };
    const winner = await commitWithMark(session, table, result);
    side = 'source';
    await sourceDone;
    return winner ?? { ...result, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    // A unique index on the target makes a concurrent twin's COPY wait for the first run and
    // then fail on its keys: when the first run's mark is there, this run simply lost the race.
    // Only the target's COPY FROM can break a unique index: 23505 is the target's, whatever order the streams failed in.
    if (sqlstateOf(err) === '23505') side = 'target';
    const twin = side === 'target' && sqlstateOf(err) === '23505' && !session.broken ? await twinResult(session, chunk.id) : undefined;
    breakSession(session, err);
    if (twin) return twin;
    if (opts.signal?.aborted) throw copyErrorOf(opts.signal.reason ?? err, { table, chunkId: chunk.id, side });
    throw copyErrorOf(err, { table, chunkId: chunk.id, side });
  } finally {
    opts.signal?.removeEventListener('abort', abort);
  }
}

/** Opens the source's REPEATABLE READ transaction; its snapshot and WAL position come first. */
export async function beginSource(session: CopySession, chunk: CopyChunk): Promise<{ snapshot: string; lsn: string }> {
  const major = session.sourceMajor;
  // The snapshot and LSN are read first: the transaction's snapshot is fixed by this statement.
  const guard = chunk.relfilenode !== undefined ? `, pg_catalog.pg_relation_filenode(${chunk.oid}::pg_catalog.oid)::int8 AS filenode` : '';
  const results = (await session.source.query(
    `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT ${snapshotExpr(major)} AS snapshot, ${lsnExpr(major)} AS lsn${guard}`,
  )) as unknown as Array<{ rows: Array<{ snapshot: string; lsn: string; filenode?: string | null }> }>;
  const row = results[1]?.rows[0];
  if (!row) throw new Error('no snapshot row');
  if (chunk.relfilenode !== undefined && Number(row.filenode) !== chunk.relfilenode) throw new TableRewrittenError(qualifiedName(chunk), chunk.id);
  return { snapshot: row.snapshot, lsn: row.lsn };
}

export async function setCopyEncoding(session: CopySession, encoding: string): Promise<void> {
  const literal = `'${encoding.replace(/'/g, "''")}'`;
  await Promise.all([session.source.query(`SET LOCAL client_encoding = ${literal}`), session.target.query(`SET LOCAL client_encoding = ${literal}`)]);
}

/**
 * Inserts the done-mark and commits, waiting for the WAL flush: a chunk reported done must
 * survive a target crash (the session's asynchronous commit is for everything else).
 * Returns the other run's recorded result when a concurrent run of the same chunk won.
 */
async function commitWithMark(session: CopySession, table: string, result: ChunkResult): Promise<ChunkResult | undefined> {
  try {
    await insertMark(session.target, table, result);
  } catch (err) {
    if (sqlstateOf(err) !== '23505') throw err;
    await session.target.query('ROLLBACK');
    const recorded = await readMark(session.target, result.chunkId);
    if (!recorded) throw err;
    return recorded;
  }
  await session.target.query('SET LOCAL synchronous_commit = on; COMMIT');
  return undefined;
}

/** After a failed COPY on the target: roll back and read the mark another run may have committed. */
async function twinResult(session: CopySession, chunkId: string): Promise<ChunkResult | undefined> {
  destroyClient(session.source); // mid-COPY: not reusable
  try {
    await session.target.query('ROLLBACK');
    return await readMark(session.target, chunkId);
  } catch {
    return undefined;
  }
}

/** Destroying the sockets makes both servers end the session and roll back its transaction. */
export function breakSession(session: CopySession, reason: unknown): void {
  if (session.broken) return;
  session.broken = true;
  const err = reason instanceof Error ? reason : new Error(String(reason));
  destroyClient(session.source, err);
  destroyClient(session.target, err);
}

/**
 * One chunk on fresh connections, for an activity: connect both sides, copy (or find the mark),
 * close. The chunk usually comes from storage: validate it with parseCopyChunk first.
 */
export async function copyChunkAt(
  source: ServerEndpoint,
  target: ServerEndpoint,
  chunk: CopyChunk,
  opts: CopyChunkOptions & SessionOptions = {},
): Promise<ChunkResult> {
  const session = await openCopySession(source, target, opts);
  try {
    return await copyChunk(session, chunk, opts);
  } finally {
    await closeCopySession(session);
  }
}
