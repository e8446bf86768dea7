/**
 * The way back under the strict offline host: its steps that move and check data — prepareReverse,
 * openReverse, applyReverse, beginFallback, verifyFallback and completeFallback — are each delivered
 * twice at once on two worker processes (a lease that expired and was redelivered; the first answer
 * counts). The target's changes must still reach the source exactly once: after the fall back the
 * source equals the target under the judge, with nothing of pgferry left.
 */
import { describe, expect, it, inject } from 'vitest';
import { sql } from '../support/databases';
import { http, useHost } from '../support/host';
import { FIXTURE_SQL, WRITES_SQL, expectTargetEqualsSource, migrationBody, migrationUrl, slotsOn, useDatabases, waitForState } from '../support/e2e';

const TWICE = ['prepareReverse', 'openReverse', 'applyReverse', 'beginFallback', 'verifyFallback', 'completeFallback'];
const source = inject('source');
const target = inject('target');
const host = useHost({ args: ['--deliver-twice', TWICE.join(',')] });
const dbs = useDatabases(source, target);

describe('fallback with its steps delivered twice', () => {
  it('cuts over, replays the target\'s writes once, falls back, and the source equals the target', async () => {
    const db = await dbs.create('fbtwice', FIXTURE_SQL);
    const body = migrationBody(source, target, [db]);
    const put = await http(migrationUrl(host, 'tgt', 'fbtwice'), { method: 'PUT', body: { properties: { ...body.properties, fallbackAfterCutover: 'True' } } });
    expect(put.status, put.text).toBe(201);
    await waitForState(host, 'tgt', 'fbtwice', 'WaitingForUserAction', 'WaitingForCutoverTrigger', 240_000);
    expect((await http(migrationUrl(host, 'tgt', 'fbtwice'), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } })).status).toBe(200);
    await waitForState(host, 'tgt', 'fbtwice', 'Succeeded', 'ReplicatingToSource', 240_000);
    for (let i = 0; i < 20; i++) await sql(target, db, WRITES_SQL);
    const patch = await http(migrationUrl(host, 'tgt', 'fbtwice'), { method: 'PATCH', body: { properties: { triggerFallback: 'True' } } });
    expect(patch.status, patch.text).toBe(200);
    const done = await waitForState(host, 'tgt', 'fbtwice', 'Succeeded', 'FellBackToSource', 240_000);
    expect(done.properties.currentStatus.currentSubStateDetails.dbDetails[db]?.reverseReplication).toMatchObject({ state: 'FellBack', conflicts: 0 });
    await expectTargetEqualsSource(source, target, db);
    expect(await slotsOn(source, db)).toEqual([]);
    expect(await slotsOn(target, db)).toEqual([]);
    for (const name of TWICE) expect(host.logs(), name).toMatch(new RegExp(`delivering '${name}' \\(instance [^)]+\\) twice at once`));
  }, 600_000);
});
