/** `pgferry list --server S [--filter Active|All]`: the portal's grid, newest start first. */
import type { Command } from '../args';
import { EXIT, type ExitCode } from '../exit-codes';
import { listTable } from '../format';
import { printJson, type CommandContext } from './context';

export async function list(cmd: Extract<Command, { name: 'list' }>, ctx: CommandContext): Promise<ExitCode> {
  const { value } = await ctx.client.list(cmd.server, cmd.filter);
  if (ctx.output === 'json') printJson(ctx.io, value);
  else ctx.io.out(listTable(value, ctx.now()));
  return EXIT.ok;
}
