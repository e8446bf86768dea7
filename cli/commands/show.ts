/** `pgferry show --server S --name N`: one migration, its databases and its validation results. */
import type { Command } from '../args';
import { EXIT, type ExitCode } from '../exit-codes';
import { showText } from '../format';
import { printJson, type CommandContext } from './context';

export async function show(cmd: Extract<Command, { name: 'show' }>, ctx: CommandContext): Promise<ExitCode> {
  const m = await ctx.client.get(cmd.server, cmd.migration);
  if (ctx.output === 'json') printJson(ctx.io, m);
  else ctx.io.out(showText(m, ctx.now()));
  return EXIT.ok;
}
