/**
 * What every command gets: the API client, where to print, the output format, and the clock
 * (injected so tests can drive watch without waiting).
 */
import type { OutputFormat } from '../args';
import type { PgferryClient } from '../client';

export interface Io {
  /** A line (or block) for stdout; a newline is added. */
  out(text: string): void;
  /** A line (or block) for stderr; a newline is added. */
  err(text: string): void;
  /** Raw stdout, for redrawing in place. */
  write(raw: string): void;
  /** stdout is a terminal: watch redraws in place instead of printing a line per change. */
  isTTY: boolean;
  /** Terminal width, for cutting lines that would wrap (and break the redraw). */
  columns: number;
}

export interface CommandContext {
  client: PgferryClient;
  io: Io;
  output: OutputFormat;
  sleep(ms: number): Promise<void>;
  now(): number;
}

export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}
