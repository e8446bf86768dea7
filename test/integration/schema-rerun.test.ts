/**
 * Schema phases are idempotent: after a crash in the middle of a phase (the target session killed
 * with pg_terminate_backend between or inside an object's statements), after running only half
 * of a phase, or after a crashed CREATE INDEX CONCURRENTLY left an invalid index, running the
 * phase again completes it, and pg_dump of the target equals the source's.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyObjects, applyPhase, describeFailures, PHASES, type PhaseReport, type SchemaPlan } from '../../shared/schema';
import { adminClient, createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { connector, createRoles, dropRoles, fixtureRoles, loadFixture, planFor, schemaDump } from '../fixtures/schema/oracle';

const source = inject('source');
const target = inject('target');
const roles = fixtureRoles(`schr_${randomBytes(3).toString('hex')}`);
const created: Array<[typeof source, string]> = [];
let sourceDb: string;
let sourceDump: string;

async function database(server: typeof source, label: string): Promise<string> {
  const db = await createTestDatabase(server, label);
  created.push([server, db]);
  return db;
}

beforeAll(async () => {
  await createRoles(source, roles);
  await createRoles(target, roles);
  sourceDb = await database(source, 'schema_rr_src');
  await loadFixture(source, sourceDb, roles);
  sourceDump = await schemaDump(source, sourceDb);
});

afterAll(async () => {
  for (const [server, db] of created) await dropTestDatabase(server, db);
  await dropRoles(source, roles, []);
  await dropRoles(target, roles, []);
});

/**
 * Sessions whose backend is terminated (pg_terminate_backend, waiting for it to exit) right
 * before the `killAt`-th query sent through them: that query and its transaction die with it.
 */
function crashingConnector(db: string, killAt: number): { connect: () => Promise<pg.Client>; killed: () => number } {
  let sent = 0;
  let kills = 0;
  const connect = async () => {
    const client = await connector(target, db)();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pid = rows[0]?.pid;
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    const crashing = async (...args: unknown[]) => {
      if (++sent === killAt) {
        kills++;
        const admin = await adminClient(target);
        await admin.query('SELECT pg_terminate_backend($1, 10000)', [pid]).finally(() => admin.end());
      }
      return query(...args);
    };
    return Object.assign(client, { query: crashing as unknown as pg.Client['query'] });
  };
  return { connect, killed: () => kills };
}

function expectOk(report: PhaseReport): void {
  expect(describeFailures(report), report.phase).toEqual([]);
}

describe('schema phases re-run after a crash', () => {
  let plan: SchemaPlan;

  it('each phase killed in the middle (no retries), then re-run: the same schema as the source', async () => {
    const dst = await database(target, 'schema_rr_kill');
    plan = await planFor(source, sourceDb, target, dst);
    const done: PhaseReport[] = [];
    for (const phase of PHASES) {
      const count = plan.objects.filter((o) => o.phase === phase).length;
      const created = new Set<string>();
      // Three crashes per phase, at points spread over what is left of it. An object found done by the
      // batched check before the run sends nothing; every other one sends at least one query (its
      // check, else its statements), so each point is reached even when earlier runs did most of the work.
      for (const at of ['start', 'middle', 'end'] as const) {
        const left = count - created.size;
        // Never before query 3: 1 and 2 are a session's set-up and the batched check, which fail nothing.
        const killAt = at === 'start' ? 3 : Math.max(3, at === 'middle' ? Math.ceil(left / 2) : left - 1);
        const crash = crashingConnector(dst, killAt);
        const crashed = await applyPhase(plan, phase, crash.connect, { concurrency: 3, retries: 0, previous: done });
        expect(crash.killed(), `${phase} killed at ${killAt}`).toBe(1);
        expect(crashed.counts.failed, `${phase} killed at ${killAt}`).toBeGreaterThan(0);
        for (const r of crashed.results) if (r.status === 'created' || r.status === 'existed') created.add(r.id);
        // The killed session's object failed with the kill (others running beside it may fail too,
        // e.g. "tuple concurrently updated" with retries off: they are re-run below like the rest).
        const messages = crashed.results.filter((r) => r.status === 'failed').map((r) => r.error?.message ?? '');
        expect(messages.some((m) => /terminat|Connection/i.test(m)), messages.join(' | ')).toBe(true);
      }
      const rerun = await applyPhase(plan, phase, connector(target, dst), { concurrency: 3, previous: done });
      expectOk(rerun);
      expect(rerun.counts.existed, phase).toBeGreaterThan(0);
      done.push(rerun);
    }
    expect(await schemaDump(target, dst)).toEqual(sourceDump);
  }, 180_000);

  it('retries an object whose session was killed, so the phase completes in one run', async () => {
    const dst = await database(target, 'schema_rr_retry');
    const crash = crashingConnector(dst, 40);
    const pre = await applyPhase(plan, 'pre-data', crash.connect, { concurrency: 2 });
    expect(crash.killed()).toBe(1);
    expectOk(pre);
  }, 120_000);

  it('half of each phase, then the whole phase: the same schema as the source', async () => {
    const dst = await database(target, 'schema_rr_half');
    const done: PhaseReport[] = [];
    for (const phase of PHASES) {
      const ids = plan.objects.filter((o) => o.phase === phase).map((o) => o.id);
      const half = await applyObjects(plan, ids.slice(0, Math.ceil(ids.length / 2)), connector(target, dst), { previous: done });
      expectOk(half);
      const whole = await applyPhase(plan, phase, connector(target, dst), { previous: done });
      expectOk(whole);
      // Everything of the first half with an existence check is found, not created again.
      const firstHalf = new Set(ids.slice(0, Math.ceil(ids.length / 2)));
      const recreated = whole.results.filter((r) => firstHalf.has(r.id) && r.status === 'created' && plan.objects.find((o) => o.id === r.id)?.check);
      expect(recreated.map((r) => r.name), phase).toEqual([]);
      done.push(whole);
    }
    expect(await schemaDump(target, dst)).toEqual(sourceDump);
  }, 120_000);

  it('in batches of objects per transaction: a session killed in the middle, then re-run: the same schema as the source', async () => {
    const dst = await database(target, 'schema_rr_batch');
    const done: PhaseReport[] = [];
    for (const phase of PHASES) {
      const count = plan.objects.filter((o) => o.phase === phase).length;
      const crash = crashingConnector(dst, Math.max(3, Math.ceil(count / 16)));
      const crashed = await applyPhase(plan, phase, crash.connect, { concurrency: 2, retries: 0, previous: done, batch: 8 });
      expect(crash.killed(), phase).toBe(1);
      // A killed batch runs its objects again one by one (on a new session); only an object killed
      // on its own fails (retries are off), and the re-run finds the rest.
      for (const r of crashed.results.filter((x) => x.status === 'failed')) expect(r.error?.message, phase).toMatch(/terminat|Connection/i);
      const rerun = await applyPhase(plan, phase, connector(target, dst), { concurrency: 2, previous: done, batch: 8 });
      expectOk(rerun);
      done.push(rerun);
    }
    expect(await schemaDump(target, dst)).toEqual(sourceDump);
  }, 180_000);

  it('a batch with an object the target refuses: that object fails by name, its batch-mates are created, its dependents skipped', async () => {
    const dst = await database(target, 'schema_rr_batch_bad');
    const pre = plan.objects.filter((o) => o.phase === 'pre-data');
    const victim = pre.find((o) => o.kind === 'table' && pre.some((d) => d.deps.includes(o.id)));
    if (!victim) throw new Error('the fixture has no pre-data table with a dependent object');
    const broken: SchemaPlan = { ...plan, objects: plan.objects.map((o) => (o.id === victim.id ? { ...o, sql: [`CREATE TABLE ${o.name.replace(/^table /, '')} (x pgferry_no_such_type)`] } : o)) };
    let queries = 0;
    const counting = async () => {
      const client = await connector(target, dst)();
      const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
      return Object.assign(client, { query: ((...args: unknown[]) => (queries++, query(...args))) as unknown as pg.Client['query'] });
    };
    const report = await applyPhase(broken, 'pre-data', counting, { concurrency: 1, batch: 50 });
    // Batched: far fewer round trips than objects, though the failed batch ran again one by one.
    expect(queries).toBeLessThan(pre.length / 2);
    const failed = report.results.filter((r) => r.status === 'failed');
    expect(failed.map((r) => r.id)).toEqual([victim.id]);
    expect(failed[0]?.error).toMatchObject({ sqlstate: '42704', statement: expect.stringContaining('pgferry_no_such_type') });
    const skipped = report.results.filter((r) => r.status === 'skipped');
    expect(skipped.length).toBeGreaterThan(0);
    for (const r of skipped) expect(plan.objects.find((o) => o.id === r.id)?.deps.length).toBeGreaterThan(0);
    expect(report.counts.created).toBe(pre.filter((o) => o.readiness !== 'drained').length - 1 - skipped.length);
  }, 120_000);

  it('drops and rebuilds an index a crashed CREATE INDEX CONCURRENTLY left invalid', async () => {
    const dst = await database(target, 'schema_rr_cic');
    const cicPlan = await planFor(source, sourceDb, target, dst, { concurrentIndexes: true });
    const events = cicPlan.objects.find((o) => o.name === 'index "app"."events_kind_at" on "app"."events"');
    expect(events).toMatchObject({ transactional: false, sql: [expect.stringMatching(/^CREATE UNIQUE INDEX CONCURRENTLY "?events_kind_at"? ON app.events/)] });
    const done: PhaseReport[] = [];
    for (const phase of ['pre-data', 'keys'] as const) done.push(await applyPhase(cicPlan, phase, connector(target, dst), { previous: done }));
    // A concurrent build that fails (here on duplicates) leaves an invalid index behind, as a crash does.
    await sql(target, dst, `INSERT INTO app.events (id, kind, at) VALUES (1, 'x', '2024-01-01'), (2, 'x', '2024-01-01')`);
    await expect(sql(target, dst, `CREATE UNIQUE INDEX CONCURRENTLY events_kind_at ON app.events (kind, at) WHERE kind IS NOT NULL`)).rejects.toThrow(/could not create unique index/);
    const invalid = await sql(target, dst, `SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.events_kind_at'::regclass`);
    expect(invalid.rows).toEqual([{ indisvalid: false }]);
    await sql(target, dst, 'DELETE FROM app.events WHERE id = 2');

    // One statement at a time: this test is about repairing the invalid index, not about concurrency.
    const post = await applyPhase(cicPlan, 'post-data', connector(target, dst), { previous: done, concurrency: 1 });
    expectOk(post);
    expect(post.results.find((r) => r.id === events?.id)?.status).toBe('repaired');
    expect(await schemaDump(target, dst)).toEqual(sourceDump);
  }, 120_000);
});
