/**
 * Many small tables end to end (issue #17): 300 small tables with an index each and one big table
 * split into chunks migrate Online through the host while the source keeps writing to the small
 * tables and the big one; after cutover the target equals the source by the independent judge.
 * Small tables travel in groups: the copy activities number a few, far fewer than the tables.
 */
import { beforeAll, describe, expect, it, inject } from 'vitest';
import { sql } from '../support/databases';
import { http, useHost } from '../support/host';
import { expectTargetEqualsSource, migrationBody, migrationUrl, useDatabases, waitForState } from '../support/e2e';

const source = inject('source');
const target = inject('target');
// Tables over 1 MB are split: the big table travels in chunks, the small ones in groups.
const host = useHost({ env: { PGFERRY_COPY_SPLIT_MB: '1' } });
const dbs = useDatabases(source, target);
const SMALL = 300;

const FIXTURE = `
  DO $$ BEGIN FOR i IN 1..${SMALL} LOOP
    EXECUTE format('CREATE TABLE s%s (id int PRIMARY KEY, v text NOT NULL, n int)', i);
    EXECUTE format('INSERT INTO s%s SELECT g, md5(g::text), g FROM generate_series(1, 100) g', i);
    EXECUTE format('CREATE INDEX s%s_v ON s%s (v)', i, i);
  END LOOP; END $$;
  CREATE TABLE big (id bigint PRIMARY KEY, payload text NOT NULL);
  INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 30000) g;
  ANALYZE;`;

/** One round of writes: a few small tables (rows inserted, updated, deleted) and the big one. */
function writes(round: number): string {
  const t = (k: number) => `s${1 + ((round * 37 + k * 101) % SMALL)}`;
  return `
    INSERT INTO ${t(0)} VALUES (1000 + ${round}, 'live ${round}', ${round}) ON CONFLICT (id) DO NOTHING;
    UPDATE ${t(1)} SET n = n + 1, v = v || '+' WHERE id = 1 + ${round} % 100;
    DELETE FROM ${t(2)} WHERE id = 1 + (${round} * 7) % 100;
    UPDATE big SET payload = 'changed ${round}' WHERE id = 1 + (${round} * 997) % 30000;
    INSERT INTO big VALUES (100000 + ${round}, 'new ${round}');`;
}

let DB = '';

beforeAll(async () => {
  DB = await dbs.create('many', FIXTURE);
}, 300_000);

describe('many small tables', () => {
  it('migrate Online with writes during the copy, in a few copy activities, and the target equals the source', async () => {
    const put = await http(migrationUrl(host, 'many', 'tables'), { method: 'PUT', body: migrationBody(source, target, [DB]) });
    expect(put.status, put.text).toBe(201);
    let round = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await sql(source, DB, writes(round++));
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    try {
      await waitForState(host, 'many', 'tables', 'WaitingForUserAction', 'WaitingForCutoverTrigger', 600_000);
    } finally {
      writing = false;
      await writer;
    }
    for (let i = 0; i < 5; i++) await sql(source, DB, writes(round++));
    expect((await http(migrationUrl(host, 'many', 'tables'), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } })).status).toBe(200);
    await waitForState(host, 'many', 'tables', 'Succeeded', 'Completed', 600_000);
    const judged = await expectTargetEqualsSource(source, target, DB);
    expect(judged.tables).toBe(SMALL + 1);
    expect(round).toBeGreaterThan(5);

    // Each activity invocation logs one line; the copy ran in a few of them (chunks of the big table, groups of small ones).
    const copies = host.logs().split('\n').filter((l) => l.includes('"msg":"copyChunk done"') && l.includes(`"database":"${DB}"`));
    const indexBuilds = host.logs().split('\n').filter((l) => /"msg":"build(Group|Table)Indexes done"/.test(l) && l.includes(`"database":"${DB}"`));
    expect(copies.length).toBeGreaterThanOrEqual(2 + 4);
    expect(copies.length).toBeLessThan(20);
    expect(indexBuilds.length).toBeLessThan(10);
  }, 900_000);
});
