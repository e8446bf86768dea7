/**
 * Large objects compared by id, size and md5 of their content (read server-side; verification
 * only, never on the copy path).
 */
import type { ClientBase } from 'pg';

export interface LargeObjectDigest {
  oid: string;
  size: number;
  md5: string;
}

/** Large objects on a server with their size and an md5 of their content, for verification. */
export async function largeObjectDigest(client: ClientBase): Promise<LargeObjectDigest[]> {
  const { rows } = await client.query<{ oid: string; size: string; md5: string }>(
    `SELECT m.oid::int8::text AS oid, length(pg_catalog.lo_get(m.oid))::int8 AS size, md5(pg_catalog.lo_get(m.oid)) AS md5
       FROM pg_catalog.pg_largeobject_metadata m ORDER BY m.oid`,
  );
  return rows.map((r) => ({ oid: r.oid, size: Number(r.size), md5: r.md5 }));
}

export interface LargeObjectDifferences {
  /** On the source only (decimal oids, ascending). */
  missing: string[];
  /** On both, with a different size or content. */
  changed: string[];
  /** On the target only. */
  extra: string[];
}

/** What differs between two digests (pure). */
export function compareLargeObjects(source: readonly LargeObjectDigest[], target: readonly LargeObjectDigest[]): LargeObjectDifferences {
  const there = new Map(target.map((d) => [d.oid, d]));
  const here = new Set(source.map((d) => d.oid));
  const out: LargeObjectDifferences = { missing: [], changed: [], extra: [] };
  for (const s of source) {
    const t = there.get(s.oid);
    if (!t) out.missing.push(s.oid);
    else if (t.size !== s.size || t.md5 !== s.md5) out.changed.push(s.oid);
  }
  out.extra = target.filter((t) => !here.has(t.oid)).map((t) => t.oid);
  return out;
}

/** No difference at all. */
export function sameLargeObjects(d: LargeObjectDifferences): boolean {
  return d.missing.length + d.changed.length + d.extra.length === 0;
}

/** Reads both sides and lists what differs (the check after a sync). */
export async function verifyLargeObjects(source: ClientBase, target: ClientBase): Promise<LargeObjectDifferences> {
  return compareLargeObjects(await largeObjectDigest(source), await largeObjectDigest(target));
}
