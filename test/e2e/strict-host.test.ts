/**
 * pgferry under the strict offline host: an Online migration with writes and a cutover while the
 * activities that move and check data — copyChunk (a chunk of the split table, or a group of the
 * small ones), applyBatch, buildTableIndexes, buildGroupIndexes, verifyTables and completeDatabase
 * — are each delivered twice at once, on two worker processes (a lease that
 * expired and was redelivered; the first answer counts). Activities run at least once on any
 * worker, so the migration must still end Succeeded with the target equal to the source.
 *
 * STRICT_HOST_TWICE=copyChunk,applyBatch narrows the activities delivered twice (to find which one
 * a failure comes from); the host's log is kept in test/artifacts/strict-host-<time>.log when the
 * test fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it, inject, onTestFailed } from 'vitest';

import { ROOT, http, useHost } from '../support/host';
import { FIXTURE_SQL, expectTargetEqualsSource, migrationBody, migrationUrl, slotsOn, startWriter, useDatabases, waitForState } from '../support/e2e';

const TWICE = (process.env.STRICT_HOST_TWICE ?? 'copyChunk,applyBatch,buildTableIndexes,buildGroupIndexes,verifyTables,completeDatabase').split(',').filter((n) => n !== '');

const source = inject('source');
const target = inject('target');
// Tables over 1 MB are split: \`big\` travels in chunks (its indexes by buildTableIndexes), the fixture's small tables in groups.
const host = useHost({ args: ['--deliver-twice', TWICE.join(',')], env: { PGFERRY_COPY_SPLIT_MB: '1' } });
const BIG = `
  CREATE TABLE big (id bigint PRIMARY KEY, payload text NOT NULL);
  CREATE INDEX big_payload ON big (payload);
  INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 30000) g;
  ANALYZE;`;
const dbs = useDatabases(source, target);

describe('Online migration with activities delivered twice', () => {
  it(`copies, streams, cuts over and ends Succeeded with the target equal to the source (twice: ${TWICE.join(', ')})`, async () => {
    onTestFailed(() => {
      const dir = join(ROOT, 'test', 'artifacts');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `strict-host-${Date.now()}.log`);
      writeFileSync(file, host.logs());
      console.error(`host log: ${file}`);
    });
    const db = await dbs.create('strict2x', FIXTURE_SQL + BIG);
    const put = await http(migrationUrl(host, 'tgt', 'twice1'), { method: 'PUT', body: migrationBody(source, target, [db]) });
    expect(put.status, put.text).toBe(201);
    const writer = startWriter(source, db);
    let rounds = 0;
    try {
      const waiting = await waitForState(host, 'tgt', 'twice1', 'WaitingForUserAction', 'WaitingForCutoverTrigger', 240_000);
      expect(waiting.properties.currentStatus.currentSubStateDetails.dbDetails[db]?.migrationState).toBe('WaitingForCutoverTrigger');
    } finally {
      rounds = await writer.stop();
    }
    expect(rounds).toBeGreaterThan(0);
    const patch = await http(migrationUrl(host, 'tgt', 'twice1'), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } });
    expect(patch.status, patch.text).toBe(200);

    const done = await waitForState(host, 'tgt', 'twice1', 'Succeeded', 'Completed', 240_000);
    expect(done.properties.currentStatus.currentSubStateDetails.dbDetails[db]?.migrationState).toBe('Succeeded');
    await expectTargetEqualsSource(source, target, db);
    expect(await slotsOn(source, db)).toEqual([]);

    // Every named activity really ran twice at once.
    for (const name of TWICE) expect(host.logs(), name).toMatch(new RegExp(`delivering '${name}' \\(instance [^)]+\\) twice at once`));
  }, 600_000);
});
