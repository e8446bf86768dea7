/**
 * `pgferry update --server S --name N …`: the PATCH `az postgres flexible-server migration update`
 * sends, and the ones that release a migration waiting before its data migration:
 *   --overwrite-dbs          overwriteDbsInTarget True (WaitingForTargetDBOverwriteConfirmation)
 *   --start-data-migration   startDataMigration True (WaitingForDataMigrationScheduling)
 *   --migration-window-start/--migration-window-end <UTC time>   moves the window
 *   --mode online|offline    before the data migration starts
 *   --cutover | --cancel [--dbs a,b]
 * The service refuses what may not change now, naming the property (409) or the field (400).
 */
import type { Command } from '../args';
import { EXIT, type ExitCode } from '../exit-codes';
import { statusLine, waitingAdvice } from '../format';
import { printJson, type CommandContext } from './context';

export async function update(cmd: Extract<Command, { name: 'update' }>, ctx: CommandContext): Promise<ExitCode> {
  const m = await ctx.client.patch(cmd.server, cmd.migration, cmd.properties);
  if (ctx.output === 'json') {
    printJson(ctx.io, m);
    return EXIT.ok;
  }
  ctx.io.out(`Updated ${Object.keys(cmd.properties).join(', ')}: ${statusLine(m)}`);
  const advice = waitingAdvice(m, cmd.server);
  if (advice) ctx.io.out(advice);
  ctx.io.out(`Follow it with: pgferry watch --server ${cmd.server} --name ${m.name}`);
  return EXIT.ok;
}
