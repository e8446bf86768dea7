/**
 * Schema migration, PostgreSQL 15 → 15, proven by pg_dump: the fixture (every object kind pgferry
 * migrates) goes through pre-data, keys and post-data into an empty database, and pg_dump
 * --schema-only of both sides must then be equal — with owners and privileges when the fixture's
 * roles exist on the target, without them when they do not.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyPhase, describeFailures, type PhaseReport, type SchemaPlan } from '../../shared/schema';
import { createTestDatabase, dropTestDatabase } from '../support/databases';
import {
  applyAll,
  connector,
  createRoles,
  dropEntries,
  dropRoles,
  fixtureRoles,
  loadFixture,
  planFor,
  schemaDump,
} from '../fixtures/schema/oracle';

const source = inject('source');
const target = inject('target');
const tag = randomBytes(3).toString('hex');
/** Roles on both clusters. */
const roles = fixtureRoles(`sch_${tag}`);
/** Roles on the source only. */
const sourceOnly = fixtureRoles(`schnr_${tag}`);

const created: Array<[typeof source, string]> = [];
async function database(server: typeof source, label: string): Promise<string> {
  const db = await createTestDatabase(server, label);
  created.push([server, db]);
  return db;
}

let sourceDb: string;
beforeAll(async () => {
  await createRoles(source, roles);
  await createRoles(target, roles);
  await createRoles(source, sourceOnly);
  sourceDb = await database(source, 'schema_src');
  await loadFixture(source, sourceDb, roles);
});

afterAll(async () => {
  for (const [server, db] of created) await dropTestDatabase(server, db);
  await dropRoles(source, roles, []);
  await dropRoles(target, roles, []);
  await dropRoles(source, sourceOnly, []);
});

function expectOk(reports: PhaseReport[]): void {
  for (const r of reports) expect(describeFailures(r), r.phase).toEqual([]);
}

describe('schema oracle 15 → 15', () => {
  let plan: SchemaPlan;
  let targetDb: string;

  it('migrates every object kind: pg_dump of source and target are equal, owners and privileges included', async () => {
    targetDb = await database(target, 'schema_dst');
    plan = await planFor(source, sourceDb, target, targetDb);
    // Nothing left out, no role missing, no cycle: only the view that waits for a primary key.
    expect(plan.warnings.map((w) => `${w.code}: ${w.object}`)).toEqual(['phase-promoted: view "app"."customer_orders"']);
    const reports = await applyAll(plan, target, targetDb);
    expectOk(reports);
    expect(reports.map((r) => r.counts.created).every((n) => n > 0)).toBe(true);
    expect(await schemaDump(target, targetDb)).toEqual(await schemaDump(source, sourceDb));
  }, 120_000);

  it('splits the work into phases the copy can use', () => {
    const kinds = (phase: string) => new Set(plan.objects.filter((o) => o.phase === phase).map((o) => o.kind));
    expect(kinds('pre-data')).toEqual(
      new Set(['schema', 'extension', 'collation', 'type', 'function', 'aggregate', 'sequence', 'sequence-owned-by', 'table',
        'partition-attach', 'column-default', 'check-constraint', 'view', 'materialized-view', 'owner', 'acl']),
    );
    // Keys: primary keys (partitioned ones attached), the replica-identity index, and the view needing a key.
    for (const k of ['primary-key', 'index', 'index-attach', 'view']) expect(kinds('keys'), k).toContain(k);
    for (const k of kinds('keys')) expect(['primary-key', 'index', 'index-attach', 'view', 'owner', 'acl'], k).toContain(k);
    expect(plan.objects.filter((o) => o.phase === 'keys' && o.kind === 'index').map((o) => o.name)).toEqual(['index "app"."audit_seq" on "app"."audit"']);
    for (const k of ['index', 'constraint', 'foreign-key', 'trigger', 'rule', 'policy', 'row-security', 'refresh', 'analyze', 'statistics', 'default-acl', 'domain-constraint', 'check-constraint']) {
      expect(kinds('post-data'), k).toContain(k);
    }
    // The view that groups by a primary key waits for it.
    expect(plan.warnings).toContainEqual(expect.objectContaining({ code: 'phase-promoted', object: 'view "app"."customer_orders"' }));
    // Every object comes after what it depends on.
    const seen = new Set<string>();
    for (const o of plan.objects) {
      for (const d of o.deps) expect(seen.has(d), `${o.name} after ${d}`).toBe(true);
      seen.add(o.id);
    }
  });

  it('gives the copy per-table columns, keys and post-data work', () => {
    const table = (q: string) => plan.tables.find((t) => t.qualified === q);
    const customers = table('"app"."customers"');
    expect(customers?.columns.map((c) => c.name).slice(0, 4)).toEqual(['id', 'email', 'name', 'First Name']);
    expect(customers?.columns.find((c) => c.name === 'search_name')?.generated).toBe(true);
    expect(customers?.columns.find((c) => c.name === 'id')?.identity).toBe('always');
    expect(customers?.chunkKey).toEqual({ column: 'id', type: 'bigint' });
    expect(customers?.primaryKey).toEqual(['id']);
    expect(customers?.keys).toHaveLength(1);
    const byId = new Map(plan.objects.map((o) => [o.id, o]));
    const kindsOf = (ids: string[] | undefined) => new Set((ids ?? []).map((id) => byId.get(id)?.kind));
    // Plain indexes, the statistics object on an expression (and its owner), ANALYZE.
    expect(kindsOf(customers?.afterLoad)).toEqual(new Set(['index', 'statistics', 'owner', 'analyze']));
    expect(kindsOf(customers?.afterConsistency)).toEqual(new Set(['constraint', 'foreign-key', 'trigger']));
    expect(table('"app"."audit"')).toMatchObject({ primaryKey: null, replicaIdentity: 'index', chunkKey: { column: 'seq', type: 'integer' } });
    expect(table('"app"."measurements"')).toMatchObject({ partitioned: true, chunkKey: null });
    expect(table('"app"."measurements_2024_a"')).toMatchObject({ partitioned: false, partitionOf: '"app"."measurements_2024"' });
    expect(table('"Sales Data"."Order Items"')?.chunkKey).toBeNull();
    expect(table('"app"."logs"')?.replicaIdentity).toBe('full');
  });

  it('re-running every phase after it completed creates nothing new and leaves the same schema', async () => {
    const before = await schemaDump(target, targetDb);
    const again = await applyAll(plan, target, targetDb);
    expectOk(again);
    for (const r of again) {
      // Objects with an existence check are found; only idempotent statements (COMMENT, GRANT, ANALYZE …) run again.
      const rerun = r.results.filter((x) => x.status === 'created').map((x) => x.kind);
      expect(new Set(rerun), r.phase).toEqual(new Set(rerun.filter((k) => ['owner', 'acl', 'sequence-owned-by', 'row-security', 'analyze', 'default-acl', 'column-default', 'schema'].includes(k))));
    }
    expect(await schemaDump(target, targetDb)).toEqual(before);
  }, 120_000);
});

describe('schema without the roles on the target', () => {
  it('reports owners and grants it cannot keep, fails only what needs the role, and matches pg_dump --no-owner --no-privileges', async () => {
    const src = await database(source, 'schema_nr_src');
    await loadFixture(source, src, sourceOnly);
    const dst = await database(target, 'schema_nr_dst');
    const plan = await planFor(source, src, target, dst);
    const missing = plan.warnings.filter((w) => w.code === 'missing-role').map((w) => w.message);
    for (const r of Object.values(sourceOnly)) expect(missing.some((m) => m.includes(`"${r}"`)), r).toBe(true);
    expect(plan.objects.some((o) => o.sql.some((s) => Object.values(sourceOnly).some((r) => s.includes(`OWNER TO "${r}"`))))).toBe(false);

    const reports = await applyAll(plan, target, dst);
    const failures = reports.flatMap((r) => r.results.filter((x) => x.status !== 'created' && x.status !== 'existed'));
    // A policy naming a missing role fails (widening it to PUBLIC would weaken it); nothing else does.
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ kind: 'policy', status: 'failed', name: 'policy "orders_reader" on "app"."orders"' });
    expect(failures[0]?.error?.message).toContain(`role "${sourceOnly.reader}" does not exist`);
    expect(failures[0]?.error?.statement).toMatch(/^CREATE POLICY "orders_reader" ON "app"."orders"/);

    const expected = dropEntries(await schemaDump(source, src, { noOwner: true }), /Name: orders orders_reader; Type: POLICY/);
    expect(await schemaDump(target, dst, { noOwner: true })).toEqual(expected);
  }, 120_000);
});

describe('schema errors', () => {
  it('reports a failed object with its statement and message, skips its dependents, and creates the rest', async () => {
    const dst = await database(target, 'schema_err_dst');
    const plan = await planFor(source, sourceDb, target, dst);
    const mood = plan.objects.find((o) => o.name === 'type "app"."mood"');
    expect(mood).toBeDefined();
    if (mood) mood.sql = [`CREATE TYPE "app"."mood" AS RANGE (subtype = "no such type")`];
    const pre = await applyPhase(plan, 'pre-data', connector(target, dst), { concurrency: 3 });
    const byName = new Map(pre.results.map((r) => [r.name, r]));
    expect(byName.get('type "app"."mood"')).toMatchObject({
      status: 'failed',
      error: { statement: `CREATE TYPE "app"."mood" AS RANGE (subtype = "no such type")`, sqlstate: '42704', message: 'type "no such type" does not exist' },
    });
    // Its dependents, directly or through others, are skipped and say why.
    expect(byName.get('table "app"."customers"')).toMatchObject({ status: 'skipped', skippedBecause: 'type "app"."mood"' });
    expect(byName.get('function "app"."customers_by_mood"(m app.mood)')?.status).toBe('skipped');
    expect(byName.get('function "app"."full_label"(c app.customers)')).toMatchObject({ status: 'skipped', skippedBecause: 'table "app"."customers"' });
    expect(byName.get('view "app"."customer_labels"')?.status).toBe('skipped');
    // Independent objects are there.
    expect(byName.get('table "app"."cities"')?.status).toBe('created');
    expect(byName.get('table "Sales Data"."Order Items"')?.status).toBe('created');
    expect(pre.counts.failed).toBe(1);
    expect(pre.counts.skipped).toBeGreaterThan(5);
    expect(describeFailures(pre)[0]).toBe('type "app"."mood": type "no such type" does not exist (42704) — in: CREATE TYPE "app"."mood" AS RANGE (subtype = "no such type")');

    // The next phase skips what depends on objects that failed or were skipped before.
    const keys = await applyPhase(plan, 'keys', connector(target, dst), { previous: [pre] });
    expect(keys.results.find((r) => r.name.startsWith('primary key "app"."customers_pkey"'))).toMatchObject({ status: 'skipped', skippedBecause: 'table "app"."customers"' });
    expect(keys.results.find((r) => r.name.startsWith('primary key "app"."cities_pkey"'))?.status).toBe('created');
  }, 120_000);
});
