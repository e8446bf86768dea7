/**
 * `pgferry cutover` and `pgferry cancel` (optionally `--dbs a,b`): the PATCH the portal's buttons
 * and `az … migration update --cutover|--cancel` send. The service refuses what is not allowed
 * now (409 with the reason: not yet waiting for cutover, already finished, Offline …).
 */
import type { Command } from '../args';
import { EXIT, type ExitCode } from '../exit-codes';
import { statusLine } from '../format';
import { printJson, type CommandContext } from './context';

type ActionCommand = Extract<Command, { name: 'cutover' | 'cancel' }>;

export async function action(cmd: ActionCommand, ctx: CommandContext): Promise<ExitCode> {
  const props: Record<string, unknown> =
    cmd.name === 'cutover'
      ? { triggerCutover: 'True', ...(cmd.dbs ? { dbsToTriggerCutoverOn: cmd.dbs } : {}) }
      : { cancel: 'True', ...(cmd.dbs ? { dbsToCancelMigrationOn: cmd.dbs } : {}) };
  const m = await ctx.client.patch(cmd.server, cmd.migration, props);
  if (ctx.output === 'json') {
    printJson(ctx.io, m);
  } else {
    const what = cmd.name === 'cutover' ? 'Cutover' : 'Cancel';
    ctx.io.out(`${what} requested${cmd.dbs ? ` for ${cmd.dbs.join(', ')}` : ''}: ${statusLine(m)}`);
    if (cmd.name === 'cancel') ctx.io.out('Canceling does not roll back the target: drop the target databases of this migration yourself.');
    ctx.io.out(`Follow it with: pgferry watch --server ${cmd.server} --name ${m.name}`);
  }
  return EXIT.ok;
}
