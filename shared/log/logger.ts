/**
 * Structured logs: one JSON object a line — time, level, msg, then the migration, database,
 * phase, durationMs and error of the event, then anything else — redacted (./redact). Where the
 * line goes is the caller's sink: the Functions invocation context in the app (which the Functions
 * host ships to Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set), stdout
 * and stderr by default. Free of Functions types, like all of shared/.
 */
import { errorFields, redactText, redactValue } from './redact';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogFields {
  /** `server/name` of the migration. */
  migration?: string;
  database?: string;
  /** The step: an activity name, a schema phase, an HTTP function. */
  phase?: string;
  durationMs?: number;
  /** An Error (name, message, SQLSTATE code; stack on error lines) or a message. */
  error?: unknown;
  [field: string]: unknown;
}

export type LogSink = (level: LogLevel, line: string) => void;

export const consoleSink: LogSink = (level, line) => {
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${line}\n`);
};

const FIRST = ['migration', 'database', 'phase', 'durationMs', 'error'] as const;

/** The JSON line for one event; never throws. */
export function formatLine(level: LogLevel, msg: string, fields: LogFields, time: Date = new Date()): string {
  const rec: Record<string, unknown> = { time: time.toISOString(), level, msg: redactText(msg) };
  for (const k of FIRST) {
    const v = fields[k];
    if (v === undefined) continue;
    if (k === 'error') rec.error = errorFields(v, level === 'error');
    else if (k === 'durationMs' && typeof v === 'number') rec.durationMs = Math.round(v);
    else rec[k] = redactValue(v);
  }
  const rest = redactValue(Object.fromEntries(Object.entries(fields).filter(([k]) => !(FIRST as readonly string[]).includes(k))));
  if (rest && typeof rest === 'object') Object.assign(rec, rest);
  try {
    return JSON.stringify(rec);
  } catch {
    return JSON.stringify({ time: rec.time, level, msg: rec.msg, error: { message: 'log fields could not be serialised' } });
  }
}

export class Logger {
  constructor(
    private readonly sink: LogSink = consoleSink,
    private readonly base: LogFields = {},
  ) {}

  /** The same sink with more fields on every line. */
  child(fields: LogFields): Logger {
    return new Logger(this.sink, { ...this.base, ...fields });
  }

  debug(msg: string, fields: LogFields = {}): void {
    this.write('debug', msg, fields);
  }

  info(msg: string, fields: LogFields = {}): void {
    this.write('info', msg, fields);
  }

  warn(msg: string, fields: LogFields = {}): void {
    this.write('warn', msg, fields);
  }

  error(msg: string, fields: LogFields = {}): void {
    this.write('error', msg, fields);
  }

  private write(level: LogLevel, msg: string, fields: LogFields): void {
    try {
      this.sink(level, formatLine(level, msg, { ...this.base, ...fields }));
    } catch {
      // A log sink that fails must not fail the work it describes.
    }
  }
}
