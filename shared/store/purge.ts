/**
 * Removing a migration and everything stored under it (tests, retention clean-up). The API's
 * DELETE cancels a migration; it does not come here. Child rows go first and the migration row
 * last, so an interrupted purge is finished by running it again.
 */

import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';

import { keyOf, keyRange } from './keys';
import { deleteRow, listRows, submitInBatches } from './table-ops';
import type { StoreContext } from './tables';

/** Deletes every row matched by `filter` (submitInBatches groups the deletes by partition). */
async function deleteWhere(table: TableClient, filter: string): Promise<void> {
  const actions = (await listRows(table, filter)).map((e): TransactionAction => ['delete', { partitionKey: String(e.partitionKey), rowKey: String(e.rowKey) }]);
  await submitInBatches(table, actions);
}

/** Deletes the migration, its database, validation and chunk rows; false if there was no migration row. */
export async function deleteMigration(ctx: StoreContext, server: string, name: string): Promise<boolean> {
  const children = odata`PartitionKey eq ${keyOf(server, name)}`;
  const chunks = keyRange(server, name);
  await deleteWhere(ctx.tables.chunks, odata`PartitionKey ge ${chunks.from} and PartitionKey lt ${chunks.to}`);
  await deleteWhere(ctx.tables.databases, children);
  await deleteWhere(ctx.tables.validation, children);
  return deleteRow(ctx.tables.migrations, keyOf(server), keyOf(name));
}
