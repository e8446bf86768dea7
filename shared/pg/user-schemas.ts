/**
 * Which schemas hold the user's objects: the one definition every catalog read uses (schema
 * extraction, inventory, sequences, validation, verification, the "is the target empty" check).
 * Not the catalogs, not TOAST or temp schemas, and not pgferry's own bookkeeping on a target.
 * The fragments hold catalog names only, so they can be spliced into query text.
 */

/** Copy done-marks on the target (copy/bookkeeping.ts); dropped at cutover. */
export const BOOKKEEPING_SCHEMA = 'pgferry_meta';
/** Applied-position fallback table on the target (cdc/progress.ts); dropped at cutover. */
export const PROGRESS_SCHEMA = 'pgferry_cdc';

/** Schemas pgferry creates on a target; never migrated, never counted as user data. */
export const PGFERRY_SCHEMAS: readonly string[] = [BOOKKEEPING_SCHEMA, PROGRESS_SCHEMA];

/** `${alias}.nspname` names a user schema (alias: a pg_namespace alias in the query). */
export function userSchema(alias: string): string {
  const col = `${alias}.nspname`;
  const excluded = ['pg_catalog', 'information_schema', ...PGFERRY_SCHEMAS].map((s) => `'${s}'`).join(', ');
  return `${col} NOT IN (${excluded}) AND ${col} !~ '^pg_(toast|temp_)' AND ${col} !~ '^pg_toast_temp_'`;
}

/** Whether a schema name is a user schema (the same rule as userSchema, in TypeScript). */
export function isUserSchema(name: string): boolean {
  return !['pg_catalog', 'information_schema', ...PGFERRY_SCHEMAS].includes(name) && !/^pg_(toast|temp_)/.test(name);
}
