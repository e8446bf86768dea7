/**
 * Randomized torture (issue #15): `npm run torture -- --seeds N [--from S] [--concurrency C]`, or
 * `npm run torture -- --seed S` to rerun one seed. Each seed is one Online migration through the
 * offline host over HTTP, with its own schema, data, workload and faults (test/torture/plan.ts),
 * judged by comparing the target with the source. Writes bench/results/torture.json (unless
 * --out says elsewhere), prints a summary line, exits non-zero on any divergence.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startAzurite } from '../../emulator/local/azurite';
import { startCluster } from '../../emulator/local/cluster';
import { ROOT } from './host';
import { planSeed } from './plan';
import { runSeeds } from './runner';

interface Args {
  seeds: number[];
  concurrency: number;
  out: string;
  tolerate: string[];
  /** Print the seeds' plans (schema, data, workload, faults) instead of running them. */
  print: boolean;
  /** Run the seeds without their faults (to tell whether a divergence needs them). */
  noFaults: boolean;
}

function parse(argv: string[]): Args {
  let count = 20;
  let from = 1;
  let only: number | undefined;
  let concurrency = 6;
  let out = join(ROOT, 'bench', 'results', 'torture.json');
  const tolerate: string[] = [];
  let print = false;
  let noFaults = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${flag} needs a non-negative integer`);
      return v;
    };
    switch (flag) {
      case '--seeds': count = num(); break;
      case '--from': from = num(); break;
      case '--seed': only = num(); break;
      case '--concurrency': concurrency = Math.max(1, num()); break;
      case '--print': print = true; break;
      case '--no-faults': noFaults = true; break;
      case '--out': out = argv[++i] ?? out; break;
      case '--tolerate': {
        const kind = argv[++i] ?? '';
        if (!['large object', 'sequence', 'table', 'schema'].includes(kind)) throw new Error(`--tolerate takes 'large object', 'sequence', 'table' or 'schema'`);
        tolerate.push(kind);
        break;
      }
      default: throw new Error(`unknown option ${flag}: npm run torture -- [--seeds N] [--from S] [--seed S] [--concurrency C] [--out file] [--print] [--no-faults] [--tolerate 'large object'|sequence|table|schema]`);
    }
  }
  const seeds = only !== undefined ? [only] : Array.from({ length: count }, (_, k) => from + k);
  return { seeds, concurrency, out, tolerate, print, noFaults };
}

/** A seed's plan as SQL, for reading a failure: what ran on the source, in order, and the faults. */
function printPlan(seed: number): void {
  const p = planSeed(seed);
  const txns = (label: string, list: typeof p.copyTxns) => list.map((t, i) => `-- ${label} ${i}\n${t.statements.join(';\n')};`).join('\n');
  console.log([
    `-- seed ${seed}: decoder ${p.decoder}, pace ≤ ${p.paceMs} ms, ${p.ownHost ? 'own host' : 'shared host'}`,
    ...p.faults.map((f) => `-- fault: ${f.kind} during ${f.phase}, ${f.delayMs} ms in`),
    p.schema.ddl, '-- initial data', `${p.initial.join(';\n')};`, txns('copy', p.copyTxns), txns('streaming', p.streamTxns),
  ].join('\n'));
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (args.print) {
    args.seeds.forEach(printPlan);
    return;
  }
  const t0 = Date.now();
  const [source, target, azurite] = await Promise.all([
    startCluster({ label: 'torture-src', logical: true }),
    startCluster({ label: 'torture-dst', logical: true }),
    startAzurite(),
  ]);
  try {
    if (!source.info.wal2json) throw new Error('wal2json is not installed for PostgreSQL 15: apt-get install -y postgresql-15-wal2json');
    console.log(`[torture] ${args.seeds.length} seed(s) from ${args.seeds[0]}, ${args.concurrency} at a time; source :${source.info.port}, target :${target.info.port}`);
    const summary = await runSeeds({
      source: source.info,
      target: target.info,
      storage: azurite.info.connectionString,
      seeds: args.seeds,
      concurrency: args.concurrency,
      tolerate: args.tolerate,
      noFaults: args.noFaults,
      reproduce: (seed) => `npm run torture -- --seed ${seed}${args.noFaults ? ' --no-faults' : ''}${args.tolerate.map((k) => ` --tolerate '${k}'`).join('')}`,
    });
    const report = {
      generatedAt: new Date().toISOString(),
      command: `npm run torture -- ${process.argv.slice(2).join(' ')}`.trim(),
      seedsRun: summary.seeds,
      firstSeed: args.seeds[0],
      concurrency: args.concurrency,
      tolerated: args.tolerate,
      passed: summary.passed,
      expectedClearFailures: summary.expectedFailures,
      divergences: summary.divergences,
      faultsInjected: summary.faultsByKind,
      divergencesByKind: summary.divergencesByKind,
      durationSeconds: Math.round((Date.now() - t0) / 1000),
      actionViolations: summary.actionViolations,
      failures: summary.failures.map((f) => ({ ...f, hostLogTail: f.hostLogTail?.slice(-2000) })),
      seeds: summary.results.map((r) => ({ seed: r.seed, state: r.state, equal: r.equal, ...(r.expectedFailure ? { expectedFailure: r.expectedFailure } : {}), decoder: r.decoder, ownHost: r.ownHost, tables: r.tables, rows: r.rows, faults: r.faults.map((f) => `${f.kind}@${f.phase}`), seconds: Math.round(r.durationMs / 100) / 10, waitingAtSeconds: Math.round((r.timings.waiting ?? 0) / 100) / 10, workloadErrors: r.workloadErrors.length, tolerated: r.toleratedDifferences?.length ?? 0 })),
    };
    mkdirSync(dirname(args.out), { recursive: true });
    writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
    const faults = Object.entries(summary.faultsByKind).map(([k, n]) => `${k} ×${n}`).join(', ') || 'none';
    const kinds = Object.entries(summary.divergencesByKind).map(([k, n]) => `${k} ×${n}`).join(', ');
    const expected = summary.expectedFailures.length > 0 ? `, ${summary.expectedFailures.length} ended with their expected clear failure (${summary.expectedFailures.map((x) => x.seed).join(', ')})` : '';
    console.log(`[torture] ${summary.seeds} seeds, ${summary.passed} passed${expected}, ${summary.divergences} diverged (${summary.failures.map((f) => f.seed).join(', ') || 'none'})${kinds ? ` [${kinds}]` : ''}; faults: ${faults}; ${report.durationSeconds} s; ${args.out}`);
    for (const f of summary.failures) console.log(`[torture]   seed ${f.seed}: ${f.state}${f.error ? ` — ${f.error.slice(0, 200)}` : ''}${f.differences.length ? ` — ${f.differences.slice(0, 3).join('; ')}` : ''}\n             rerun: ${f.reproduce}`);
    if (summary.actionViolations.length > 0) console.log(`[torture] action watcher: ${summary.actionViolations.join('\n')}`);
    process.exitCode = summary.divergences > 0 || summary.actionViolations.length > 0 ? 1 : 0;
  } finally {
    await Promise.allSettled([source.stop(), target.stop(), azurite.stop()]);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(2);
});
