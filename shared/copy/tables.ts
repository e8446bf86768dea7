/**
 * Table inventory of one source database: the tables whose rows a copy moves — ordinary tables
 * and leaf partitions (partitioned parents hold no rows; every copy reads FROM ONLY) — with
 * their columns, keys, replica identity and size estimates. Sizes come from relpages, never from
 * pg_table_size (slow on catalogs with tens of thousands of tables); pg_relation_size is used
 * only for tables whose relpages is still 0 (never vacuumed or analysed).
 *
 * Four catalog reads, each a small function receiving its client; all work on PostgreSQL 9.5+.
 */
import type { ClientBase } from 'pg';
import { userSchema } from '../pg/user-schemas';
import { readBaseSnapshot } from './snapshot';
import type { ChunkKey, ColumnInfo, Inventory, SourceTable } from './types';

/** Schemas never copied: the catalogs, TOAST, temp schemas and pgferry's own bookkeeping. */
const USER_NS = userSchema('n');
/** Extension members are recreated by CREATE EXTENSION on the target. */
const NOT_EXT_MEMBER = `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

/** PostgreSQL's first OID for user objects (FirstNormalObjectId). */
const FIRST_USER_OID = 16384;
const INT_TYPES: ReadonlyArray<ChunkKey['type']> = ['smallint', 'integer', 'bigint'];

export async function takeInventory(client: ClientBase): Promise<Inventory> {
  const { rows } = await client.query<{ num: string; enc: string }>(
    `SELECT current_setting('server_version_num') AS num, current_setting('server_encoding') AS enc`,
  );
  const serverVersionNum = Number(rows[0]?.num);
  const major = Math.floor(serverVersionNum / 10000);
  const base = await readBaseSnapshot(client, major);
  const tables = await listTables(client, serverVersionNum);
  return { serverVersionNum, major, encoding: rows[0]?.enc ?? 'UTF8', base, tables, largeObjects: { count: await countLargeObjects(client) } };
}

interface TableRow {
  oid: string;
  schema: string;
  table: string;
  relfilenode: string;
  is_partition: boolean;
  partition_of: string | null;
  unlogged: boolean;
  replident: string;
  pages: string;
  toast_pages: string;
  reltuples: number;
  block_size: string;
}

/** Tables to copy, largest first. */
export async function listTables(client: ClientBase, serverVersionNum: number): Promise<SourceTable[]> {
  const partitions = serverVersionNum >= 100000;
  const { rows } = await client.query<TableRow>(`
    SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS table, c.relfilenode::int8 AS relfilenode,
           ${partitions ? 'c.relispartition' : 'false'} AS is_partition,
           ${partitions ? `(SELECT format('%I.%I', pn.nspname, p.relname)
              FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
              JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
             WHERE i.inhrelid = c.oid AND c.relispartition)` : 'NULL::text'} AS partition_of,
           c.relpersistence = 'u' AS unlogged,
           c.relreplident::text AS replident,
           CASE WHEN c.relpages > 0 THEN c.relpages::int8
                ELSE pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int8 END AS pages,
           CASE WHEN c.reltoastrelid = 0 THEN 0
                WHEN t.relpages > 0 THEN t.relpages::int8
                ELSE pg_catalog.pg_relation_size(c.reltoastrelid) / current_setting('block_size')::int8 END AS toast_pages,
           c.reltuples::float8 AS reltuples,
           current_setting('block_size')::int8 AS block_size
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid
     WHERE c.relkind = 'r' AND ${USER_NS} AND ${NOT_EXT_MEMBER}`);
  const oids = rows.map((r) => r.oid);
  const [columns, keys] = await Promise.all([listColumns(client, oids, serverVersionNum), listUniqueIndexes(client, oids, serverVersionNum)]);
  const tables = rows.map((r): SourceTable => {
    const cols = columns.get(r.oid) ?? [];
    const pages = Number(r.pages);
    const blockSize = Number(r.block_size);
    const reltuples = Number(r.reltuples);
    return {
      schema: r.schema,
      table: r.table,
      oid: Number(r.oid),
      relfilenode: Number(r.relfilenode),
      kind: r.is_partition ? 'partition' : 'table',
      partitionOf: r.partition_of,
      unlogged: r.unlogged,
      columns: cols,
      replicaIdentity: REPLIDENT[r.replident] ?? 'default',
      estimatedBytes: (pages + Number(r.toast_pages)) * blockSize,
      pages,
      // -1 (14+) or 0 on a table with pages means "never analysed".
      estimatedRows: reltuples < 0 || (reltuples === 0 && pages > 0) ? null : Math.round(reltuples),
      ...keysOf(cols, keys.get(r.oid) ?? [], r.replident),
    };
  });
  return tables.sort((a, b) => b.estimatedBytes - a.estimatedBytes || a.schema.localeCompare(b.schema) || a.table.localeCompare(b.table));
}

const REPLIDENT: Record<string, SourceTable['replicaIdentity']> = { d: 'default', n: 'nothing', f: 'full', i: 'index' };

interface ColumnRow {
  oid: string;
  name: string;
  type: string;
  type_oid: string;
  not_null: boolean;
  generated: string;
  identity: string;
}

async function listColumns(client: ClientBase, oids: string[], versionNum: number): Promise<Map<string, ColumnInfo[]>> {
  const { rows } = await client.query<ColumnRow>(
    `SELECT a.attrelid::int8 AS oid, a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
            a.atttypid::int8 AS type_oid, a.attnotnull AS not_null,
            ${versionNum >= 120000 ? 'a.attgenerated::text' : `''::text`} AS generated,
            ${versionNum >= 100000 ? 'a.attidentity::text' : `''::text`} AS identity
       FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  const safe = await binarySafeTypes(client, [...new Set(rows.map((r) => r.type_oid))]);
  const out = new Map<string, ColumnInfo[]>();
  for (const r of rows) {
    const list = out.get(r.oid) ?? [];
    list.push({
      name: r.name,
      type: r.type,
      generated: r.generated !== '' && r.generated !== '\0',
      identity: r.identity === 'a' ? 'always' : r.identity === 'd' ? 'by default' : null,
      notNull: r.not_null,
      binarySafe: safe.get(r.type_oid) ?? false,
    });
    if (list.length === 1) out.set(r.oid, list);
  }
  return out;
}

interface TypeRow {
  oid: string;
  typname: string;
  nspname: string;
  typtype: string;
  typbasetype: string;
  typelem: string;
  typcategory: string;
  has_io: boolean;
}

/**
 * Which column types may travel in binary COPY between two servers of the same major. Binary
 * is conservative by design: built-in types only (user and extension types may differ between
 * the two installations), domains by their base type; no composites or arrays of user types
 * (their binary form carries type OIDs that differ between databases); no reg* types (binary is
 * the OID, text is the name); nothing without binary send/receive functions.
 */
async function binarySafeTypes(client: ClientBase, typeOids: string[]): Promise<Map<string, boolean>> {
  const { rows } = await client.query<TypeRow>(
    `WITH RECURSIVE t(oid) AS (
       SELECT unnest($1::oid[])
       UNION
       SELECT v.x FROM t JOIN pg_catalog.pg_type ty ON ty.oid = t.oid
        CROSS JOIN LATERAL (VALUES (ty.typbasetype), (ty.typelem)) AS v(x) WHERE v.x <> 0)
     SELECT ty.oid::int8 AS oid, ty.typname::text, n.nspname::text, ty.typtype::text, ty.typbasetype::int8 AS typbasetype,
            ty.typelem::int8 AS typelem, ty.typcategory::text, (ty.typsend <> 0 AND ty.typreceive <> 0) AS has_io
       FROM t JOIN pg_catalog.pg_type ty ON ty.oid = t.oid JOIN pg_catalog.pg_namespace n ON n.oid = ty.typnamespace`,
    [typeOids],
  );
  const types = new Map(rows.map((r) => [r.oid, r]));
  const memo = new Map<string, boolean>();
  const safe = (oid: string, depth = 0): boolean => {
    const known = memo.get(oid);
    if (known !== undefined) return known;
    const ty = types.get(oid);
    let ok: boolean;
    if (!ty || depth > 16) ok = false;
    else if (ty.typtype === 'd') ok = safe(ty.typbasetype, depth + 1);
    else if (Number(ty.oid) >= FIRST_USER_OID) ok = false;
    else if (ty.typtype === 'c' || !ty.has_io) ok = false;
    else if (ty.nspname === 'pg_catalog' && ty.typname.startsWith('reg')) ok = false;
    else if (ty.typcategory === 'A') {
      const elem = types.get(ty.typelem);
      ok = elem !== undefined && Number(elem.oid) < FIRST_USER_OID && elem.typtype !== 'd' && safe(elem.oid, depth + 1);
    } else ok = true;
    memo.set(oid, ok);
    return ok;
  };
  return new Map(typeOids.map((oid) => [oid, safe(oid)]));
}

interface IndexRow {
  oid: string;
  primary: boolean;
  replident: boolean;
  columns: string[] | null;
  key_count: number;
  plain: boolean;
}

/** Valid, immediate, non-partial unique indexes on plain columns. */
async function listUniqueIndexes(client: ClientBase, oids: string[], versionNum: number): Promise<Map<string, IndexRow[]>> {
  const keyCount = versionNum >= 110000 ? 'i.indnkeyatts' : 'i.indnatts';
  const { rows } = await client.query<IndexRow>(
    `SELECT i.indrelid::int8 AS oid, i.indisprimary AS primary, i.indisreplident AS replident,
            ${keyCount}::int AS key_count,
            (SELECT array_agg(a.attname::text ORDER BY k.ord)
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE k.ord <= ${keyCount}) AS columns,
            i.indexprs IS NULL AS plain
       FROM pg_catalog.pg_index i
      WHERE i.indrelid = ANY($1::oid[]) AND i.indisunique AND i.indisvalid AND i.indimmediate AND i.indpred IS NULL
      ORDER BY i.indrelid, i.indisprimary DESC, i.indisreplident DESC, i.indexrelid`,
    [oids],
  );
  const out = new Map<string, IndexRow[]>();
  for (const r of rows) {
    if (!r.plain || !r.columns || r.columns.length !== r.key_count) continue;
    const list = out.get(r.oid) ?? [];
    list.push(r);
    out.set(r.oid, list);
  }
  return out;
}

type KeyFacts = Pick<SourceTable, 'replicationKey' | 'hasKey' | 'chunkKey'>;

/** The replication key and the best integer chunk key of a table (pure; exported for tests). */
export function keysOf(columns: ColumnInfo[], indexes: Array<Pick<IndexRow, 'primary' | 'replident' | 'columns'>>, replident: string): KeyFacts {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const allNotNull = (cols: string[]) => cols.every((c) => byName.get(c)?.notNull === true);
  const pk = indexes.find((i) => i.primary);
  const ri = replident === 'i' ? indexes.find((i) => i.replident) : undefined;
  const identity = pk ?? ri;
  const uniqueNotNull = indexes.find((i) => allNotNull(i.columns ?? []));
  const replicationKey = (identity ?? uniqueNotNull)?.columns ?? null;

  const candidates = indexes
    .filter((i) => i.columns?.length === 1)
    .map((i) => {
      const col = byName.get(i.columns?.[0] ?? '');
      const type = INT_TYPES.find((t) => t === col?.type);
      return col && type ? { index: i, col, type } : undefined;
    })
    .filter((c) => c !== undefined);
  const rank = (c: (typeof candidates)[number]) => (c.index.primary ? 0 : c.index === ri ? 1 : c.col.notNull ? 2 : 3);
  candidates.sort((a, b) => rank(a) - rank(b));
  const best = candidates[0];
  const chunkKey: ChunkKey | null = best
    ? { column: best.col.name, type: best.type, notNull: best.col.notNull, isReplicationKey: best.index === identity }
    : null;
  return { replicationKey, hasKey: replicationKey !== null, chunkKey };
}

export async function countLargeObjects(client: ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM pg_catalog.pg_largeobject_metadata`);
  return Number(rows[0]?.n ?? 0);
}
