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
