/** Statement rendering of the applier: shapes, quoting, casts, ON CONFLICT, ctid matching. */
import { describe, expect, it } from 'vitest';
import { deleteOneRow, deleteRowsByKey, insertRows, truncate, updateOneRow, updateRowsByKey } from '../../shared/cdc/apply/apply-sql';
import { classifyApplyError, DivergenceError } from '../../shared/cdc/errors';
import type { TargetColumn, TargetTable } from '../../shared/cdc/apply/target-tables';

function table(name: string, cols: Array<Partial<TargetColumn> & { name: string }>, key: string[], relkind = 'r'): TargetTable {
  const columns = new Map<string, TargetColumn>();
  for (const c of cols) columns.set(c.name, { notNull: false, generated: false, identityAlways: false, type: 'text', hasEquality: true, ...c });
  return { schema: 'app', table: name, relkind, columns, key, otherUnique: false };
}

const t = table('Orders "x"', [{ name: 'id', type: 'bigint' }, { name: 'v', type: 'numeric' }, { name: 'j', type: 'json', hasEquality: false }, { name: 'gen', generated: true }], ['id']);

describe('apply statements', () => {
  it('insert: unnest of text arrays with casts, identifiers quoted', () => {
    const s = insertRows(t, [{ name: 'id', type: 'bigint' }, { name: 'v', type: 'numeric' }]);
    expect(s.text).toBe('INSERT INTO "app"."Orders ""x""" AS pf_t ("id", "v") SELECT pf_u.c1::bigint, pf_u.c2::numeric FROM unnest($1::text[], $2::text[]) AS pf_u(c1, c2)');
    expect(s.name).toMatch(/^pf_[0-9a-f]{20}$/);
    expect(insertRows(t, [{ name: 'id', type: 'bigint' }]).name).not.toBe(s.name);
  });
  it('upsert: ON CONFLICT on the key, DO UPDATE of the other columns, DO NOTHING when only key columns', () => {
    expect(insertRows(t, [{ name: 'id', type: 'bigint' }, { name: 'v', type: 'numeric' }], ['id']).text).toMatch(/ ON CONFLICT \("id"\) DO UPDATE SET "v" = EXCLUDED\."v"$/);
    expect(insertRows(t, [{ name: 'id', type: 'bigint' }], ['id']).text).toMatch(/ ON CONFLICT \("id"\) DO NOTHING$/);
  });
  it('identity ALWAYS: OVERRIDING SYSTEM VALUE, never in SET', () => {
    const idt = table('idt', [{ name: 'id', type: 'integer', identityAlways: true }, { name: 'v' }], ['id']);
    const s = insertRows(idt, [{ name: 'id', type: 'integer' }, { name: 'v', type: 'text' }], ['id']).text;
    expect(s).toContain('("id", "v") OVERRIDING SYSTEM VALUE SELECT');
    expect(s).toMatch(/DO UPDATE SET "v" = EXCLUDED\."v"$/);
  });
  it('multi-row update and delete join the unnested rows on the key', () => {
    expect(updateRowsByKey(t, [{ name: 'id', type: 'bigint' }], [{ name: 'v', type: 'numeric' }]).text).toBe(
      'UPDATE "app"."Orders ""x""" AS pf_t SET "v" = pf_u.c2::numeric FROM unnest($1::text[], $2::text[]) AS pf_u(c1, c2) WHERE pf_t."id" = pf_u.c1::bigint',
    );
    expect(deleteRowsByKey(t, [{ name: 'id', type: 'bigint' }]).text).toBe('DELETE FROM "app"."Orders ""x""" AS pf_t USING unnest($1::text[]) AS pf_u(c1) WHERE pf_t."id" = pf_u.c1::bigint');
  });
  it('one-row statements for keyless tables: ctid of ONE matching row, NULL-safe, text match without =', () => {
    const full = table('full', [{ name: 'a', type: 'integer' }, { name: 'j', type: 'json', hasEquality: false }], []);
    expect(deleteOneRow(full, [{ name: 'a', type: 'integer' }, { name: 'j', type: 'json' }]).text).toBe(
      'DELETE FROM "app"."full" AS pf_t WHERE ctid = (SELECT ctid FROM "app"."full" AS pf_t WHERE pf_t."a" IS NOT DISTINCT FROM $1::integer AND pf_t."j"::text IS NOT DISTINCT FROM $2::text LIMIT 1)',
    );
    expect(updateOneRow(full, [{ name: 'a', type: 'integer' }], [{ name: 'a', type: 'integer' }]).text).toContain('SET "a" = $1::integer WHERE ctid = (SELECT ctid FROM "app"."full" AS pf_t WHERE pf_t."a" IS NOT DISTINCT FROM $2::integer LIMIT 1)');
    // Key columns match with = so the primary key index is used.
    expect(deleteOneRow(t, [{ name: 'id', type: 'bigint' }]).text).toContain('WHERE pf_t."id" = $1::bigint LIMIT 1');
  });
  it('truncate: ONLY for tables, plain for partitioned parents, one statement, no CASCADE', () => {
    const p = table('p', [], [], 'p');
    expect(truncate([t, p], true)).toBe('TRUNCATE ONLY "app"."Orders ""x""", "app"."p" RESTART IDENTITY');
    expect(truncate([t], false)).toBe('TRUNCATE ONLY "app"."Orders ""x"""');
  });
});

describe('apply error classification', () => {
  const change = { kind: 'insert' as const, relation: { schema: 'app', table: 't' }, newRow: [] };
  it.each([
    ['40001', true, 'Transient'],
    ['40P01', true, 'Transient'],
    ['57P01', true, 'Transient'],
    ['55006', true, 'Transient'],
    ['23505', false, 'ConstraintViolation'],
    ['22P02', false, 'DataError'],
    ['42P01', false, 'SchemaMismatch'],
    ['42501', false, 'PermissionDenied'],
  ])('SQLSTATE %s → retryable %s (%s), naming the change', (code, retryable, kind) => {
    const err = Object.assign(new Error('boom'), { severity: 'ERROR', code, detail: 'Key (id)=(1) already exists.' });
    const c = classifyApplyError(err, { change, xid: '7', commitLsn: '0/10' });
    expect(c.retryable).toBe(retryable);
    expect(c.kind).toBe(kind);
    expect(c.message).toContain('insert into "app"."t" (source xid 7, commit 0/10)');
    expect(c.message).toContain('Key (id)=(1) already exists.');
  });
  it('a dropped connection is retryable; a divergence is not', () => {
    expect(classifyApplyError(new Error('Connection terminated unexpectedly')).retryable).toBe(true);
    expect(classifyApplyError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })).retryable).toBe(true);
    const d = new DivergenceError('divergence', { change });
    expect(classifyApplyError(d)).toBe(d);
    expect(d.retryable).toBe(false);
  });
});
