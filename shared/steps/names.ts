/**
 * Orchestrator and event names shared by the orchestrators and their registrations, and the
 * deterministic instance ids that let the HTTP layer find a migration's instances without asking
 * the Durable store. (Activity names live in contracts.ts, beside their input and output types.)
 */
export const ORCHESTRATORS = {
  migration: 'migration',
  database: 'migrateDatabase',
  cdc: 'cdcStream',
  copyLane: 'copyLane',
  reverse: 'reverseStream',
} as const;

/** External events the orchestrations wait for (also accepted through the Durable raiseEvent API). */
export const EVENTS = {
  cutover: 'cutover',
  cancel: 'cancel',
  /** Sent by the API after a PATCH changed what the migration waits on before its data migration (wakes step 3). */
  update: 'update',
  /** Sent by a database orchestration to the migration's when it ends (wakes the watch). */
  databaseFinished: 'databaseFinished',
  /** The fallback window's two endings (fallbackAfterCutover): go back to the source, or keep the target. */
  fallback: 'fallback',
  finalize: 'finalize',
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

/** The reverse stream of a database in the fallback window. */
export function reverseInstanceId(parent: string, index: number): string {
  return `${parent}:reverse:${index}`;
}

export function copyLaneInstanceId(databaseInstance: string, lane: number): string {
  return `${databaseInstance}:lane:${lane}`;
}
