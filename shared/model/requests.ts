/**
 * A user's cutover and cancel requests are data on the migration row (a time, and the databases
 * they cover). Requests add up: a second one naming other databases extends the first rather than
 * replacing it, so a database once asked to cut over or cancel stays asked.
 */

/**
 * The databases a cutover or cancel covers once `dbs` are asked for too (a stored request without
 * a list covers all), in dbsToMigrate order.
 */
export function unionOf(stored: readonly string[] | undefined, requestedBefore: boolean, all: readonly string[], dbs: readonly string[]): string[] {
  const before = requestedBefore ? (stored ?? all) : [];
  return all.filter((db) => before.includes(db) || dbs.includes(db));
}
