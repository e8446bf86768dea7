/**
 * Type names for casts on the target, resolved from source type OIDs once per process.
 * format_type(oid, -1) under search_path = pg_catalog qualifies every type outside pg_catalog
 * ("public.mood", "app.\"Money\"[]") and, thanks to the explicit -1, never adds a bogus length
 * ("bpchar", "\"bit\"" rather than character(1), bit(1)).
 */
import type { ClientBase } from 'pg';
import type { SourceTransaction, ColumnValue } from './change';
import { FIRST_NORMAL_OID } from './decode/peek-row';

/** Built-in OIDs are the same on every server: one cache for all of them. */
const builtin = new Map<number, string>();

export class TypeCache {
  /** User-defined types of one source database. */
  private readonly user = new Map<number, string>();

  get(oid: number): string | undefined {
    return oid < FIRST_NORMAL_OID ? builtin.get(oid) : this.user.get(oid);
  }

  /** A read-only view for the decoders: both caches. */
  names(): ReadonlyMap<number, string> {
    const all = new Map(builtin);
    for (const [k, v] of this.user) all.set(k, v);
    return all;
  }

  /** Looks up the OIDs not cached yet, in one query. */
  async resolve(client: ClientBase, oids: Iterable<number>): Promise<void> {
    const missing = [...new Set(oids)].filter((o) => this.get(o) === undefined);
    if (missing.length === 0) return;
    // The reading session is pgferry's own: pinning its search_path is harmless and makes
    // format_type qualify every non-catalog type.
    await client.query(`SET search_path = pg_catalog`);
    const { rows } = await client.query<{ oid: string; name: string }>(
      `SELECT t.oid::int8 AS oid, format_type(t.oid, -1) AS name FROM pg_catalog.pg_type t WHERE t.oid = ANY($1::oid[])`,
      [missing],
    );
    for (const r of rows) {
      const oid = Number(r.oid);
      (oid < FIRST_NORMAL_OID ? builtin : this.user).set(oid, r.name);
    }
    const still = missing.filter((o) => this.get(o) === undefined);
    if (still.length > 0) throw new Error(`source types not found in pg_type: ${still.join(', ')}`);
  }

  /** Fills `type` of every column from its OID (after resolve). */
  apply(txns: readonly SourceTransaction[]): void {
    forEachColumn(txns, (c) => {
      if (c.typeOid === undefined) return;
      const name = this.get(c.typeOid);
      if (name !== undefined) c.type = name;
    });
  }

  /** OIDs of the columns whose name is not known yet. */
  unknownOids(txns: readonly SourceTransaction[]): Set<number> {
    const out = new Set<number>();
    forEachColumn(txns, (c) => {
      if (c.typeOid !== undefined && this.get(c.typeOid) === undefined) out.add(c.typeOid);
    });
    return out;
  }
}

export function forEachColumn(txns: readonly SourceTransaction[], fn: (c: ColumnValue) => void): void {
  for (const t of txns) {
    for (const ch of t.changes) {
      if (ch.kind === 'truncate') continue;
      if (ch.kind !== 'delete') ch.newRow.forEach(fn);
      if (ch.kind !== 'insert') ch.oldKey.forEach(fn);
    }
  }
}
