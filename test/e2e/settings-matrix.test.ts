/**
 * Exact copies from the servers users really have: a source server whose defaults are none of
 * PostgreSQL's (DateStyle, TimeZone, IntervalStyle, extra_float_digits, bytea_output, a German
 * lc_monetary, standard_conforming_strings off), a database with other styles of its own (ALTER
 * DATABASE … SET, which the decoding walsender picks up too), and a LATIN1 database with
 * non-ASCII text. Each is migrated Online through the host over HTTP, once with pgoutput and once
 * with wal2json; changes are streamed after the copy (inserts, updates, deletes on a keyed and a
 * keyless REPLICA IDENTITY FULL table, with every value whose text depends on those settings),
 * then cutover, and the independent judge compares target and source.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startCluster, type Cluster, type ServerInfo } from '../support/cluster';
import { dropTestDatabase, sql } from '../support/databases';
import { migrationBody, migrationUrl, slotsOn, waitForState } from '../support/e2e';
import { http, startHost, stopAllHosts, useHost, type Host } from '../support/host';
import { expectJudgedEqual } from '../support/judge';

const target = inject('target');
const azurite = inject('azurite');
const host = useHost();

/** A locale with a currency symbol, a decimal comma and a thousands dot: money's text changes with it. */
const MONETARY = 'de_DE.UTF-8';

/** Server-wide defaults of the source (postgresql.conf). */
const SERVER_SETTINGS = {
  DateStyle: "'SQL, DMY'",
  TimeZone: "'America/St_Johns'",
  IntervalStyle: "'iso_8601'",
  extra_float_digits: 0,
  bytea_output: "'escape'",
  lc_monetary: `'${MONETARY}'`,
  standard_conforming_strings: 'off',
};

/** One database's own defaults, different again (ALTER DATABASE … SET). */
const DATABASE_SETTINGS = {
  DateStyle: 'German, DMY',
  TimeZone: 'Europe/Berlin',
  IntervalStyle: 'sql_standard',
  extra_float_digits: '-3',
};

const SCHEMA = `
  CREATE TABLE keyed (id int PRIMARY KEY, d date, ts timestamptz, r tstzrange, arr timestamptz[], iv interval,
                      f4 real, f8 float8, n numeric, b bytea, m money, t text);
  CREATE TABLE keyless (LIKE keyed);
  ALTER TABLE keyless REPLICA IDENTITY FULL;`;

/**
 * A row of values whose text depends on the settings above. Written as ISO dates, offsets and
 * dollar-quoted text and hex bytea, so the source session's own styles (standard_conforming_strings
 * off among them) read them the same way.
 */
function row(id: number, text: string, special: 'finite' | 'nan' | 'inf' | 'null'): string {
  const float = { finite: `${id}.1`, nan: `'NaN'`, inf: id % 2 === 0 ? `'Infinity'` : `'-Infinity'`, null: 'NULL' }[special];
  const num = special === 'inf' ? `'NaN'` : float;
  return `(${id}, DATE '2024-02-${String((id % 27) + 1).padStart(2, '0')}', TIMESTAMPTZ '2024-03-31 01:${String(id % 60).padStart(2, '0')}:00.123456+00',
    tstzrange('2024-03-31 00:30:00+00', '2024-10-27 01:30:00+00'), ARRAY['2024-10-27 00:30:00+00', '1890-01-01 12:00:00+00']::timestamptz[],
    INTERVAL 'P1Y2M3DT4H5M6.789S' * ${id % 5} - INTERVAL '${id} days', ${float}::real, ${float}::float8, ${num}::numeric,
    decode('de00ad5c${(id % 256).toString(16).padStart(2, '0')}', 'hex'), ${id}234.56::numeric::money, $t$${text} ${id}$t$)`;
}

const TEXTS = { utf8: `back\\slash 'quote' Grüße € ∑ 🐘`, latin1: `back\\slash 'quote' Grüße café ñ ¿ ÿ` };
const SPECIALS = ['finite', 'nan', 'inf', 'null'] as const;

function seed(text: string): string {
  const rows = Array.from({ length: 12 }, (_, i) => row(i + 1, text, SPECIALS[i % 4] ?? 'finite'));
  return `INSERT INTO keyed VALUES ${rows.join(',\n')}; INSERT INTO keyless SELECT * FROM keyed;`;
}

/** After the copy: inserts, updates that move the FULL rows' every value, deletes (NULL and NaN rows among them). */
function changes(text: string): string {
  const rows = Array.from({ length: 8 }, (_, i) => row(i + 101, text, SPECIALS[i % 4] ?? 'finite'));
  const each = (t: string) => `
    INSERT INTO ${t} VALUES ${rows.join(',\n')};
    UPDATE ${t} SET t = t || $t$ \\ é$t$, ts = ts + INTERVAL '1 hour', arr = arr || ts, r = tstzrange(lower(r), NULL) WHERE id IN (1, 2, 3, 4);
    UPDATE ${t} SET f4 = 'NaN', f8 = '-Infinity', n = 'NaN' WHERE id IN (5, 101);
    UPDATE ${t} SET f4 = NULL, f8 = 'Infinity', n = NULL, d = d + 1, iv = iv * 2, b = b || decode('5c00', 'hex'), m = m + 1::money WHERE id IN (6, 7, 102);
    DELETE FROM ${t} WHERE id IN (8, 10, 103);`;
  return `BEGIN; ${each('keyed')} ${each('keyless')} COMMIT;`;
}

let cluster: Cluster;
let source: ServerInfo;
let locDir: string;
const made: string[] = [];

beforeAll(async () => {
  // A German locale only this source has: compiled into a private LOCPATH given to that server.
  locDir = mkdtempSync(join(tmpdir(), 'pgferry-locales-'));
  chmodSync(locDir, 0o755);
  execFileSync('localedef', ['-i', 'de_DE', '-f', 'UTF-8', join(locDir, MONETARY)]);
  cluster = await startCluster({ label: 'settings', logical: true, major: 15, settings: SERVER_SETTINGS, env: { LOCPATH: locDir } });
  source = cluster.info;
}, 180_000);

afterAll(async () => {
  await stopAllHosts();
  for (const db of made) await dropTestDatabase(target, db).catch(() => undefined);
  await cluster?.stop();
  if (locDir) rmSync(locDir, { recursive: true, force: true });
}, 120_000);

/** The three databases of one run: server styles, database styles, LATIN1. */
async function makeDatabases(tag: string): Promise<Array<{ db: string; text: string }>> {
  const out = [
    { db: `styles_server_${tag}`, text: TEXTS.utf8, create: `TEMPLATE template0 ENCODING 'UTF8'` },
    { db: `styles_db_${tag}`, text: TEXTS.utf8, create: `TEMPLATE template0 ENCODING 'UTF8'` },
    { db: `latin1_${tag}`, text: TEXTS.latin1, create: `ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0` },
  ];
  for (const d of out) {
    await sql(source, 'postgres', `CREATE DATABASE ${d.db} ${d.create}`);
    made.push(d.db);
    // A LATIN1 database cannot use the German locale's money at all (its € has no LATIN1 byte).
    if (d.db.startsWith('latin1')) await sql(source, 'postgres', `ALTER DATABASE ${d.db} SET lc_monetary = 'C'`);
    await sql(source, d.db, SCHEMA + seed(d.text));
  }
  const styled = out[1]?.db ?? '';
  for (const [k, v] of Object.entries(DATABASE_SETTINGS)) await sql(source, 'postgres', `ALTER DATABASE ${styled} SET ${k} = '${v}'`);
  return out;
}

async function migrate(h: Host, name: string, dbs: Array<{ db: string; text: string }>, decoder: string): Promise<void> {
  const put = await http(migrationUrl(h, 'tgt', name), { method: 'PUT', body: migrationBody(source, target, dbs.map((d) => d.db)) });
  expect(put.status, put.text).toBe(201);
  const waiting = await waitForState(h, 'tgt', name, 'WaitingForUserAction', 'WaitingForCutoverTrigger', 300_000);
  for (const d of dbs) expect(waiting.properties.currentStatus.currentSubStateDetails.dbDetails[d.db]?.decodingPlugin).toBe(decoder);
  for (const d of dbs) await sql(source, d.db, changes(d.text));
  const patch = await http(migrationUrl(h, 'tgt', name), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } });
  expect(patch.status, patch.text).toBe(200);
  const done = await waitForState(h, 'tgt', name, 'Succeeded', 'Completed', 300_000);
  for (const d of dbs) {
    const details = done.properties.currentStatus.currentSubStateDetails.dbDetails[d.db];
    expect(details?.migrationState).toBe('Succeeded');
    // 16 inserts, 18 updates and 6 deletes, on the two tables, streamed after the copy.
    expect((details?.cdcInsertCounter ?? 0) + (details?.cdcUpdateCounter ?? 0) + (details?.cdcDeleteCounter ?? 0)).toBeGreaterThanOrEqual(40);
    await expectJudgedEqual(source, target, d.db);
    expect(await slotsOn(source, d.db)).toEqual([]);
  }
}

describe('sources with their own value formats, migrated Online over HTTP', () => {
  it('the source really has them: styles per server and per database, a German lc_monetary, LATIN1', async () => {
    const { rows } = await sql(source, 'postgres', `SELECT current_setting('DateStyle') AS ds, current_setting('lc_monetary') AS lm, 1234.5::money::text AS m`);
    expect(rows[0]).toMatchObject({ ds: 'SQL, DMY', lm: MONETARY });
    expect(rows[0].m).toContain('€');
  });

  it('pgoutput: the target equals the source in every value', async () => {
    const dbs = await makeDatabases('pgo');
    await migrate(host, 'settings-pgo', dbs, 'pgoutput');
  }, 600_000);

  it('wal2json: the same', async () => {
    const w2j = await startHost({ storage: azurite.connectionString, env: { PGFERRY_DECODER: 'wal2json' } });
    const dbs = await makeDatabases('w2j');
    await migrate(w2j, 'settings-w2j', dbs, 'wal2json');
  }, 600_000);
});
