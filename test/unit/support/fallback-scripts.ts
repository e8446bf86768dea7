/** Scripts of the fallback window's orchestrations for the fake context.df (fake-df.ts). */
import { ACTIVITIES as A, migrationInstanceId, reverseInstanceId, type MigrationInput, type ReverseLoopState, type ReverseOutcome } from '../../../shared/steps/contracts';
import type { Responder, Script, ScriptEvent } from './fake-df';

export const T0 = new Date('2030-01-01T00:00:00Z');
export const MIGRATION_ID = migrationInstanceId('srv', 'mig');
export const KEY = { server: 'srv', name: 'mig' };
export const DB_KEY = { ...KEY, db: 'app' };
export const ok = <T>(value: T) => ({ ok: true as const, value });
export const fail = (message: string) => ({ ok: false as const, failure: { message } });
const nothing = () => null;

export const REVERSE_STATE: ReverseLoopState = { ...DB_KEY, migrationInstanceId: MIGRATION_ID, runId: 'run-1' };

/** One reverse batch's outcome: busy, nothing asked, unless overridden. */
export const rbatch = (o: Partial<ReverseOutcome> = {}): ReverseOutcome => ({ idle: false, reachedEnd: false, control: 'none', ...o });

/** The reverse stream: the batches in order, then `then` (default: finalize). */
export function reverseScript(batches: ReverseOutcome[], o: { state?: Partial<ReverseLoopState>; then?: ReverseOutcome; activities?: Record<string, Responder>; events?: ScriptEvent[] } = {}): Script {
  return {
    instanceId: reverseInstanceId(MIGRATION_ID, 0),
    now: T0,
    input: { ...REVERSE_STATE, ...o.state },
    activities: {
      [A.openReverse]: () => ok(null),
      [A.applyReverse]: (_: unknown, n: number) => ok(batches[n - 1] ?? o.then ?? rbatch({ control: 'finalize' })),
      [A.beginFallback]: () => ok({ endLsn: '0/F00' }),
      [A.verifyFallback]: () => ok({ compared: 3, next: null }),
      [A.completeFallback]: () => ok({}),
      [A.fallbackFailed]: nothing,
      [A.noteReverse]: nothing,
      [A.endReverse]: nothing,
      [A.databaseFinished]: nothing,
      ...o.activities,
    },
    events: o.events ?? [],
  };
}

export const REVERSING_INPUT: MigrationInput = { ...KEY, option: 'ValidateAndMigrate', databases: ['app'], watching: true, reversing: true };

/** The migration's fallback window: watchReverse answers from `finished` per call (default: finished at once). */
export function reversingScript(finished: boolean[] = [true], o: { activities?: Record<string, Responder>; events?: ScriptEvent[] } = {}): Script {
  return {
    instanceId: MIGRATION_ID,
    now: T0,
    input: REVERSING_INPUT,
    activities: {
      [A.watchReverse]: (_: unknown, n: number) => ({ finished: finished[n - 1] ?? true }),
      [A.recordFallbackControl]: nothing,
      [A.finishReverse]: nothing,
      ...o.activities,
    },
    events: o.events ?? [],
  };
}
