/**
 * What the applier must know about each target table it writes: its columns (generated ones are
 * never written, identity ALWAYS ones need OVERRIDING SYSTEM VALUE and stay out of SET), its
 * key (the key of key-based statements and of ON CONFLICT: the primary key, else the replica
 * identity index, unique on NOT NULL columns like one), whether other unique or
 * exclusion indexes exist (they forbid multi-row UPDATEs, see writer.ts), and whether it is a
 * partitioned parent (TRUNCATE without ONLY). Loaded once per apply call for the tables seen.
 */
import type { ClientBase } from 'pg';
import type { RelationRef } from '../change';
import { MissingTargetTableError } from '../errors';

/** Cache key: NUL cannot occur in names, so "a.b"."c" and "a"."b.c" stay apart. */
export const relKey = (schema: string, table: string): string => `${schema}\u0000${table}`;

export interface TargetColumn {
  name: string;
  notNull: boolean;
  generated: boolean;
  identityAlways: boolean;
  /** format_type(atttypid, -1) on the target, qualified (read under search_path = pg_catalog). */
  type: string;
  /** The type has an `=` operator of its own; otherwise rows are matched on text. */
  hasEquality: boolean;
}

export interface TargetTable {
  schema: string;
  table: string;
  /** pg_class.relkind: 'r' table, 'p' partitioned table. */
  relkind: string;
  columns: Map<string, TargetColumn>;
  /** Key columns in index order (primary key, else replica identity index); empty when neither exists. */
  key: string[];
  /** Unique or exclusion indexes other than the key's. */
  otherUnique: boolean;
}

export class TargetTables {
  private readonly cache = new Map<string, TargetTable>();
  /** Decoders share one RelationRef per relation: look those up without building a key. */
  private readonly byRef = new WeakMap<RelationRef, TargetTable>();

  get(rel: RelationRef): TargetTable {
    const hit = this.byRef.get(rel);
    if (hit) return hit;
    const t = this.cache.get(relKey(rel.schema, rel.table));
    if (!t) throw new MissingTargetTableError(rel);
    this.byRef.set(rel, t);
    return t;
  }

  /** Loads the tables not cached yet; throws MissingTargetTableError for one that does not exist. */
  async load(client: ClientBase, relations: Iterable<RelationRef>): Promise<void> {
    const wanted = new Map<string, RelationRef>();
    for (const r of relations) {
      const k = relKey(r.schema, r.table);
      if (!this.cache.has(k)) wanted.set(k, r);
    }
    if (wanted.size === 0) return;
    const list = [...wanted.values()];
    const rows = await withCatalogPath(client, () => readTables(client, list));
    for (const r of rows) {
      const columns = new Map<string, TargetColumn>();
      for (const c of r.columns ?? []) {
        columns.set(c.name, {
          name: c.name,
          notNull: c.not_null,
          generated: c.generated !== '',
          identityAlways: c.identity === 'a',
          type: c.type,
          hasEquality: c.eq,
        });
      }
      this.cache.set(relKey(r.schema, r.table), {
        schema: r.schema,
        table: r.table,
        relkind: r.relkind,
        columns,
        key: r.key ?? [],
        otherUnique: r.other_unique,
      });
    }
    for (const [k, rel] of wanted) if (!this.cache.has(k)) throw new MissingTargetTableError(rel);
  }
}

/**
 * Runs `fn` with search_path = pg_catalog, then puts the session's path back: format_type then
 * qualifies every type outside pg_catalog, so the cast names stay exact whatever path the apply
 * session gives user function bodies (session.ts). A failure inside a transaction is undone by
 * its rollback, which restores the path too.
 */
async function withCatalogPath<T>(client: ClientBase, fn: () => Promise<T>): Promise<T> {
  const { rows } = await client.query<{ path: string }>(`SELECT pg_catalog.current_setting('search_path') AS path`);
  await client.query(`SELECT pg_catalog.set_config('search_path', 'pg_catalog', false)`);
  try {
    return await fn();
  } finally {
    await client.query(`SELECT pg_catalog.set_config('search_path', $1, false)`, [rows[0]?.path ?? '']).catch(() => undefined);
  }
}

interface TableRow {
  schema: string;
  table: string;
  relkind: string;
  columns: Array<{ name: string; not_null: boolean; generated: string; identity: string; type: string; eq: boolean }>;
  key: string[] | null;
  other_unique: boolean;
}

async function readTables(client: ClientBase, list: RelationRef[]): Promise<TableRow[]> {
  const { rows } = await client.query<TableRow>(
    `SELECT n.nspname AS schema, c.relname AS table, c.relkind::text AS relkind,
            (SELECT json_agg(json_build_object(
                      'name', a.attname, 'not_null', a.attnotnull,
                      'generated', coalesce(to_jsonb(a) ->> 'attgenerated', ''),
                      'identity', a.attidentity::text,
                      'type', pg_catalog.format_type(a.atttypid, -1),
                      'eq', EXISTS (SELECT 1 FROM pg_catalog.pg_operator o
                                     WHERE o.oprname = '=' AND o.oprleft = a.atttypid AND o.oprright = a.atttypid))
                    ORDER BY a.attnum)
               FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
            (SELECT array_agg(a.attname::text ORDER BY array_position(k.indkey::int2[], a.attnum))
               FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum = ANY (k.indkey::int2[])) AS key,
            EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                     WHERE i.indrelid = c.oid AND i.indexrelid IS DISTINCT FROM k.indexrelid
                       AND (i.indisunique OR i.indisexclusion)) AS other_unique
       FROM unnest($1::text[], $2::text[]) AS w(nsp, rel)
       JOIN pg_catalog.pg_namespace n ON n.nspname = w.nsp
       JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = w.rel AND c.relkind IN ('r', 'p')
       -- The key: the primary key, else the replica identity index (unique, not partial, on NOT
       -- NULL columns, as PostgreSQL requires of one), which the schema step builds with the keys.
       LEFT JOIN LATERAL (SELECT i.indexrelid, i.indkey FROM pg_catalog.pg_index i
                           WHERE i.indrelid = c.oid AND (i.indisprimary OR i.indisreplident)
                           ORDER BY i.indisprimary DESC LIMIT 1) k ON true`,
    [list.map((r) => r.schema), list.map((r) => r.table)],
  );
  return rows;
}
