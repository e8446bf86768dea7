/** The parameter comparison without a server: values as SHOW prints them, equality, commands, categories; and the window rule. */
import { describe, expect, it } from 'vitest';
import { categoryOf, compareParameters, display, shellQuote } from '../../shared/params';
import type { SettingRow } from '../../shared/params/catalog';
import { windowClosed } from '../../orchestrators/migration';

const row = (name: string, setting: string, o: Partial<SettingRow> = {}): SettingRow => ({ name, setting, unit: null, vartype: 'string', source: 'configuration file', context: 'user', ...o });

describe('display', () => {
  it.each([
    ['65536', 'kB', '64MB'], ['16384', '8kB', '128MB'], ['1048576', 'kB', '1GB'], ['1000', 'kB', '1000kB'],
    ['30000', 'ms', '30s'], ['600000', 'ms', '10min'], ['1500', 'ms', '1500ms'], ['3600', 's', '1h'],
    ['0', 'ms', '0'], ['-1', 'kB', '-1'], ['1.1', null, '1.1'],
  ])('%s %s → %s', (setting, unit, out) => expect(display(setting, unit)).toBe(out));
});

describe('compareParameters', () => {
  const base = { server: 'tgt', sourceDatabases: [], targetDatabases: [] };
  it('compares numbers in base units, words without case, and ignores platform settings', () => {
    const diffs = compareParameters({
      ...base,
      source: [row('work_mem', '4096', { unit: 'kB', vartype: 'integer' }), row('DateStyle', 'iso, mdy', { vartype: 'string' }), row('jit', 'ON', { vartype: 'bool' }), row('log_min_duration_statement', '1000', { unit: 'ms', vartype: 'integer' })],
      target: [row('work_mem', '4096', { unit: 'kB', vartype: 'integer', source: 'default' }), row('DateStyle', 'ISO, MDY'), row('jit', 'on', { vartype: 'bool' }), row('log_min_duration_statement', '-1', { unit: 'ms', vartype: 'integer' })],
    });
    expect(diffs.filter((d) => d.name !== 'DateStyle')).toEqual([]);
  });

  it('reports capacity only when the target is lower', () => {
    const mk = (s: string, t: string) => compareParameters({ ...base, source: [row('max_connections', s, { vartype: 'integer', context: 'postmaster' })], target: [row('max_connections', t, { vartype: 'integer' })] });
    expect(mk('100', '500')).toEqual([]);
    expect(mk('500', '100').map((d) => d.command)).toEqual(['az postgres flexible-server parameter set --resource-group <resource-group> --server-name tgt --name max_connections --value 500']);
  });

  it('database settings become ALTER DATABASE commands; equal ones are left out', () => {
    const diffs = compareParameters({ ...base, source: [], target: [], sourceDatabases: [{ database: 'app db', settings: ['work_mem=16MB', 'search_path=app, public'] }], targetDatabases: [{ database: 'app db', settings: ['work_mem=16MB'] }] });
    expect(diffs.map((d) => [d.scope, d.database, d.name, d.target, d.command])).toEqual([['database', 'app db', 'search_path', null, `ALTER DATABASE "app db" SET "search_path" TO 'app', 'public';`]]);
  });

  it('categories and shell quoting', () => {
    expect([categoryOf('TimeZone'), categoryOf('enable_seqscan'), categoryOf('auto_explain.log_min_duration'), categoryOf('wal_level')]).toEqual(['locale-and-formatting', 'query-planning', 'extensions', undefined]);
    expect([shellQuote('Asia/Tokyo'), shellQuote('SQL, DMY'), shellQuote(`it's`)]).toEqual(['Asia/Tokyo', `'SQL, DMY'`, `'it'\\''s'`]);
  });
});

describe('windowClosed', () => {
  const now = new Date('2030-01-01T12:00:00Z');
  it.each([
    [undefined, false], ['2030-01-01T12:00:01.000Z', false], ['2030-01-01T12:00:00.000Z', true], ['2029-12-31T00:00:00.000Z', true],
  ])('end %s → closed %s', (end, closed) => {
    const r = windowClosed(end ? { migrationWindowEndTimeInUtc: end } : {}, now);
    expect(r !== null).toBe(closed);
    if (r) expect(r).toContain(`The migration window ended at ${end}`);
  });
});
