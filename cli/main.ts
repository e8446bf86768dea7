#!/usr/bin/env node
/**
 * `pgferry` (package.json "bin" → dist/cli/main.js): parse the line, run one command, map what
 * went wrong to an exit code a script can rely on (cli/exit-codes.ts).
 */
import { parseCommandLine, UsageError, type Command } from './args';
import { ApiFailure, PgferryClient, Unreachable } from './client';
import { EXIT, type ExitCode } from './exit-codes';
import { apiErrorText } from './format';
import { COMMAND_HELP, helpText } from './help';
import { action } from './commands/actions';
import { checkName } from './commands/check-name';
import type { CommandContext, Io } from './commands/context';
import { create } from './commands/create';
import { list } from './commands/list';
import { show } from './commands/show';
import { update } from './commands/update';
import { watch } from './commands/watch';

function dispatch(command: Exclude<Command, { name: 'help' }>, ctx: CommandContext): Promise<ExitCode> {
  switch (command.name) {
    case 'create':
      return create(command, ctx);
    case 'list':
      return list(command, ctx);
    case 'show':
      return show(command, ctx);
    case 'watch':
      return watch(command, ctx);
    case 'update':
      return update(command, ctx);
    case 'cutover':
    case 'cancel':
    case 'fallback':
    case 'finalize':
      return action(command, ctx);
    case 'check-name':
      return checkName(command, ctx);
  }
}

export interface MainOptions {
  env?: Record<string, string | undefined>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export async function main(argv: readonly string[], io: Io, o: MainOptions = {}): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseCommandLine(argv, o.env ?? process.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`pgferry: ${e.message}`);
    const usage = e.command !== undefined ? COMMAND_HELP[e.command] : undefined;
    io.err(usage !== undefined ? `\n${usage.split('\n')[0]}\n(pgferry help ${e.command} for more)` : '\nRun pgferry help for the commands and options.');
    return EXIT.usage;
  }
  const { global, command } = parsed;
  if (command.name === 'help') {
    if (command.topic !== undefined && COMMAND_HELP[command.topic] === undefined) {
      io.err(`pgferry: no help for "${command.topic}"; commands: ${Object.keys(COMMAND_HELP).join(', ')}`);
      return EXIT.usage;
    }
    io.out(helpText(command.topic));
    return EXIT.ok;
  }
  const ctx: CommandContext = {
    client: new PgferryClient(global.url, global.key),
    io,
    output: global.output,
    sleep: o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    now: o.now ?? Date.now,
  };
  try {
    return await dispatch(command, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`pgferry: ${e.message}`);
      return EXIT.usage;
    }
    if (e instanceof ApiFailure) {
      io.err(apiErrorText(e));
      return EXIT.api;
    }
    if (e instanceof Unreachable) {
      io.err(`error: ${e.message}`);
      return EXIT.unreachable;
    }
    throw e;
  }
}

export function processIo(): Io {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    write: (raw) => process.stdout.write(raw),
    isTTY: Boolean(process.stdout.isTTY),
    columns: process.stdout.columns ?? 0,
  };
}

if (require.main === module) {
  main(process.argv.slice(2), processIo()).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`pgferry: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
