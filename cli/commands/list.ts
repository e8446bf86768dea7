/** `pgferry list --server S [--filter Active|All]`: the portal's grid, newest start first. */
import type { Command } from '../args';
import { EXIT, type ExitCode } from '../exit-codes';
import { listTable } from '../format';
import { printJson, type CommandContext } from './context';

export async function list(cmd: Extract<Command, { name: 'list' }>, ctx: CommandContext): Promise<ExitCode> {
  const { value } = await ctx.client.list(cmd.server, cmd.filter);
  if (ctx.output === 'json') printJson(ctx.io, value);
  else if (value.length === 0 && cmd.filter === 'Active') ctx.io.out(await noneActive(cmd.server, ctx));
  else ctx.io.out(listTable(value, ctx.now()));
  return EXIT.ok;
}

/** "No migrations." would hide the finished ones the Active filter leaves out: say they exist and how to see them. */
async function noneActive(server: string, ctx: CommandContext): Promise<string> {
  const finished = (await ctx.client.list(server, 'All')).value.length;
  if (finished === 0) return `No migrations on ${server}.`;
  return `No active migrations on ${server}; ${finished} finished ${finished === 1 ? 'one is' : 'ones are'} not shown: pgferry list --server ${server} --filter All`;
}
