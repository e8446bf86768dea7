/**
 * The production copy (copy-units.ts: the plan's units, each copied by the function the copyChunk
 * activity calls) as a child process, `node copy-child.js <config.json>`, for the copy fault test,
 * which kills it at random points or terminates its sessions and runs it again. Prints
 * `start <chunk ids>` and `done <chunk ids>` per unit, then `result <json>`; exits 1 on failure.
 */
import { readFileSync } from 'node:fs';
import type { CopyPlan } from '../../shared/copy';
import type { ServerEndpoint } from '../../shared/pg/endpoint';
import { copyPlan } from './copy-units';

export interface CopyChildConfig {
  source: ServerEndpoint;
  target: ServerEndpoint;
  plan: CopyPlan;
  lanes: number;
}

export interface CopyChildResult {
  units: number;
  chunks: number;
  skipped: number;
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as CopyChildConfig;
  const ids = (unit: ReadonlyArray<{ id: string }>) => unit.map((c) => c.id).join(' ');
  const out = await copyPlan(config.source, config.target, config.plan, {
    lanes: config.lanes,
    onUnitStart: (unit) => process.stdout.write(`start ${ids(unit)}\n`),
    onUnitDone: (unit) => process.stdout.write(`done ${ids(unit)}\n`),
  });
  const result: CopyChildResult = { units: out.units, chunks: out.chunks.length, skipped: out.chunks.filter((c) => c.skipped).length };
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
