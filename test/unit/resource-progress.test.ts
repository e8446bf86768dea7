import { describe, expect, it } from 'vitest';
import { toDbStatus } from '../../shared/api/resource';
import { newDatabaseRecord } from '../../shared/store/databases';
import { dbMigrationStatusSchema } from '../../shared/model/migration-resource';

describe('toDbStatus', () => {
  it('shows retained WAL while the slot exists, and none once the database ended (the slot is dropped)', () => {
    const running = { ...newDatabaseRecord('db1', 'WaitingForCutoverTrigger'), retainedWalBytes: 4096 };
    expect(toDbStatus(running).retainedWalBytes).toBe(4096);
    for (const state of ['Succeeded', 'Failed', 'Canceled'] as const) {
      expect(toDbStatus({ ...running, migrationState: state }).retainedWalBytes, state).toBeUndefined();
    }
  });

  it('adds the copy progress fields beside the ARM ones, valid for the resource schema', () => {
    const d = {
      ...newDatabaseRecord('db1'),
      rowsCopied: 500,
      bytesCopied: 9000,
      progressAt: '2026-12-07T05:53:41.204Z',
      copyProgress: {
        percent: 41.5, estimatedRows: 1000, estimatedBytes: 20000, bytesPerSecond: 3000, secondsRemaining: 4,
        runningTables: [{ schemaName: 'public', tableName: 'big', rowsCopied: 500, bytesCopied: 9000, estimatedRows: 1000, estimatedBytes: 20000, percent: 50 }],
      },
    };
    const s = toDbStatus(d);
    expect(s).toMatchObject({
      fullLoadRowsCopied: 500, fullLoadPercent: 41.5, fullLoadEstimatedRows: 1000, fullLoadEstimatedBytes: 20000,
      fullLoadBytesPerSecond: 3000, fullLoadSecondsRemaining: 4, fullLoadProgressAt: '2026-12-07T05:53:41.204Z',
      fullLoadRunningTables: [{ schemaName: 'public', tableName: 'big', percent: 50 }],
    });
    expect(dbMigrationStatusSchema.parse(s)).toEqual(s);
    expect(toDbStatus({ ...d, copyProgress: { ...d.copyProgress, secondsRemaining: null } })).not.toHaveProperty('fullLoadSecondsRemaining');
  });
});
