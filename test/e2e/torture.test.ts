/**
 * Randomized torture (issue #15), a few seeds of it in the suite: the same generator and runner as
 * `npm run torture` (test/torture/), each seed one Online migration through the offline host over
 * HTTP with its own schema, data, workload and fault schedule, judged equal to its source.
 *
 *   seed 15 (pgoutput): the host killed (SIGKILL) and restarted during the copy, pgferry's source
 *                       sessions terminated during the copy — on a host of its own;
 *   seed 30 (pgoutput): pgferry's target sessions terminated while streaming, its source sessions
 *                       during the cutover;
 *   seed  5 (wal2json): pgferry's source sessions terminated during the cutover.
 *
 * A failing seed prints the command that reruns it alone: npm run torture -- --seed S.
 */
import { describe, expect, inject, it } from 'vitest';
import { ensureBuilt } from '../support/host';
import { planSeed } from '../torture/plan';
import { runSeeds } from '../torture/runner';

const SEEDS = [15, 30, 5];

describe('randomized torture', () => {
  it('the seeds cover a host kill and session kills on both sides, with both decoders', () => {
    const plans = SEEDS.map(planSeed);
    const kinds = new Set(plans.flatMap((p) => p.faults.map((f) => f.kind)));
    expect([...kinds].sort()).toEqual(['host SIGKILL + restart', 'terminate source sessions', 'terminate target sessions']);
    expect(new Set(plans.map((p) => p.decoder))).toEqual(new Set(['pgoutput', 'wal2json']));
    // The same seed plans the same run: what a rerun of a failing seed relies on.
    expect(JSON.stringify(planSeed(15))).toBe(JSON.stringify(plans[0]));
  });

  it(`seeds ${SEEDS.join(', ')}: every migration Succeeded and the target equals the source`, async () => {
    await ensureBuilt();
    const lines: string[] = [];
    const summary = await runSeeds({
      source: inject('source'),
      target: inject('target'),
      storage: inject('azurite').connectionString,
      seeds: SEEDS,
      concurrency: SEEDS.length,
      log: (l) => lines.push(l),
      reproduce: (seed) => `npm run torture -- --seed ${seed}`,
    });
    const report = summary.failures.map((f) => `seed ${f.seed}: ${f.state}${f.error ? ` (${f.error})` : ''}\n  ${[...f.differences, ...f.leftovers, ...f.workloadErrors].slice(0, 12).join('\n  ')}\n  rerun: ${f.reproduce}`);
    expect(report, lines.join('\n')).toEqual([]);
    expect(summary.actionViolations).toEqual([]);
    expect(summary.seeds).toBe(SEEDS.length);
    // The schedule really ran: at least the host kill and a session kill landed.
    expect(summary.faultsByKind['host SIGKILL + restart']).toBeGreaterThanOrEqual(1);
    expect((summary.faultsByKind['terminate source sessions'] ?? 0) + (summary.faultsByKind['terminate target sessions'] ?? 0)).toBeGreaterThanOrEqual(1);
    expect(summary.results.every((r) => r.workloadErrors.length === 0)).toBe(true);
  }, 300_000);
});
