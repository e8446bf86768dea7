/**
 * `pgferry cutover` and `pgferry cancel` (optionally `--dbs a,b`): the PATCH the portal's buttons
 * and `az … migration update --cutover|--cancel` send; `pgferry fallback` and `pgferry finalize`:
 * the two endings of a fallback window (fallbackAfterCutover). The service refuses what is not
 * allowed now (409 with the reason: not yet waiting for cutover, already finished, Offline …).
 */
import type { Command } from '../args';
import { EXIT, type ExitCode } from '../exit-codes';
import { statusLine } from '../format';
import { printJson, type CommandContext } from './context';

type ActionCommand = Extract<Command, { name: 'cutover' | 'cancel' | 'fallback' | 'finalize' }>;

function propertiesOf(cmd: ActionCommand): Record<string, unknown> {
  switch (cmd.name) {
    case 'cutover':
      return { triggerCutover: 'True', ...(cmd.dbs ? { dbsToTriggerCutoverOn: cmd.dbs } : {}) };
    case 'cancel':
      return { cancel: 'True', ...(cmd.dbs ? { dbsToCancelMigrationOn: cmd.dbs } : {}) };
    case 'fallback':
      return { triggerFallback: 'True' };
    case 'finalize':
      return { finalizeCutover: 'True' };
  }
}

const WHAT = { cutover: 'Cutover', cancel: 'Cancel', fallback: 'Fall back to the source', finalize: 'Finalize' } as const;

export async function action(cmd: ActionCommand, ctx: CommandContext): Promise<ExitCode> {
  const m = await ctx.client.patch(cmd.server, cmd.migration, propertiesOf(cmd));
  if (ctx.output === 'json') {
    printJson(ctx.io, m);
  } else {
    const dbs = 'dbs' in cmd && cmd.dbs ? ` for ${cmd.dbs.join(', ')}` : '';
    ctx.io.out(`${WHAT[cmd.name]} requested${dbs}: ${statusLine(m)}`);
    if (cmd.name === 'cancel') ctx.io.out('Canceling does not roll back the target: drop the target databases of this migration yourself.');
    if (cmd.name === 'fallback') ctx.io.out('Stop the application\'s writes to the target first: the target is drained, every table verified, then the source is ready.');
    if (cmd.name === 'finalize') ctx.io.out('The target stays; the way back (reverse slot, publication, bookkeeping) is removed from both servers.');
    ctx.io.out(`Follow it with: pgferry watch --server ${cmd.server} --name ${m.name}`);
  }
  return EXIT.ok;
}
