/**
 * What CDC needs to know about the copy (cdc/apply/visibility.ts): per copied table, the snapshot
 * each done chunk recorded, the highest end LSN, and whether it travelled in one chunk. Built from
 * the plan's chunks and the target's done-marks, by the CDC step and by tests alike.
 */
import { compareLsn, normalizeLsn } from '../cdc/lsn';
import { tableKey, type CopySnapshotMap } from '../cdc/apply/visibility';
import type { ChunkResult, CopyChunk } from './types';

export function copySnapshotMap(chunks: readonly CopyChunk[], marks: readonly ChunkResult[]): CopySnapshotMap {
  const byId = new Map(marks.map((m) => [m.chunkId, m]));
  const map: CopySnapshotMap = {};
  for (const c of chunks) {
    const mark = byId.get(c.id);
    if (!mark) continue;
    const key = tableKey(c.schema, c.table);
    const entry = map[key] ?? { snapshots: [], endLsn: '0/0', singleChunk: c.chunkCount === 1, hasKey: true };
    entry.snapshots.push(mark.snapshot);
    if (compareLsn(mark.endLsn, entry.endLsn) > 0) entry.endLsn = normalizeLsn(mark.endLsn);
    map[key] = entry;
  }
  return map;
}
