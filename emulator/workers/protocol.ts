/**
 * Messages between the host and its activity workers (child processes on the IPC channel).
 * Inputs and results travel as the JSON text the orchestration history holds; an answer is the
 * history event itself (TaskCompleted or TaskFailed), built where the activity ran.
 */
import type { ActivityJob } from '../activities';
import type { HistoryEvent } from '../durable/history';
import type { LogLevel } from '../log';

export interface WorkerInit {
  type: 'init';
  appDir: string;
  entry: string[];
  logLevel: LogLevel;
  /** The durableClient binding value for activities that declare one (null: none was given). */
  clientBinding: unknown;
}

export type ToWorker =
  | WorkerInit
  | { type: 'invoke'; id: number; job: ActivityJob }
  /** Run appTerminate hooks and exit. */
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; activities: number }
  /** The app could not be loaded; the worker exits. */
  | { type: 'failed'; error: string }
  | { type: 'log'; level: LogLevel; text: string }
  | { type: 'done'; id: number; event: HistoryEvent };
