/**
 * Row count and an order-independent checksum of one table, computed by SQL on the server: the
 * sum over rows of a 64-bit hash of the row text, so neither row order nor physical layout
 * matters, and a missing, extra or changed row changes it. Two hashes:
 * - `fast`: hashtextextended(row text, 0), PostgreSQL's own 64-bit text hash (the one hash
 *   partitioning relies on, so the same on every major from 11 up); about three times cheaper
 *   than md5 on the server, which is what verification costs.
 * - `md5`: the first 64 bits of md5(row text), the same on every platform; compareDatabases
 *   uses it to confirm a table whose fast checksums differ (a server of other byte order hashes
 *   differently), and whenever the encodings differ (md5 then runs over the UTF-8 bytes).
 *
 * The row text must be the same on both servers: the session renders with RENDER_SETTINGS
 * (ISO dates, UTC, all float digits, hex bytea, lc_monetary C), and search_path is pg_catalog
 * so reg* values come out qualified. md5 runs over UTF-8 bytes when the encodings may differ.
 * Floats compare exactly between servers of major 12 and later (shortest-exact output); a
 * pre-12 server prints 17 significant digits and may disagree in the last digit.
 */
import type { ClientBase } from 'pg';
import { quoteIdent, quoteQualified } from '../pg/ident';
import { RENDER_SETTINGS } from '../copy/session';

export interface TableSpec {
  schema: string;
  table: string;
  /** Columns compared, in this order (usually the copied columns). */
  columns: string[];
}

export interface TableChecksum {
  /** Decimal strings: counts and sums exceed 2^53. */
  rows: string;
  checksum: string;
}

/** Prepares a session for checksums (same settings on both sides). */
export async function prepareVerifySession(client: ClientBase): Promise<void> {
  const settings: Array<readonly [string, string]> = [...RENDER_SETTINGS, ['search_path', 'pg_catalog'], ['statement_timeout', '0'], ['row_security', 'off']];
  await client.query(settings.map(([k, v]) => `SET ${k} = '${v.replace(/'/g, "''")}'`).join('; '));
}

export type ChecksumHash = 'fast' | 'md5';

export function checksumSql(t: TableSpec, hash: ChecksumHash, utf8Bytes = false): string {
  if (hash === 'fast' && utf8Bytes) throw new Error('the fast checksum hashes text in the server encoding: use md5 over UTF-8 bytes when the encodings differ');
  const row = `ROW(${t.columns.map((c) => `t.${quoteIdent(c)}`).join(', ')})::text`;
  const text = utf8Bytes ? `pg_catalog.convert_to(${row}, 'UTF8')` : row;
  const rowHash = hash === 'fast' ? `pg_catalog.hashtextextended(${row}, 0)` : `('x' || substr(md5(${text}), 1, 16))::bit(64)::int8`;
  return `SELECT count(*)::text AS rows, coalesce(sum(${rowHash}), 0)::text AS checksum
            FROM ONLY ${quoteQualified(t.schema, t.table)} AS t`;
}

export async function tableChecksum(client: ClientBase, t: TableSpec, hash: ChecksumHash, utf8Bytes = false): Promise<TableChecksum> {
  const { rows } = await client.query<TableChecksum>(checksumSql(t, hash, utf8Bytes));
  const r = rows[0];
  if (!r) throw new Error(`no checksum row for ${t.schema}.${t.table}`);
  return r;
}
