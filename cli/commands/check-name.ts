/** `pgferry check-name --server S --name N`: exit 0 when the name is free on that target, 1 when not. */
import type { Command } from '../args';
import { EXIT, type ExitCode } from '../exit-codes';
import { printJson, type CommandContext } from './context';

export async function checkName(cmd: Extract<Command, { name: 'check-name' }>, ctx: CommandContext): Promise<ExitCode> {
  const r = await ctx.client.checkName(cmd.server, cmd.migration);
  if (ctx.output === 'json') printJson(ctx.io, r);
  else if (r.nameAvailable) ctx.io.out(`${r.name} is available on ${cmd.server}`);
  else ctx.io.out(`${r.name} is not available on ${cmd.server}: ${r.reason ?? ''}${r.message ? ` (${r.message})` : ''}`);
  return r.nameAvailable ? EXIT.ok : EXIT.migrationFailed;
}
