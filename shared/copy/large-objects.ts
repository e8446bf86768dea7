/**
 * Large objects: ids, owners and contents, copied with the same OIDs (columns of type oid point
 * at them). Works without superuser (lo_get / lo_from_bytea / lo_put, PostgreSQL 9.4+) and in
 * bounded memory: a batch holds at most `batch` × `sliceBytes` of data, and objects longer than
 * one slice continue slice by slice. Each batch is one target transaction that first unlinks the
 * batch's objects, so a re-run (after a crash) replaces instead of failing.
 *
 * Logical decoding does not carry large objects: at completion syncLargeObjects compares both
 * sides by content digest and copies again only what was created or changed since, unlinking what
 * the source no longer has.
 */
import type { ClientBase } from 'pg';
import { quoteIdent } from '../pg/ident';
import { compareLargeObjects, largeObjectDigest, type LargeObjectDifferences } from '../verify/large-objects';

export interface LargeObjectCopyOptions {
  /** Objects per batch (default 32). */
  batch?: number;
  /** Bytes read per lo_get call (default 256 KiB). */
  sliceBytes?: number;
  /** Only these objects (decimal oids); default every one. */
  only?: readonly string[];
  signal?: AbortSignal;
}

export interface LargeObjectCopyResult {
  count: number;
  bytes: number;
  /** Owners missing on the target (their objects stay owned by the copying role). */
  missingOwners: string[];
}

interface HeadRow {
  oid: string;
  owner: string;
  data: Buffer;
}

export async function copyLargeObjects(source: ClientBase, target: ClientBase, opts: LargeObjectCopyOptions = {}): Promise<LargeObjectCopyResult> {
  const batch = opts.batch ?? 32;
  const slice = opts.sliceBytes ?? 256 * 1024;
  const out: LargeObjectCopyResult = { count: 0, bytes: 0, missingOwners: [] };
  const missing = new Set<string>();
  const { rows: me } = await target.query<{ me: string }>('SELECT current_user AS me');
  const targetUser = me[0]?.me ?? '';
  let after = '0';
  for (;;) {
    opts.signal?.throwIfAborted();
    const { rows } = await source.query<HeadRow>(
      `SELECT m.oid::int8::text AS oid, pg_catalog.pg_get_userbyid(m.lomowner)::text AS owner,
              pg_catalog.lo_get(m.oid, 0, $3::int4) AS data
         FROM pg_catalog.pg_largeobject_metadata m
        WHERE m.oid::int8 > $1::int8 AND ($4::oid[] IS NULL OR m.oid = ANY($4::oid[])) ORDER BY m.oid LIMIT $2::int4`,
      [after, batch, slice, opts.only ?? null],
    );
    if (rows.length === 0) break;
    after = (rows[rows.length - 1] as HeadRow).oid;
    await target.query('BEGIN');
    try {
      const oids = rows.map((r) => r.oid);
      await target.query(
        `SELECT pg_catalog.lo_unlink(m.oid) FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = ANY($1::oid[])`,
        [oids],
      );
      await target.query(`SELECT pg_catalog.lo_from_bytea(x.oid, x.data) FROM unnest($1::oid[], $2::bytea[]) AS x(oid, data)`, [
        oids,
        rows.map((r) => r.data),
      ]);
      for (const r of rows) {
        out.bytes += r.data.length;
        if (r.data.length === slice) out.bytes += await copyTail(source, target, r.oid, slice, opts.signal);
      }
      await setOwners(target, rows, targetUser, missing);
      await target.query('COMMIT');
    } catch (err) {
      await target.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    out.count += rows.length;
  }
  out.missingOwners = [...missing].sort();
  return out;
}

/** The rest of an object longer than one slice; returns the bytes copied. */
async function copyTail(source: ClientBase, target: ClientBase, oid: string, slice: number, signal?: AbortSignal): Promise<number> {
  let offset = slice;
  let bytes = 0;
  for (;;) {
    signal?.throwIfAborted();
    const { rows } = await source.query<{ data: Buffer | null }>(`SELECT pg_catalog.lo_get($1::oid, $2::int8, $3::int4) AS data`, [oid, offset, slice]);
    const data = rows[0]?.data;
    if (!data || data.length === 0) return bytes;
    await target.query(`SELECT pg_catalog.lo_put($1::oid, $2::int8, $3::bytea)`, [oid, offset, data]);
    bytes += data.length;
    offset += data.length;
    if (data.length < slice) return bytes;
  }
}

async function setOwners(target: ClientBase, rows: HeadRow[], targetUser: string, missing: Set<string>): Promise<void> {
  const owners = [...new Set(rows.map((r) => r.owner).filter((o) => o !== targetUser))];
  if (owners.length === 0) return;
  const { rows: found } = await target.query<{ rolname: string }>(`SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY($1::text[])`, [owners]);
  const exists = new Set(found.map((f) => f.rolname));
  const statements: string[] = [];
  for (const r of rows) {
    if (r.owner === targetUser) continue;
    if (!exists.has(r.owner)) {
      missing.add(r.owner);
      continue;
    }
    // ALTER takes no parameters; the oid is a number read from the catalog.
    statements.push(`ALTER LARGE OBJECT ${BigInt(r.oid).toString()} OWNER TO ${quoteIdent(r.owner)}`);
  }
  if (statements.length > 0) await target.query(statements.join('; '));
}

export interface LargeObjectSync extends LargeObjectDifferences {
  /** Bytes copied again. */
  bytes: number;
}

/**
 * Makes the target's large objects the source's: those missing or changed on the target are
 * copied again, those the source no longer has are unlinked. Returns what it found different.
 */
export async function syncLargeObjects(source: ClientBase, target: ClientBase, opts: Omit<LargeObjectCopyOptions, 'only'> = {}): Promise<LargeObjectSync> {
  const diff = compareLargeObjects(await largeObjectDigest(source), await largeObjectDigest(target));
  const copy = [...diff.missing, ...diff.changed];
  const copied = copy.length > 0 ? await copyLargeObjects(source, target, { ...opts, only: copy }) : { bytes: 0 };
  if (diff.extra.length > 0) {
    await target.query(`SELECT pg_catalog.lo_unlink(m.oid) FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = ANY($1::oid[])`, [diff.extra]);
  }
  return { ...diff, bytes: copied.bytes };
}
