/**
 * The statements the applier runs, each rendered from a table and a column list, never from
 * values: values travel as text arrays ($n::text[]) that unnest into rows and are cast to the
 * column type, so one prepared statement serves any number of rows (no 65,535-parameter limit,
 * no re-planning per batch size). Every statement is named by a hash of its text and prepared
 * once per session. Aliases are pf_t (the table) and pf_u (the unnested rows, columns c1…cn).
 */
import { createHash } from 'node:crypto';
import { quoteIdent, quoteQualified } from '../../pg/ident';
import type { TargetTable } from './target-tables';

export interface Statement {
  name: string;
  text: string;
}

/** A column as a statement uses it: its name and the type its text is cast to. */
export interface Col {
  name: string;
  type: string;
  /** An old value wal2json printed as null for a float or numeric column (change.ts): match NULL, NaN or ±Infinity. */
  nullOrSpecial?: boolean;
}

/** What a float4/float8/numeric `null` from wal2json may have been, besides NULL (their text output). */
const SPECIALS = `('NaN', 'Infinity', '-Infinity')`;

function named(text: string): Statement {
  return { name: `pf_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text };
}

function qualified(t: TargetTable): string {
  return quoteQualified(t.schema, t.table);
}

function unnestFrom(n: number): string {
  const arrays = Array.from({ length: n }, (_, i) => `$${i + 1}::text[]`).join(', ');
  const names = Array.from({ length: n }, (_, i) => `c${i + 1}`).join(', ');
  return `unnest(${arrays}) AS pf_u(${names})`;
}

const cast = (i: number, c: Col) => `pf_u.c${i + 1}::${c.type}`;

/**
 * INSERT of many rows; with `conflictKey`, an upsert that overwrites every non-key column
 * (ON CONFLICT … DO UPDATE; DO NOTHING when all written columns are key columns).
 */
export function insertRows(t: TargetTable, cols: Col[], conflictKey?: string[]): Statement {
  const overriding = cols.some((c) => t.columns.get(c.name)?.identityAlways) ? ' OVERRIDING SYSTEM VALUE' : '';
  let text =
    `INSERT INTO ${qualified(t)} AS pf_t (${cols.map((c) => quoteIdent(c.name)).join(', ')})${overriding} ` +
    `SELECT ${cols.map((c, i) => cast(i, c)).join(', ')} FROM ${unnestFrom(cols.length)}`;
  if (conflictKey) {
    const set = cols.filter((c) => !conflictKey.includes(c.name) && !t.columns.get(c.name)?.identityAlways);
    text += ` ON CONFLICT (${conflictKey.map(quoteIdent).join(', ')}) `;
    text += set.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${set.map((c) => `${quoteIdent(c.name)} = EXCLUDED.${quoteIdent(c.name)}`).join(', ')}`;
  }
  return named(text);
}

/** INSERT of rows that skips any whose key (or other unique value) is taken: rows inserted = rows free. */
export function insertRowsIfAbsent(t: TargetTable, cols: Col[]): Statement {
  return named(`${insertRows(t, cols).text} ON CONFLICT DO NOTHING`);
}

/** UPDATE of many rows by key: arrays are the key columns, then the SET columns. */
export function updateRowsByKey(t: TargetTable, key: Col[], set: Col[]): Statement {
  const all = [...key, ...set];
  const assignments = set.length > 0 ? set.map((c, i) => `${quoteIdent(c.name)} = ${cast(key.length + i, c)}`) : [`${quoteIdent(key[0]?.name ?? '')} = pf_t.${quoteIdent(key[0]?.name ?? '')}`];
  return named(
    `UPDATE ${qualified(t)} AS pf_t SET ${assignments.join(', ')} FROM ${unnestFrom(all.length)} ` +
      `WHERE ${key.map((c, i) => `pf_t.${quoteIdent(c.name)} = ${cast(i, c)}`).join(' AND ')}`,
  );
}

/** DELETE of many rows by key. */
export function deleteRowsByKey(t: TargetTable, key: Col[]): Statement {
  return named(
    `DELETE FROM ${qualified(t)} AS pf_t USING ${unnestFrom(key.length)} ` +
      `WHERE ${key.map((c, i) => `pf_t.${quoteIdent(c.name)} = ${cast(i, c)}`).join(' AND ')}`,
  );
}

/**
 * Matches one row on the given old values with IS NOT DISTINCT FROM (NULLs match NULLs), or on
 * text for types without an `=` operator (json, point, xml …). Parameters $1… in `match` order.
 */
function matchOne(t: TargetTable, match: Col[], offset: number): string {
  if (match.length === 0) return 'true';
  return match
    .map((c, i) => {
      const p = `$${offset + i + 1}`;
      // The parameter is null; it stays in the text so parameters keep their positions.
      if (c.nullOrSpecial) return `(pf_t.${quoteIdent(c.name)} IS NULL OR pf_t.${quoteIdent(c.name)}::text IN ${SPECIALS}) AND ${p}::text IS NULL`;
      // Key columns are NOT NULL: plain `=` lets the primary key index find the row.
      if (t.key.includes(c.name)) return `pf_t.${quoteIdent(c.name)} = ${p}::${c.type}`;
      return t.columns.get(c.name)?.hasEquality === false
        ? `pf_t.${quoteIdent(c.name)}::text IS NOT DISTINCT FROM ${p}::text`
        : `pf_t.${quoteIdent(c.name)} IS NOT DISTINCT FROM ${p}::${c.type}`;
    })
    .join(' AND ');
}

/**
 * UPDATE of exactly one row matched on old values (REPLICA IDENTITY FULL, or a key the target
 * does not have): duplicates are legal in such tables, and only one of them changed.
 * Parameters: SET values, then match values.
 */
export function updateOneRow(t: TargetTable, set: Col[], match: Col[]): Statement {
  const q = qualified(t);
  const assignments = set.map((c, i) => `${quoteIdent(c.name)} = $${i + 1}::${c.type}`);
  return named(`UPDATE ${q} AS pf_t SET ${assignments.join(', ')} WHERE ctid = (SELECT ctid FROM ${q} AS pf_t WHERE ${matchOne(t, match, set.length)} LIMIT 1)`);
}

/**
 * The distinct texts of the `nullOrSpecial` columns among the rows `match` finds (at most two):
 * one answer means the row is known up to identical copies, two that NULL, NaN and ±Infinity
 * cannot be told apart. Parameters as matchOne's.
 */
export function specialsOf(t: TargetTable, match: Col[]): Statement {
  const texts = match.filter((c) => c.nullOrSpecial).map((c) => `pf_t.${quoteIdent(c.name)}::text`);
  return named(`SELECT DISTINCT ${texts.join(', ')} FROM ${qualified(t)} AS pf_t WHERE ${matchOne(t, match, 0)} LIMIT 2`);
}

/** DELETE of exactly one row matched on old values; see updateOneRow. */
export function deleteOneRow(t: TargetTable, match: Col[]): Statement {
  const q = qualified(t);
  return named(`DELETE FROM ${q} AS pf_t WHERE ctid = (SELECT ctid FROM ${q} AS pf_t WHERE ${matchOne(t, match, 0)} LIMIT 1)`);
}

/** Whether a row with this key exists (parameters: key values). */
export function rowExists(t: TargetTable, key: Col[]): Statement {
  return named(`SELECT 1 FROM ${qualified(t)} AS pf_t WHERE ${key.map((c, i) => `pf_t.${quoteIdent(c.name)} = $${i + 1}::${c.type}`).join(' AND ')}`);
}

/**
 * TRUNCATE of the relations of one source TRUNCATE, in one statement so tables referencing each
 * other by foreign key go together: ONLY for plain tables, without ONLY for partitioned parents
 * (TRUNCATE ONLY refuses them). No CASCADE: the source listed every relation it truncated.
 */
export function truncate(tables: TargetTable[], restartIdentity: boolean): string {
  const list = tables.map((t) => (t.relkind === 'p' ? qualified(t) : `ONLY ${qualified(t)}`));
  return `TRUNCATE ${list.join(', ')}${restartIdentity ? ' RESTART IDENTITY' : ''}`;
}

/**
 * The current values of some columns of many rows, read from the SOURCE by key (unchanged TOAST
 * values of rows the target lacks; wal2json's ambiguous nulls). Returns key texts then values.
 */
export function selectByKey(schema: string, table: string, key: Col[], cols: string[]): Statement {
  const q = quoteQualified(schema, table);
  const keyTexts = key.map((c) => `pf_t.${quoteIdent(c.name)}::text`);
  const valueTexts = cols.map((c) => `pf_t.${quoteIdent(c)}::text`);
  return named(
    `SELECT ${[...keyTexts, ...valueTexts].join(', ')} FROM ${q} AS pf_t JOIN ${unnestFrom(key.length)} ` +
      `ON ${key.map((c, i) => `pf_t.${quoteIdent(c.name)} = ${cast(i, c)}`).join(' AND ')}`,
  );
}
