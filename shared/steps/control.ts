import type { Control } from './contracts';

/** What the user asked of one database, read from the migration row. */
export function controlFor(m: { cutoverRequestedAt?: string; dbsToTriggerCutoverOn?: string[]; cancelRequestedAt?: string; dbsToCancelMigrationOn?: string[] }, db: string): Control {
  if (m.cancelRequestedAt && (!m.dbsToCancelMigrationOn || m.dbsToCancelMigrationOn.includes(db))) return 'cancel';
  if (m.cutoverRequestedAt && (!m.dbsToTriggerCutoverOn || m.dbsToTriggerCutoverOn.includes(db))) return 'cutover';
  return 'none';
}

