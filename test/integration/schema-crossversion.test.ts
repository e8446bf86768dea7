/**
 * Schema migration from an older source to a newer target.
 * - 13 → 15: pg_dump (15) of both sides is equal once the differences that come with the newer
 *   version itself are normalised (the public schema's defaults, automatic multiranges, procedure
 *   argument modes as 15 prints them).
 * - 15 → 17: pg_dump 15 cannot dump a 17 server, so every statement must apply and the models
 *   extracted from both sides must match (views normalised: 16+ prints column names unqualified).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connect } from '../../shared/pg/connect';
import { describeFailures, extractSchema, readTargetFacts, type SchemaObject, type SchemaPlan } from '../../shared/schema';
import { startCluster, type Cluster } from '../support/cluster';
import { createTestDatabase, dropTestDatabase } from '../support/databases';
import { endpointOf } from '../support/endpoints';
import { applyAll, createRoles, dropEntries, dropRoles, fixtureRoles, loadFixture, planFor, schemaDump } from '../fixtures/schema/oracle';

const source = inject('source');
const target = inject('target');
const roles = fixtureRoles(`schx_${randomBytes(3).toString('hex')}`);
const clusters: Cluster[] = [];
const created: Array<[typeof source, string]> = [];

async function database(server: typeof source, label: string): Promise<string> {
  const db = await createTestDatabase(server, label);
  created.push([server, db]);
  return db;
}

let pg13: Cluster;
let pg17: Cluster;
beforeAll(async () => {
  [pg13, pg17] = await Promise.all([startCluster({ major: 13, label: 'schema13' }), startCluster({ major: 17, label: 'schema17' })]);
  clusters.push(pg13, pg17);
  for (const server of [source, target, pg13.info, pg17.info]) await createRoles(server, roles);
}, 180_000);

afterAll(async () => {
  for (const [server, db] of created.filter(([s]) => s === source || s === target)) await dropTestDatabase(server, db);
  await dropRoles(source, roles, []);
  await dropRoles(target, roles, []);
  await Promise.all(clusters.map((c) => c.stop()));
});

/** What PostgreSQL 15 adds or prints differently for the same catalog of a 13 database. */
function normalise13to15(dump: string): string {
  return dropEntries(dump, /Name: (public; Type: SCHEMA|SCHEMA public; Type: ACL);/)
    .replace(/^ {4}multirange_type_name = .*,\n/gm, '')
    .replace(/^(.*PROCEDURE.*)\(IN /gm, '$1(');
}

describe('schema 13 → 15', () => {
  it('pg_dump of source and target are equal but for what 15 itself adds', async () => {
    const src = await database(pg13.info, 'schema_x13_src');
    await loadFixture(pg13.info, src, roles);
    const dst = await database(target, 'schema_x13_dst');
    const plan = await planFor(pg13.info, src, target, dst);
    expect(plan.sourceVersionNum).toBeLessThan(140000);
    expect(plan.targetVersionNum).toBeGreaterThanOrEqual(150000);
    const reports = await applyAll(plan, target, dst);
    for (const r of reports) expect(describeFailures(r), r.phase).toEqual([]);

    const before = await schemaDump(pg13.info, src);
    const after = await schemaDump(target, dst);
    // The normalisation removes only these: check each is really there before it is removed.
    expect(before).toContain('ALTER SCHEMA public OWNER TO postgres;');
    expect(after).toContain('multirange_type_name = app.timemultirange');
    expect(normalise13to15(after)).toEqual(normalise13to15(before));
  }, 180_000);
});

/** 16+ deparses a view's columns without their table's name when unambiguous: compare both ways alike. */
function normaliseView(sql: string): string {
  const ident = `(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)`;
  return sql.replace(new RegExp(`(?<![\\w."])${ident}\\.(?=${ident}(?![\\w."(]))`, 'g'), '');
}

function model(plan: SchemaPlan): Map<string, { phase: string; sql: string[] }> {
  const out = new Map<string, { phase: string; sql: string[] }>();
  for (const o of plan.objects) {
    const view = o.kind === 'view' || o.kind === 'materialized-view';
    out.set(`${o.kind} ${o.name}`, { phase: o.phase, sql: view ? o.sql.map(normaliseView) : o.sql });
  }
  return out;
}

describe('schema 15 → 17', () => {
  it('every statement applies, and the models extracted from both sides match', async () => {
    const src = await database(source, 'schema_x17_src');
    await loadFixture(source, src, roles);
    const dst = await createTestDatabase(pg17.info, 'schema_x17_dst');
    const plan = await planFor(source, src, pg17.info, dst);
    expect(plan.targetVersionNum).toBeGreaterThanOrEqual(170000);
    const reports = await applyAll(plan, pg17.info, dst);
    for (const r of reports) expect(describeFailures(r), r.phase).toEqual([]);

    const client = await connect(endpointOf(pg17.info, { database: dst, sslMode: 'Prefer' }));
    // Read back with the same target facts, so extension versions are pinned the same way.
    const back = await readTargetFacts(client)
      .then((facts) => extractSchema(client, facts))
      .finally(() => client.end());
    const expected = model({ ...plan, objects: plan.objects.map((o): SchemaObject => ({ ...o })) });
    const actual = model(back);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, value] of expected) expect(actual.get(key), key).toEqual(value);
    // The views really were printed differently: the normalisation is needed, not decorative.
    const raw = (p: SchemaPlan) => p.objects.find((o) => o.name === 'view "app"."labels_on_view"')?.sql[0];
    expect(raw(back)).not.toEqual(raw(plan));
  }, 180_000);
});
