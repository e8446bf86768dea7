/**
 * How the torture harness counts a seed (test/torture/run-seed.ts): the one failure a seed may end
 * with is wal2json's documented NULL-vs-NaN/±Infinity stop on the keyless table its plan predicts,
 * and only when validation warned about that table (603931) — counted apart, never as passed;
 * anything else that is not Succeeded and equal stays a divergence.
 */
import { describe, expect, it } from 'vitest';
import type { ValidationDetails } from '../../shared/model/migration-resource';
import { planSeed } from '../torture/plan';
import { diverged, expectedFailure, type SeedResult } from '../torture/run-seed';

const plan = planSeed(6); // wal2json, keyless "app"."Order Lines" with float columns
const error = 'torture_6: apply changes failed: update on "app"."Order Lines" (source xid 1411, commit 0/4522CB0): wal2json prints NULL, NaN, Infinity and -Infinity alike, and the target has rows of "app"."Order Lines" equal but for these (c_float4=-Infinity and c_float4=NULL), so the changed one cannot be known; migrate with the pgoutput decoder';

function validation(code: string, message: string): ValidationDetails {
  return {
    status: 'Warning', validationStartTimeInUtc: '2026-01-01T00:00:00Z', validationEndTimeInUtc: '2026-01-01T00:00:01Z', serverLevelValidationDetails: [],
    dbLevelValidationDetails: [{ databaseName: 'torture_6', startedOn: '2026-01-01T00:00:00Z', endedOn: '2026-01-01T00:00:01Z', summary: [
      { type: 'SchemaValidation', state: 'Warning', messages: [{ state: 'Warning', code, message, fix: '' }] },
    ] }],
  } as ValidationDetails;
}
const warned = validation('603931', '1 table(s) in torture_6 have no key but REPLICA IDENTITY FULL and float4, float8 or numeric columns: "app"."Order Lines" ("c_float4")');

function result(over: Partial<SeedResult>): SeedResult {
  return { seed: 6, decoder: 'wal2json', ownHost: false, state: 'Failed', equal: false, differences: [], tables: 4, rows: 10, faults: [], workloadErrors: [], leftovers: [], durationMs: 1, timings: {}, ...over };
}

describe('a seed that stopped with the documented wal2json error', () => {
  it('the plan predicts it: wal2json with a keyless table holding float columns', () => {
    expect(plan.decoder).toBe('wal2json');
    expect(plan.wal2jsonAmbiguity).toEqual({ quoted: '"app"."Order Lines"', relation: '"app"."Order Lines"' });
    // pgoutput seeds, and wal2json seeds whose keyless table has no float or numeric column, predict nothing.
    expect([1, 2, 3, 4, 5].map(planSeed).filter((p) => p.wal2jsonAmbiguity).map((p) => p.seed)).toEqual([]);
  });

  it('is an expected clear failure only when validation warned about that table', () => {
    const why = expectedFailure(plan, 'Failed', error, warned);
    expect(why).toContain('"app"."Order Lines"');
    expect(diverged(result({ expectedFailure: why }))).toBe(false);
  });

  it('is a divergence when validation did not warn, warned about another table, or the plan does not predict it', () => {
    expect(expectedFailure(plan, 'Failed', error, undefined)).toBeUndefined();
    expect(expectedFailure(plan, 'Failed', error, validation('603918', '"app"."Order Lines"'))).toBeUndefined();
    expect(expectedFailure(plan, 'Failed', error, validation('603931', '"app"."other" ("c_float8")'))).toBeUndefined();
    expect(expectedFailure(planSeed(1), 'Failed', error, warned)).toBeUndefined();
  });

  it('is a divergence when the failure is another one, or the migration did not fail', () => {
    expect(expectedFailure(plan, 'Failed', 'torture_6: apply changes failed: divergence: delete on "app"."Order Lines" found no row', warned)).toBeUndefined();
    expect(expectedFailure(plan, 'Failed', error.replace(/"app"\."Order Lines" equal/, '"app"."kv" equal'), warned)).toBeUndefined();
    expect(expectedFailure(plan, 'Succeeded', undefined, warned)).toBeUndefined();
    expect(expectedFailure(plan, 'stuck in InProgress', error, warned)).toBeUndefined();
  });

  it('still diverges when it left a slot or publication behind; a Succeeded seed must be equal', () => {
    expect(diverged(result({ expectedFailure: 'x', leftovers: ['slot pgferry_x'] }))).toBe(true);
    expect(diverged(result({ state: 'Succeeded', equal: false }))).toBe(true);
    expect(diverged(result({ state: 'Succeeded', equal: true }))).toBe(false);
    expect(diverged(result({ state: 'Failed' }))).toBe(true);
  });
});
