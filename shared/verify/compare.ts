/**
 * Source ↔ target comparison of row counts and checksums, table by table, both sides at once.
 * Usable at any time (a live source gives a moving picture) and at cutover (source quiet).
 */
import type { ClientBase } from 'pg';
import { prepareVerifySession, tableChecksum, type ChecksumHash, type TableSpec } from './checksum';

export interface TableComparison {
  schema: string;
  table: string;
  rowsSource: string;
  rowsTarget: string;
  checksumSource: string;
  checksumTarget: string;
  match: boolean;
}

async function encodingOf(client: ClientBase): Promise<string> {
  const { rows } = await client.query<{ enc: string }>(`SELECT current_setting('server_encoding') AS enc`);
  return rows[0]?.enc ?? 'UTF8';
}

/**
 * Prepares both sessions for checksums; says whether md5 over UTF-8 bytes must decide (the
 * servers' encodings differ).
 */
export async function prepareCompare(source: ClientBase, target: ClientBase): Promise<{ utf8Bytes: boolean }> {
  await Promise.all([prepareVerifySession(source), prepareVerifySession(target)]);
  const [se, te] = await Promise.all([encodingOf(source), encodingOf(target)]);
  return { utf8Bytes: se !== te };
}

/** One table's row counts and checksums on both sides (sessions prepared by prepareCompare). */
export async function compareTable(source: ClientBase, target: ClientBase, t: TableSpec, utf8Bytes: boolean): Promise<TableComparison> {
  const both = (hash: ChecksumHash) => Promise.all([tableChecksum(source, t, hash, utf8Bytes), tableChecksum(target, t, hash, utf8Bytes)]);
  let [s, g] = await both(utf8Bytes ? 'md5' : 'fast');
  // Equal counts, other fast checksums: md5 decides (the same on every platform), so a difference
  // reported is one md5 sees too.
  if (!utf8Bytes && s.rows === g.rows && s.checksum !== g.checksum) [s, g] = await both('md5');
  return {
    schema: t.schema,
    table: t.table,
    rowsSource: s.rows,
    rowsTarget: g.rows,
    checksumSource: s.checksum,
    checksumTarget: g.checksum,
    match: s.rows === g.rows && s.checksum === g.checksum,
  };
}

/**
 * Compares the given tables in order; the clients are prepared for checksums first. With a
 * deadline (epoch ms), no table starts after it (at least one is compared): the caller resumes
 * with the rest, so one call stays time-bounded.
 */
export async function compareDatabases(source: ClientBase, target: ClientBase, tables: readonly TableSpec[], deadline?: number): Promise<TableComparison[]> {
  const { utf8Bytes } = await prepareCompare(source, target);
  const out: TableComparison[] = [];
  for (const t of tables) {
    if (deadline !== undefined && out.length > 0 && Date.now() >= deadline) break;
    out.push(await compareTable(source, target, t, utf8Bytes));
  }
  return out;
}

/** Only the tables that differ. */
export function mismatches(results: readonly TableComparison[]): TableComparison[] {
  return results.filter((r) => !r.match);
}
