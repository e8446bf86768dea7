/**
 * Copy edges through the host:
 *  - tables whose names differ only by where the dot falls ("a.b"."c" and "a"."b.c") are each
 *    copied, replayed and verified under their own name;
 *  - large objects created, changed and unlinked after the copy arrive at cutover;
 *  - a database with no tables at all (a sequence, a function, a type) migrates next to one with
 *    tables, Online and Offline;
 *  - a sequence the target lacks at cutover is named on the database's details.
 * The judge (test/support/judge.ts) compares every table, sequence, large object and the schema.
 */
import { describe, expect, inject, it } from 'vitest';
import { sql } from '../support/databases';
import { http, useHost } from '../support/host';
import { expectTargetEqualsSource, migrationBody, migrationUrl, useDatabases, waitForState } from '../support/e2e';

const source = inject('source');
const target = inject('target');
const host = useHost();
const dbs = useDatabases(source, target);

const DOTTED = `
  CREATE SCHEMA "a.b";
  CREATE SCHEMA a;
  CREATE TABLE "a.b".c (id int PRIMARY KEY, v text NOT NULL);
  CREATE TABLE a."b.c" (id int PRIMARY KEY, v text NOT NULL);
  INSERT INTO "a.b".c SELECT g, 'left ' || g FROM generate_series(1, 300) g;
  INSERT INTO a."b.c" SELECT g, 'right ' || g FROM generate_series(1, 200) g;
  CREATE TABLE docs (id int PRIMARY KEY, body oid);
  INSERT INTO docs SELECT g, lo_from_bytea(0, convert_to(repeat('doc ' || g || ' ', 1000), 'UTF8')) FROM generate_series(1, 4) g;`;

const EMPTY = `
  CREATE SEQUENCE counter START 7;
  SELECT nextval('counter'), nextval('counter');
  CREATE TYPE colour AS ENUM ('red', 'green');
  CREATE FUNCTION answer() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 42';`;

/** Writes after the copy: rows in both dotted tables, and large objects created, changed and unlinked. */
const AFTER_COPY = `
  INSERT INTO "a.b".c VALUES (1001, 'left late');
  UPDATE "a.b".c SET v = v || '!' WHERE id <= 10;
  INSERT INTO a."b.c" VALUES (2001, 'right late');
  DELETE FROM a."b.c" WHERE id <= 5;
  INSERT INTO docs VALUES (5, lo_from_bytea(0, 'created after the copy'));
  SELECT lo_put(body, 0, 'CHANGED') FROM docs WHERE id = 1;
  SELECT lo_unlink(body) FROM docs WHERE id = 2;
  UPDATE docs SET body = NULL WHERE id = 2;`;

const details = (m: Awaited<ReturnType<typeof waitForState>>) => m.properties.currentStatus.currentSubStateDetails.dbDetails ?? {};

describe('copy edges', () => {
  it('Online: dotted twins, large objects changed after the copy, an empty database, a sequence missing at cutover', async () => {
    const dotted = await dbs.create('edges_dot', DOTTED);
    const empty = await dbs.create('edges_empty', EMPTY);
    const put = await http(migrationUrl(host, 'edges', 'online'), { method: 'PUT', body: migrationBody(source, target, [dotted, empty]) });
    expect(put.status, put.text).toBe(201);
    await waitForState(host, 'edges', 'online', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
    await sql(source, dotted, AFTER_COPY);
    // Created after the copy: no counterpart on the target when cutover sets the sequences.
    await sql(source, empty, `CREATE SEQUENCE late; SELECT nextval('late'), nextval('late'), nextval('late')`);
    expect((await http(migrationUrl(host, 'edges', 'online'), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } })).status).toBe(200);
    const done = await waitForState(host, 'edges', 'online', 'Succeeded', 'Completed');
    expect(details(done)[empty]?.message).toMatch(/sequence.*"public"\."late"|public\.late/);

    await expectTargetEqualsSource(source, target, dotted);
    const lo = await sql(target, dotted, `SELECT convert_from(lo_get(body), 'UTF8') AS text FROM docs WHERE id IN (1, 5) ORDER BY id`);
    expect(lo.rows.map((r: { text: string }) => r.text.slice(0, 12))).toEqual(['CHANGEDoc 1 ', 'created afte']);
    // The sequence the user creates on the target after being told: then everything is equal.
    await sql(target, empty, `CREATE SEQUENCE late; SELECT setval('late', 3)`);
    await expectTargetEqualsSource(source, target, empty);
  }, 300_000);

  it('Offline: an empty database next to one with tables', async () => {
    const dotted = await dbs.create('edges_dot_off', DOTTED);
    const empty = await dbs.create('edges_empty_off', EMPTY);
    const put = await http(migrationUrl(host, 'edges', 'offline'), { method: 'PUT', body: migrationBody(source, target, [empty, dotted], { mode: 'Offline' }) });
    expect(put.status, put.text).toBe(201);
    await waitForState(host, 'edges', 'offline', 'Succeeded', 'Completed');
    await expectTargetEqualsSource(source, target, empty);
    await expectTargetEqualsSource(source, target, dotted);
  }, 300_000);
});
