/**
 * Hostile identifiers end to end: schemas, tables, columns, types and the database itself named
 * with quotes, spaces, unicode, reserved words, 63-byte names and case-only twins migrate Online
 * with changes streaming, and the target equals the source.
 */
import { beforeAll, describe, expect, it, inject } from 'vitest';
import { sql } from '../support/databases';
import { http, useHost } from '../support/host';
import { expectTargetEqualsSource, migrationBody, migrationUrl, slotsOn, useDatabases, waitForState } from '../support/e2e';

const source = inject('source');
const target = inject('target');
const host = useHost();
const dbs = useDatabases(source, target);
const long63 = `t${'x'.repeat(61)}Z`; // 63 bytes, mixed case
const col63 = 'c'.repeat(63);
const DB = `Hostile "DB" ünï ${Math.floor(Math.random() * 1e6)}`;
const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
const S1 = q('Sales "Q1"');
const S2 = q('sales "q1"');
const T1 = `${S1}.${q('Order Lines')}`;
const T2 = `${S2}.${q('order lines')}`;
const T3 = `public.${q(long63)}`;
const ENUM = `${S1}.${q('select')}`;

const FIXTURE = `
  CREATE SCHEMA ${S1};
  CREATE SCHEMA ${S2};
  CREATE TYPE ${ENUM} AS ENUM ('a''b', 'c d', 'ünï');
  CREATE TABLE ${T1} ("Id" bigint PRIMARY KEY, "select" ${ENUM}, "from" text, "Ünïcødé 列" text, ${q('a"b')} int);
  CREATE TABLE ${T2} (id int PRIMARY KEY, "ID" int, "Id" int);
  CREATE TABLE ${T3} (${q(col63)} int PRIMARY KEY, v text);
  CREATE TABLE public."user" ("group" int, "order" text);
  ALTER TABLE public."user" REPLICA IDENTITY FULL;
  CREATE INDEX ${q('idx "quoted" ünï')} ON ${T1} ("from");
  INSERT INTO ${T1} SELECT g, (ARRAY['a''b', 'c d', 'ünï'])[1 + g % 3]::${ENUM}, 'from ' || g, '値 ' || g, g FROM generate_series(1, 2000) g;
  INSERT INTO ${T2} SELECT g, g * 2, g * 3 FROM generate_series(1, 500) g;
  INSERT INTO ${T3} SELECT g, 'v' || g FROM generate_series(1, 300) g;
  INSERT INTO public."user" SELECT g % 7, 'o' || g FROM generate_series(1, 100) g;`;

const WRITES = `
  INSERT INTO ${T1} VALUES (100000 + floor(random() * 1e6)::int, 'c d', 'live', '新', 1) ON CONFLICT DO NOTHING;
  UPDATE ${T1} SET "Ünïcødé 列" = "Ünïcødé 列" || '!' WHERE "Id" = 1 + floor(random() * 2000)::int;
  UPDATE ${T2} SET "ID" = "ID" + 1 WHERE id = 1 + floor(random() * 500)::int;
  DELETE FROM ${T3} WHERE ${q(col63)} = (SELECT min(${q(col63)}) FROM ${T3});
  UPDATE public."user" SET "order" = "order" || '+' WHERE "group" = 3;
  INSERT INTO public."user" VALUES (99, 'new');`;

beforeAll(async () => {
  await dbs.create('unused', FIXTURE, DB);
});

describe('hostile identifiers', () => {
  it('migrate Online with changes and cut over; every table equal', async () => {
    const put = await http(migrationUrl(host, 'hostile', 'quotes'), { method: 'PUT', body: migrationBody(source, target, [DB]) });
    expect(put.status, put.text).toBe(201);
    for (let i = 0; i < 5; i++) await sql(source, DB, WRITES);
    await waitForState(host, 'hostile', 'quotes', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    for (let i = 0; i < 5; i++) await sql(source, DB, WRITES);
    expect((await http(migrationUrl(host, 'hostile', 'quotes'), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } })).status).toBe(200);
    const done = await waitForState(host, 'hostile', 'quotes', 'Succeeded', 'Completed');
    expect(Object.keys(done.properties.currentStatus.currentSubStateDetails.dbDetails)).toEqual([DB]);
    await expectTargetEqualsSource(source, target, DB);
    const twins = await sql(target, DB, `SELECT nspname FROM pg_namespace WHERE lower(nspname) = 'sales "q1"' ORDER BY 1`);
    expect(twins.rows.map((r: { nspname: string }) => r.nspname)).toEqual(['Sales "Q1"', 'sales "q1"']);
    const idx = await sql(target, DB, `SELECT indexname FROM pg_indexes WHERE indexname = 'idx "quoted" ünï'`);
    expect(idx.rows).toHaveLength(1);
    expect(await slotsOn(source, DB)).toEqual([]);
  }, 300_000);
});
