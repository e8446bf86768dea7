/** The test judge's pure parts: the canonical COPY text, quoting, and how differences are paired and named. */
import { describe, expect, it } from 'vitest';
import { compareFacts, compareKeyed, multisetMinus, quoteIdent, tableCopySql } from '../support/judge';
import { NOT_USER_SCHEMAS, schemaFactQueries, userSchemaSql } from '../support/judge-catalog';

describe('judge normalisation', () => {
  it('reads every column, quoted, ordered by the text of every column under the C collation', () => {
    expect(tableCopySql({ schema: 'Sales "Q1"', table: 'order', columns: ['Id', 'a"b'] })).toBe(
      'COPY (SELECT "Id", "a""b" FROM "Sales ""Q1"""."order" ORDER BY "Id"::text COLLATE "C", "a""b"::text COLLATE "C") TO STDOUT',
    );
  });

  it('reads a table without columns as its bare rows (each one an empty line)', () => {
    expect(tableCopySql({ schema: 'public', table: 'empty', columns: [] })).toBe('COPY (SELECT FROM "public"."empty") TO STDOUT');
  });

  it('quotes identifiers always, doubling embedded quotes', () => {
    expect(quoteIdent('plain')).toBe('"plain"');
    expect(quoteIdent('a"b')).toBe('"a""b"');
  });

  it('subtracts rows as multisets: a duplicate row lost on one side is found', () => {
    expect(multisetMinus(['x', 'x', 'y'], ['x', 'y'])).toEqual(['x']);
    expect(multisetMinus(['x', 'y'], ['y', 'x'])).toEqual([]);
    expect(multisetMinus([], ['a'])).toEqual([]);
  });

  it('names keyed differences on each side and in both values', () => {
    const s = new Map([['a', '1'], ['b', '2']]);
    const t = new Map([['b', '3'], ['c', '4']]);
    expect(compareKeyed('sequence', s, t)).toEqual([
      'sequence a: only on the source (1)',
      'sequence b: source 2 ≠ target 3',
      'sequence c: only on the target (4)',
    ]);
    expect(compareKeyed('sequence', s, new Map(s))).toEqual([]);
  });

  it('lists schema facts present on one side only, counting duplicates', () => {
    expect(compareFacts(['index a', 'trigger t enabled O', 'x'], ['index a', 'trigger t enabled D', 'x', 'x'])).toEqual([
      'schema: only on the source: trigger t enabled O',
      'schema: only on the target: trigger t enabled D',
      'schema: only on the target: x',
    ]);
  });

  it('keeps catalogs, TOAST, temp and pgferry bookkeeping schemas out (hard-coded, not imported from pgferry)', () => {
    expect(NOT_USER_SCHEMAS).toEqual(['pg_catalog', 'information_schema', 'pgferry_meta', 'pgferry_cdc']);
    expect(userSchemaSql('n')).toBe(
      `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgferry_meta', 'pgferry_cdc') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`,
    );
  });

  it('compares the MAINTAIN privilege only when asked (both sides 17 or later)', () => {
    expect(schemaFactQueries(false).relations).toContain(`privilege_type <> 'MAINTAIN'`);
    expect(schemaFactQueries(true).relations).not.toContain('MAINTAIN');
  });
});
