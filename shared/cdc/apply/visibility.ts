/**
 * Which replay semantics each source change gets, relative to the copy (DESIGN.md "Consistency
 * without a held snapshot"):
 *  - a table copied in ONE chunk is exact: changes of transactions visible in that chunk's
 *    snapshot are already in the copy (skip), everything else is replayed exactly;
 *  - a table copied in several chunks (always keyed) is replayed with idempotent, key-based
 *    semantics until replay passes the consistency point (the highest chunk end LSN), exact after;
 *    a transaction visible in every chunk snapshot is skipped, one visible in only some chunks is
 *    idempotent whatever its LSN (this also covers commits whose WAL record was not yet written
 *    when a chunk read pg_current_wal_lsn());
 *  - a table the copy does not know (created later) is exact.
 * Decoding reports 32-bit xids; snapshots carry epoch-aware 64-bit ones: widenXid bridges them.
 */
import { quoteQualified } from '../../pg/ident';
import { compareLsn, maxLsn } from '../lsn';

/** What the copy recorded for one table. */
export interface TableCopySnapshot {
  /** pg_current_snapshot() (or txid_current_snapshot()) text of each chunk: 'xmin:xmax:xip1,xip2'. */
  snapshots: string[];
  /** Highest pg_current_wal_lsn() read at the end of the table's chunks, 'X/Y'. */
  endLsn: string;
  /** The table was copied in a single chunk (one snapshot). */
  singleChunk: boolean;
  /** The table has a primary key (or a replica identity index). */
  hasKey: boolean;
}

/** Keyed by `tableKey(schema, table)`. */
export type CopySnapshotMap = Record<string, TableCopySnapshot>;

export type ReplayMode = 'skip' | 'idempotent' | 'exact';

/**
 * The map key of a table: both parts quoted, so names that differ only by where a dot falls
 * ("a.b"."c" and "a"."b.c") never share a key.
 */
export function tableKey(schema: string, table: string): string {
  return quoteQualified(schema, table);
}

export interface TxSnapshot {
  xmin: bigint;
  xmax: bigint;
  xip: ReadonlySet<bigint>;
}

export function parseSnapshot(text: string): TxSnapshot {
  const m = /^(\d+):(\d+):([\d,]*)$/.exec(text.trim());
  if (!m) throw new RangeError(`not a snapshot (xmin:xmax:xip,…): ${JSON.stringify(text)}`);
  const xip = new Set((m[3] ?? '').split(',').filter((s) => s !== '').map((s) => BigInt(s)));
  return { xmin: BigInt(m[1] ?? '0'), xmax: BigInt(m[2] ?? '0'), xip };
}

/**
 * The 64-bit xid nearest to `reference` whose low 32 bits are `xid32`. Transactions replayed
 * against a snapshot are close to it in time (far less than 2^31 xids apart), so the nearest one
 * is the right one, across an epoch wrap too.
 */
export function widenXid(xid32: bigint | number | string, reference: bigint): bigint {
  const low = BigInt(xid32) & 0xffffffffn;
  let x = (reference & ~0xffffffffn) | low;
  if (x > reference + 0x80000000n) x -= 0x100000000n;
  else if (x < reference - 0x80000000n) x += 0x100000000n;
  return x;
}

/** Whether transaction xid (32-bit, from decoding) had committed for this snapshot. */
export function isVisible(snapshot: TxSnapshot, xid32: bigint | number | string): boolean {
  const xid = widenXid(xid32, snapshot.xmax);
  if (xid < snapshot.xmin) return true;
  if (xid >= snapshot.xmax) return false;
  return !snapshot.xip.has(xid);
}

/** Decides the replay mode of (table, transaction); parses each snapshot once. */
export class ReplayPlanner {
  private readonly tables = new Map<string, { info: TableCopySnapshot; snaps: TxSnapshot[] }>();
  /** Past this commit LSN every table is exact. */
  readonly consistencyLsn: string | undefined;

  constructor(copy: CopySnapshotMap = {}, consistencyLsn?: string) {
    let highest: string | undefined;
    for (const [key, info] of Object.entries(copy)) {
      this.tables.set(key, { info, snaps: info.snapshots.map(parseSnapshot) });
      highest = highest === undefined ? info.endLsn : maxLsn(highest, info.endLsn);
    }
    this.consistencyLsn = consistencyLsn ?? highest;
  }

  modeFor(schema: string, table: string, xid: string, commitLsn: string): ReplayMode {
    if (this.tables.size === 0) return 'exact';
    const t = this.tables.get(tableKey(schema, table));
    if (!t) return 'exact';
    const visibleIn = t.snaps.filter((s) => isVisible(s, xid)).length;
    if (t.snaps.length > 0 && visibleIn === t.snaps.length) return 'skip';
    if (t.info.singleChunk) return 'exact';
    if (visibleIn > 0) return 'idempotent';
    if (this.consistencyLsn !== undefined && compareLsn(commitLsn, this.consistencyLsn) <= 0) return 'idempotent';
    return 'exact';
  }

  /**
   * The mode of a transaction whose commit LSN is not known yet (a huge one written in parts):
   * as modeFor, but a multi-chunk table not fully visible is idempotent unless the copy is over
   * (no consistency point).
   */
  modeBeforeCommit(schema: string, table: string, xid: string): ReplayMode {
    const t = this.tables.get(tableKey(schema, table));
    if (!t) return 'exact';
    const visibleIn = t.snaps.filter((s) => isVisible(s, xid)).length;
    if (t.snaps.length > 0 && visibleIn === t.snaps.length) return 'skip';
    if (t.info.singleChunk) return 'exact';
    return 'idempotent';
  }

  /** Whether replay of a transaction committed at `commitLsn` is past the consistency point. */
  isPastConsistency(commitLsn: string): boolean {
    return this.consistencyLsn === undefined || compareLsn(commitLsn, this.consistencyLsn) > 0;
  }
}
