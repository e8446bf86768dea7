/**
 * Function names shared by the orchestrators (callActivity / callSubOrchestrator) and their
 * registrations, and the deterministic instance ids that let the HTTP layer find a migration's
 * instances without asking the Durable store.
 */
export const ORCHESTRATORS = {
  migration: 'migration',
  database: 'migrateDatabase',
  cdc: 'cdcStream',
} as const;

export const ACTIVITIES = {
  setMigrationState: 'setMigrationState',
  checkPrerequisites: 'checkPrerequisites',
  validate: 'validateMigration',
  migrateRoles: 'migrateRoles',
  applyDatabaseRoles: 'applyDatabaseRoles',
  recordControl: 'recordControl',
  finishMigration: 'finishMigration',
  prepareTargetDatabase: 'prepareTargetDatabase',
  createSlot: 'createSlot',
  applySchema: 'applySchema',
  planCopy: 'planCopy',
  copyChunk: 'copyChunk',
  buildTableIndexes: 'buildTableIndexes',
  finishCopy: 'finishCopy',
  applyBatch: 'applyBatch',
  markCaughtUp: 'markCaughtUp',
  beginCutover: 'beginCutover',
  completeDatabase: 'completeDatabase',
  stopDatabase: 'stopDatabase',
} as const;

/** External events the orchestrations wait for (also accepted through the Durable raiseEvent API). */
export const EVENTS = {
  cutover: 'cutover',
  cancel: 'cancel',
} as const;

/** `server/name` is unique; ':' cannot occur in either, so the id is unambiguous. */
export function migrationInstanceId(server: string, name: string): string {
  return `pgferry:${server}:${name}`;
}

export function databaseInstanceId(parent: string, index: number): string {
  return `${parent}:db:${index}`;
}

export function cdcInstanceId(parent: string, index: number): string {
  return `${parent}:cdc:${index}`;
}
