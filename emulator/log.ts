/**
 * The host's console output. One line per function invocation (name, invocation id, instance id,
 * duration) like the Functions host's "Executed 'Functions.X'" lines; never inputs or outputs,
 * which may carry secrets. Errors carry their stack.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface InvocationLine {
  name: string;
  invocationId: string;
  instanceId?: string;
  ms: number;
  ok: boolean;
  /** Extra words after the status, e.g. an HTTP status code. */
  detail?: string;
}

export class Logger {
  constructor(private readonly min: LogLevel = 'info') {}

  debug(msg: string): void {
    this.write('debug', msg);
  }

  info(msg: string): void {
    this.write('info', msg);
  }

  warn(msg: string): void {
    this.write('warn', msg);
  }

  /** An error with its stack (or its text when it is not an Error). */
  error(msg: string, err?: unknown): void {
    this.write('error', err === undefined ? msg : `${msg}\n${describeError(err)}`);
  }

  invocation(line: InvocationLine): void {
    const parts = [line.ok ? 'Succeeded' : 'Failed', `Id=${line.invocationId}`];
    if (line.instanceId !== undefined) parts.push(`Instance=${line.instanceId}`);
    if (line.detail !== undefined) parts.push(line.detail);
    parts.push(`Duration=${Math.round(line.ms)}ms`);
    this.write(line.ok ? 'info' : 'warn', `Executed '${line.name}' (${parts.join(', ')})`);
  }

  protected write(level: LogLevel, msg: string): void {
    if (RANK[level] < RANK[this.min]) return;
    const text = `${new Date().toISOString()} ${msg}\n`;
    if (level === 'error' || level === 'warn') process.stderr.write(text);
    else process.stdout.write(text);
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  try {
    return typeof err === 'string' ? err : JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/** The message of an Error, or a printable form of anything else thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
