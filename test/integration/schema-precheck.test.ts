/**
 * The batched existence checks (shared/schema/precheck.ts: one set-based query per check shape)
 * answer exactly what each object's own check answers alone, on the schema fixture (every object
 * kind): on an empty target, half-way through, and with leftovers a crash leaves (an invalid
 * index, an index without its constraint).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { applyPhase, type SchemaPlan } from '../../shared/schema';
import { precheckStates } from '../../shared/schema/precheck';
import { Sessions } from '../../shared/schema/sessions';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { applyAll, connector, createRoles, dropRoles, fixtureRoles, loadFixture, planFor } from '../fixtures/schema/oracle';

const source = inject('source');
const target = inject('target');
const roles = fixtureRoles(`schp_${randomBytes(3).toString('hex')}`);
let sourceDb = '';
let targetDb = '';
let plan: SchemaPlan;

beforeAll(async () => {
  await createRoles(source, roles);
  await createRoles(target, roles);
  sourceDb = await createTestDatabase(source, 'schema_pc_src');
  targetDb = await createTestDatabase(target, 'schema_pc_tgt');
  await loadFixture(source, sourceDb, roles);
  // Many objects of one shape, more than one batch's worth of none: the fixture plus 60 small tables.
  await sql(source, sourceDb, `DO $$ BEGIN FOR i IN 1..60 LOOP
    EXECUTE format('CREATE TABLE pc%s (id int PRIMARY KEY, v text NOT NULL)', i);
    EXECUTE format('CREATE INDEX pc%s_v ON pc%s (v)', i, i);
  END LOOP; END $$`);
  plan = await planFor(source, sourceDb, target, targetDb);
}, 120_000);

afterAll(async () => {
  await dropTestDatabase(source, sourceDb);
  await dropTestDatabase(target, targetDb);
  await dropRoles(source, roles, []);
  await dropRoles(target, roles, [targetDb]);
});

/** Each check run on its own, as apply.ts does without a precheck. */
async function oneByOne(): Promise<Map<string, string>> {
  const c = await connector(target, targetDb)();
  try {
    const states = new Map<string, string>();
    for (const o of plan.objects) {
      if (!o.check) continue;
      const { rows } = await c.query<{ state: string }>(o.check.sql, o.check.params);
      states.set(o.id, String(rows[0]?.state));
    }
    return states;
  } finally {
    await c.end();
  }
}

async function batched(): Promise<Map<string, string>> {
  const sessions = new Sessions(connector(target, targetDb), 'SELECT 1');
  try {
    return await precheckStates(sessions, plan.objects);
  } finally {
    await sessions.closeAll();
  }
}

const count = (states: Map<string, string>, state: string) => [...states.values()].filter((s) => s === state).length;

it('answers as each check alone: empty target, after pre-data, with crash leftovers, after everything', async () => {
  const checked = plan.objects.filter((o) => o.check).length;
  expect(checked).toBeGreaterThan(150);

  const empty = await oneByOne();
  expect(await batched()).toEqual(empty);
  expect(count(empty, 'absent')).toBeGreaterThan(150);

  await applyPhase(plan, 'pre-data', connector(target, targetDb));
  // A crashed build's leftovers: an index a constraint was to be made from, and an invalid index.
  await sql(target, targetDb, 'CREATE UNIQUE INDEX pc1_pkey ON public.pc1 (id)');
  await sql(target, targetDb, `CREATE INDEX pc2_v ON public.pc2 (v); UPDATE pg_catalog.pg_index SET indisvalid = false WHERE indexrelid = 'public.pc2_v'::regclass`);
  const middle = await oneByOne();
  expect(count(middle, 'done')).toBeGreaterThan(60);
  expect(count(middle, 'broken')).toBe(2);
  expect(await batched()).toEqual(middle);

  await sql(target, targetDb, 'DROP INDEX public.pc1_pkey; DROP INDEX public.pc2_v');
  await applyAll(plan, target, targetDb);
  const done = await oneByOne();
  expect(plan.objects.filter((o) => done.get(o.id) === 'absent').map((o) => o.name)).toEqual([]);
  expect(await batched()).toEqual(done);
}, 180_000);
