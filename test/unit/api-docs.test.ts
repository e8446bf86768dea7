/**
 * docs/api.md's table "The ARM resource, part by part" cannot rot: it has a row for every verb,
 * property, substate and state of the ARM resource (taken from the model's own lists), every row
 * says what pgferry does, and every test a row names still exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATION_BODY_KEYS, MIGRATION_PROPERTIES_KEYS } from '../../shared/model/normalize';
import { MIGRATION_STATES, MIGRATION_SUBSTATES } from '../../shared/model/states';

const ROOT = join(__dirname, '..', '..');

interface Row {
  part: string;
  names: string[];
  pgferry: string;
  tests: Array<{ file: string; title: string }>;
  line: string;
}

function tableRows(): Row[] {
  const doc = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
  const start = doc.indexOf('<!-- arm-table -->');
  const end = doc.indexOf('<!-- /arm-table -->');
  expect(start, 'docs/api.md has the <!-- arm-table --> markers').toBeGreaterThan(0);
  const lines = doc.slice(start, end).split('\n').filter((l) => l.startsWith('|')).slice(2);
  return lines.map((line) => {
    const cells = line.split(' | ').map((c) => c.replace(/^\|\s*|\s*\|$/g, '').trim());
    const [part = '', name = '', pgferry = '', tested = ''] = cells;
    const tests = [...tested.matchAll(/`([^`]+\.test\.ts)` › ([^·]+)/g)].map((m) => ({ file: m[1] ?? '', title: (m[2] ?? '').trim() }));
    return { part, names: name.split(', ').map((n) => n.trim()), pgferry, tests, line };
  });
}

const rows = tableRows();
const named = (part: string) => new Set(rows.filter((r) => r.part === part).flatMap((r) => r.names));
const fieldsOf = (node: typeof MIGRATION_PROPERTIES_KEYS) => (node.kind === 'object' ? Object.keys(node.fields) : []);

describe('docs/api.md: the ARM resource, part by part', () => {
  it('has four cells per row, says what pgferry does, and names at least one test', () => {
    expect(rows.length).toBeGreaterThan(40);
    for (const r of rows) {
      expect(r.line.split(' | '), r.line).toHaveLength(4);
      expect(r.pgferry, r.line).toMatch(/honoured|refused|read-only|never entered/);
      expect(r.tests.length, r.line).toBeGreaterThan(0);
    }
  });

  it('names tests that exist: the file, and a test in it whose title has those words', () => {
    for (const r of rows) {
      for (const t of r.tests) {
        const path = join(ROOT, t.file);
        expect(existsSync(path), `${t.file} (row: ${r.names.join(', ')})`).toBe(true);
        const text = readFileSync(path, 'utf8').replace(/\\'/g, "'");
        expect(text.includes(t.title), `${t.file} has no test titled with "${t.title}" (row: ${r.names.join(', ')})`).toBe(true);
      }
    }
  });

  it('covers every property of the resource, and the envelope', () => {
    const expected = fieldsOf(MIGRATION_PROPERTIES_KEYS)
      // The properties-level login is read as secretParameters.targetServerUsername (its row says so).
      .filter((f) => f !== 'secretParameters' && f !== 'targetServerUsername')
      .concat([
        'secretParameters.adminCredentials.sourceServerPassword', 'secretParameters.adminCredentials.targetServerPassword',
        'secretParameters.sourceServerUsername', 'secretParameters.targetServerUsername',
      ]);
    const properties = named('property');
    for (const f of expected) expect(properties.has(f), `a row for property ${f}`).toBe(true);
    const envelope = named('envelope');
    for (const f of fieldsOf(MIGRATION_BODY_KEYS).filter((k) => k !== 'properties')) expect(envelope.has(f), `a row for ${f}`).toBe(true);
  });

  it('covers every verb, every substate and every state', () => {
    const verbs = named('verb');
    for (const v of ['PUT (new name)', 'PUT (existing name)', 'GET', 'GET list', 'PATCH', 'DELETE', 'POST checkMigrationNameAvailability']) {
      expect(verbs.has(v), `a row for ${v}`).toBe(true);
    }
    expect(named('query').has('api-version')).toBe(true);
    const substates = named('substate');
    for (const s of MIGRATION_SUBSTATES) expect(substates.has(s), `a row for substate ${s}`).toBe(true);
    const states = named('state');
    for (const s of MIGRATION_STATES) expect(states.has(s), `a row for state ${s}`).toBe(true);
  });
});
