/**
 * Pre-migration validation results: one row per scope (the server-level checks, and each
 * database's checks), so one database with thousands of findings cannot crowd out another. The
 * items are opaque JSON here (their shape is shared/model's, mirroring ARM validationDetails);
 * a scope may hold up to LIMITS.maxJsonChars of JSON, split across properties, and more is
 * rejected with EntityTooLargeError rather than silently cut.
 */

import { odata } from '@azure/data-tables';

import { VALIDATION_STATES, type ValidationState } from '../model/states';
import { checkEntity, dateTime, EntityReader, putJson, type EntityProps, type JsonValue } from './entity-codec';
import { CorruptEntityError } from './errors';
import { keyOf } from './keys';
import { deleteRow, listRows, upsertRow, type RawEntity, type Row } from './table-ops';
import type { MigrationRef } from './migrations';
import type { StoreContext } from './tables';

export interface ValidationScopeRecord {
  /** The database the checks ran on; absent for the server-level checks. */
  databaseName?: string;
  /** Worst state among the scope's checks. */
  state: ValidationState;
  /** When the scope's checks started. */
  startedOn?: string;
  /** When they ended. */
  endedOn?: string;
  /** The checks' results (ARM validation items), split JSON. */
  items: JsonValue;
}

/** A database-level scope: databaseName is set. */
export type DatabaseValidationRecord = ValidationScopeRecord & { databaseName: string };

export interface StoredValidation {
  /** Server-level checks, if they have run (a databaseName here is ignored). */
  server?: ValidationScopeRecord;
  /** Database-level checks, by database name. */
  databases: DatabaseValidationRecord[];
}

/** Entity format version, persisted as `format`, so a later format can read these rows. */
const FORMAT = 1;

/** RowKey of the server-level scope; database scopes' keys always contain a separator. */
const SERVER_ROW = 'server';

function rowKeyOf(databaseName: string | undefined): string {
  return databaseName === undefined ? SERVER_ROW : keyOf('db', databaseName);
}

function describe(ref: MigrationRef, databaseName: string | undefined): string {
  const scope = databaseName === undefined ? 'server-level validation' : `validation of database ${JSON.stringify(databaseName)}`;
  return `${scope} of migration ${ref.server}/${ref.name}`;
}

function toRow(ref: MigrationRef, s: ValidationScopeRecord): Row {
  const what = describe(ref, s.databaseName);
  const p: EntityProps = { format: FORMAT, state: s.state };
  if (s.databaseName !== undefined) p.databaseName = s.databaseName;
  if (s.startedOn !== undefined) p.startedOn = dateTime(s.startedOn, `${what} startedOn`);
  if (s.endedOn !== undefined) p.endedOn = dateTime(s.endedOn, `${what} endedOn`);
  putJson(p, 'items', s.items, what);
  const row: Row = { partitionKey: keyOf(ref.server, ref.name), rowKey: rowKeyOf(s.databaseName), ...p };
  checkEntity(row, what);
  return row;
}

function fromRow(e: RawEntity): ValidationScopeRecord {
  const what = `validation row ${String(e.partitionKey)}/${String(e.rowKey)}`;
  const r = new EntityReader(e, what);
  const items = r.json('items');
  if (items === undefined) throw new CorruptEntityError(what, 'property items is missing');
  const rec: ValidationScopeRecord = { state: r.oneOf('state', VALIDATION_STATES), items };
  const databaseName = r.optString('databaseName');
  const startedOn = r.optDateTime('startedOn');
  const endedOn = r.optDateTime('endedOn');
  if (databaseName !== undefined) rec.databaseName = databaseName;
  if (startedOn !== undefined) rec.startedOn = startedOn;
  if (endedOn !== undefined) rec.endedOn = endedOn;
  return rec;
}

/** Writes one scope's results, replacing any earlier result for the same scope. */
export async function saveValidationScope(ctx: StoreContext, ref: MigrationRef, scope: ValidationScopeRecord): Promise<void> {
  await upsertRow(ctx.tables.validation, toRow(ref, scope), describe(ref, scope.databaseName));
}

/**
 * Replaces the migration's validation results with `result`: writes every scope, then removes
 * scopes of an earlier run that `result` no longer has. Every row is checked before any is
 * written, so a too-large scope leaves the stored results untouched.
 */
export async function saveValidation(ctx: StoreContext, ref: MigrationRef, result: StoredValidation): Promise<void> {
  const scopes = [...(result.server ? [{ ...result.server, databaseName: undefined }] : []), ...result.databases];
  const rows = scopes.map((s) => toRow(ref, s));
  for (const row of rows) await upsertRow(ctx.tables.validation, row, `validation row ${row.partitionKey}/${row.rowKey}`);
  const keep = new Set(rows.map((row) => row.rowKey));
  for (const stale of await listRows(ctx.tables.validation, odata`PartitionKey eq ${keyOf(ref.server, ref.name)}`)) {
    if (!keep.has(String(stale.rowKey))) await deleteRow(ctx.tables.validation, String(stale.partitionKey), String(stale.rowKey));
  }
}

/** The stored results; `{ databases: [] }` when validation has not run. */
export async function loadValidation(ctx: StoreContext, ref: MigrationRef): Promise<StoredValidation> {
  const scopes = (await listRows(ctx.tables.validation, odata`PartitionKey eq ${keyOf(ref.server, ref.name)}`)).map(fromRow);
  const databases = scopes
    .filter((s): s is DatabaseValidationRecord => s.databaseName !== undefined)
    .sort((a, b) => (a.databaseName < b.databaseName ? -1 : a.databaseName > b.databaseName ? 1 : 0));
  const server = scopes.find((s) => s.databaseName === undefined);
  return server ? { server, databases } : { databases };
}
