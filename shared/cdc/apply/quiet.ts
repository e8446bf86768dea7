/**
 * A slot whose database is quiet still holds back every byte of WAL its cluster writes for other
 * databases: restart_lsn moves only when a reader confirms a position, and a reader confirms only
 * what it applied. When a batch caught up and nothing is pending, every commit that ended before
 * `lsn` (the flush position read before the batch) is applied, so the target may record `lsn` as
 * its progress — in a transaction of its own, so the record and the slot agree — and the slot may
 * move there. Nothing is skipped: a commit before `lsn` was decodable when the batch ran.
 */
import type { ClientBase } from 'pg';
import { compareLsn } from '../lsn';
import { Progress, chooseProgressMode } from '../progress';
import { advanceSlot } from '../slot-position';
import { releaseApplyLock, takeApplyLock } from './lock';

/** Records `lsn` on the target and advances the slot to it, unless another applier holds the slot or it is there already. */
export async function advanceQuietSlot(source: ClientBase, target: ClientBase, slot: string, lsn: string, commitTime: string, progressName = slot): Promise<boolean> {
  if (!(await takeApplyLock(target, slot))) return false;
  try {
    const progress = await Progress.open(target, progressName, await chooseProgressMode(target, progressName));
    try {
      const applied = await progress.read();
      if (applied !== undefined && compareLsn(lsn, applied) <= 0) return false;
      await target.query('BEGIN');
      try {
        await progress.record(lsn, commitTime);
        // A transaction without an xid writes no commit record, which carries an origin's progress.
        if (progress.mode === 'origin') await target.query('SELECT pg_catalog.txid_current()');
        await target.query('COMMIT');
      } catch (err) {
        await target.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      const durable = await progress.flush();
      if (durable === undefined || compareLsn(durable, lsn) < 0) return false;
      await advanceSlot(source, slot, lsn);
      return true;
    } finally {
      await progress.release();
    }
  } finally {
    await releaseApplyLock(target, slot).catch(() => undefined);
  }
}
