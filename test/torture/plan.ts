/**
 * Everything one seed does, decided up front from the seed number alone: the schema, the initial
 * data, the workload of each phase, how fast it is written, the decoder, and the fault schedule.
 * Each part comes from its own stream (prng.ts), so `--seed S` replays the same seed exactly.
 */
import { Prng } from './prng';
import { generateSchema, type Schema } from './schema';
import { Workload, type Txn } from './workload';

/** The phases a fault is aimed at: after the PUT (prerequisites, copy, catch-up), while waiting for cutover, after triggerCutover. */
export type Phase = 'copy' | 'streaming' | 'cutover';

export type FaultKind = 'terminate source sessions' | 'terminate target sessions' | 'host SIGKILL + restart';

export interface FaultSpec {
  kind: FaultKind;
  phase: Phase;
  /** After the phase began. */
  delayMs: number;
}

export interface SeedPlan {
  seed: number;
  decoder: 'pgoutput' | 'wal2json';
  schema: Schema;
  /** Written before the migration starts (one transaction). */
  initial: string[];
  /** Written from the PUT on, through the copy and the catch-up. */
  copyTxns: Txn[];
  /** Written while the migration waits for cutover. */
  streamTxns: Txn[];
  /** Pause between two transactions of a phase, at most. */
  paceMs: number;
  faults: FaultSpec[];
  /** A host kill affects every migration on its host: such a seed runs on a host of its own. */
  ownHost: boolean;
  /**
   * wal2json with a keyless table holding float4, float8 or numeric columns: wal2json prints NULL,
   * NaN and ±Infinity alike, so the workload may make two rows of it equal but for such a value,
   * and a change to one of them then stops the migration with a documented, clear error (validation
   * warns about it up front, 603931). The one failure such a seed may end with (run-seed.ts).
   */
  wal2jsonAmbiguity?: WarnedTable;
}

/** The keyless table, as validation names it (quoted identifiers) and as the apply error names it. */
export interface WarnedTable {
  quoted: string;
  relation: string;
}

const PRINTED_ALIKE: readonly string[] = ['float4', 'float8', 'numeric'];

function wal2jsonAmbiguity(decoder: SeedPlan['decoder'], schema: Schema): WarnedTable | undefined {
  const keyless = schema.tables.find((t) => t.key === 'full' && t.cols.some((c) => PRINTED_ALIKE.includes(c.kind)));
  if (decoder !== 'wal2json' || !keyless) return undefined;
  return { quoted: keyless.q, relation: `${JSON.stringify(schema.schema)}.${JSON.stringify(keyless.name)}` };
}

function faultPlan(seed: number): FaultSpec[] {
  const r = new Prng(seed, 'faults');
  const phase = () => r.weighted<Phase>([['copy', 3], ['streaming', 2], ['cutover', 2]]);
  const faults: FaultSpec[] = [];
  for (let i = r.weighted<number>([[0, 3], [1, 4], [2, 2], [3, 1]]); i > 0; i--) {
    faults.push({ kind: r.chance(0.5) ? 'terminate source sessions' : 'terminate target sessions', phase: phase(), delayMs: r.int(0, 4000) });
  }
  if (r.chance(0.15)) faults.push({ kind: 'host SIGKILL + restart', phase: phase(), delayMs: r.int(0, 5000) });
  return faults.sort((a, b) => a.delayMs - b.delayMs);
}

export function planSeed(seed: number): SeedPlan {
  const r = new Prng(seed, 'plan');
  const schema = generateSchema(seed);
  const data = new Workload(schema, seed, 'initial');
  const initial = data.initialData();
  const copy = data.next(seed, 'copy');
  const copyTxns = copy.transactions(r.int(10, 40));
  const streamTxns = copy.next(seed, 'streaming').transactions(r.int(10, 30));
  const faults = faultPlan(seed);
  const decoder = r.chance(0.3) ? 'wal2json' : 'pgoutput';
  const ambiguity = wal2jsonAmbiguity(decoder, schema);
  return {
    seed,
    decoder,
    schema,
    initial,
    copyTxns,
    streamTxns,
    paceMs: r.int(0, 150),
    faults,
    ownHost: faults.some((f) => f.kind === 'host SIGKILL + restart'),
    ...(ambiguity ? { wal2jsonAmbiguity: ambiguity } : {}),
  };
}
