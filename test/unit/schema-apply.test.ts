/**
 * The phase runner against a fake target: scheduling, concurrency, skipping, retries and checks.
 */
import type { Client } from 'pg';
import { DatabaseError } from 'pg';
import { describe, expect, it } from 'vitest';
import { applyObjects, applyPhase, makeObject, type SchemaObject, type SchemaPlan } from '../../shared/schema';

interface Fake {
  connect: () => Promise<Client>;
  /** Statements each session received, in order. */
  log: string[];
  sessions: number;
  maxInFlight: number;
}

function dbError(message: string, code: string): DatabaseError {
  const e = new DatabaseError(message, 0, 'error');
  e.code = code;
  return e;
}

/** A target where `behave` decides each statement's fate; each query takes a few milliseconds. */
function fakeTarget(behave: (sql: string, session: number) => unknown = () => undefined): Fake {
  const fake: Fake = { connect: async () => client(), log: [], sessions: 0, maxInFlight: 0 };
  let inFlight = 0;
  const client = () => {
    const session = ++fake.sessions;
    const c = {
      on: () => c,
      end: async () => undefined,
      query: async (sql: string) => {
        inFlight++;
        fake.maxInFlight = Math.max(fake.maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        // A string of several statements runs them in order and stops at the first error, as
        // PostgreSQL's simple query protocol does; the result is the last statement's.
        let out: unknown;
        for (const statement of sql.split(';\n')) {
          fake.log.push(statement);
          out = behave(statement, session);
          if (out instanceof Error) throw out;
        }
        return { rows: [out ?? { state: 'absent' }] };
      },
    };
    return c as unknown as Client;
  };
  return fake;
}

function obj(id: string, deps: string[] = [], over: Partial<SchemaObject> = {}): SchemaObject {
  return makeObject({ id, kind: 'table', name: `table ${id}`, phase: 'pre-data', sql: [`CREATE ${id}`], deps, check: { sql: `CHECK ${id}`, params: [] }, ...over });
}

function planOf(objects: SchemaObject[]): SchemaPlan {
  return { sourceVersionNum: 150000, targetVersionNum: 150000, objects, tables: [], warnings: [] };
}

describe('applyPhase', () => {
  it('runs each object in a transaction after its dependencies, never more than `concurrency` at once', async () => {
    const fake = fakeTarget();
    const objects = [obj('a'), obj('b'), obj('c', ['a']), obj('d', ['c', 'b']), ...Array.from({ length: 10 }, (_, i) => obj(`x${i}`))];
    const report = await applyPhase(planOf(objects), 'pre-data', fake.connect, { concurrency: 3 });
    expect(report).toMatchObject({ phase: 'pre-data', ok: true, counts: { created: 14 } });
    expect(fake.maxInFlight).toBeLessThanOrEqual(3);
    expect(fake.sessions).toBe(3);
    const at = (s: string) => fake.log.indexOf(s);
    expect(at('CREATE a')).toBeLessThan(at('CHECK c'));
    expect(at('CREATE c')).toBeLessThan(at('CHECK d'));
    expect(fake.log.filter((s) => s === 'BEGIN')).toHaveLength(14);
    // Each session is set up once: search_path, no body checks …
    expect(fake.log.filter((s) => s.includes('check_function_bodies = off'))).toHaveLength(3);
  });

  it('skips what an existing object would recreate, and repairs a broken one first', async () => {
    const fake = fakeTarget((sql) => (sql === 'CHECK a' ? { state: 'done' } : sql === 'CHECK b' ? { state: 'broken' } : undefined));
    const b = obj('b', [], { check: { sql: 'CHECK b', params: [], repair: 'DROP b' } });
    const report = await applyPhase(planOf([obj('a'), b]), 'pre-data', fake.connect);
    expect(report.results.map((r) => [r.id, r.status])).toEqual([['a', 'existed'], ['b', 'repaired']]);
    expect(fake.log).not.toContain('CREATE a');
    expect(fake.log.indexOf('DROP b')).toBeLessThan(fake.log.indexOf('CREATE b'));
  });

  it('reports a failure with its statement and the server message, rolls back, and skips the dependents only', async () => {
    const fake = fakeTarget((sql) => (sql === 'CREATE b2' ? dbError('type "x" does not exist', '42704') : undefined));
    const b = obj('b', [], { sql: ['CREATE b1', 'CREATE b2', 'CREATE b3'] });
    const report = await applyPhase(planOf([obj('a'), b, obj('c', ['b']), obj('d', ['c']), obj('e', ['a'])]), 'pre-data', fake.connect);
    const byId = new Map(report.results.map((r) => [r.id, r]));
    expect(byId.get('b')).toMatchObject({ status: 'failed', error: { statement: 'CREATE b2', message: 'type "x" does not exist', sqlstate: '42704' } });
    expect(byId.get('c')).toMatchObject({ status: 'skipped', skippedBecause: 'table b' });
    expect(byId.get('d')).toMatchObject({ status: 'skipped', skippedBecause: 'table c' });
    expect(byId.get('e')?.status).toBe('created');
    expect(fake.log).toContain('ROLLBACK');
    expect(fake.log).not.toContain('CREATE b3');
    expect(report).toMatchObject({ ok: false, counts: { created: 2, failed: 1, skipped: 2 } });
  });

  it('retries an object after a transient error on a new session, and gives up after `retries`', async () => {
    let deadlocks = 0;
    const fake = fakeTarget((sql) => {
      if (sql === 'CREATE a' && deadlocks++ < 1) return dbError('deadlock detected', '40P01');
      if (sql === 'CREATE b') return dbError('terminating connection due to administrator command', '57P01');
      return undefined;
    });
    const report = await applyPhase(planOf([obj('a'), obj('b')]), 'pre-data', fake.connect, { retries: 2, concurrency: 1 });
    expect(report.results.map((r) => r.status)).toEqual(['created', 'failed']);
    expect(fake.log.filter((s) => s === 'CREATE b')).toHaveLength(3);
  });

  it('with a deadline already passed, starts one object and defers the rest (not skipped), so a share stays time-bounded', async () => {
    const fake = fakeTarget();
    const objects = [obj('a'), obj('b'), obj('c', ['a'])];
    const report = await applyPhase(planOf(objects), 'pre-data', fake.connect, { deadline: Date.now() - 1 });
    expect(report.results.map((r) => [r.id, r.status])).toEqual([['a', 'created']]);
    expect(report.deferred).toBe(2);
    expect(report.counts.skipped).toBe(0);
    const rest = await applyPhase(planOf(objects), 'pre-data', fake.connect);
    expect(rest.deferred).toBe(0);
    expect(rest.results).toHaveLength(3);
  });

  it('skips objects whose dependencies failed in an earlier phase', async () => {
    const fake = fakeTarget();
    const earlier = {
      phase: 'pre-data' as const,
      ok: false,
      counts: { created: 0, existed: 0, repaired: 0, failed: 1, skipped: 0 },
      results: [{ id: 't', kind: 'table' as const, name: 'table t', phase: 'pre-data' as const, status: 'failed' as const, seconds: 0 }],
      deferred: 0,
      seconds: 0,
    };
    const objects = [obj('t'), obj('pk', ['t'], { phase: 'keys', kind: 'primary-key' }), obj('pk2', [], { phase: 'keys' })];
    const report = await applyPhase(planOf(objects), 'keys', fake.connect, { previous: [earlier] });
    expect(report.results.map((r) => [r.id, r.status, r.skippedBecause])).toEqual([['pk', 'skipped', 'table t'], ['pk2', 'created', undefined]]);
  });

  it('does not skip an object whose order-only dependency failed (privileges after a refused owner change)', async () => {
    const fake = fakeTarget((sql) => (sql === 'CREATE owner' ? dbError('must be able to SET ROLE "x"', '42501') : undefined));
    const objects = [obj('t'), obj('owner', ['t']), obj('acl', ['t', 'owner'], { orderOnly: ['owner'] })];
    const report = await applyPhase(planOf(objects), 'pre-data', fake.connect);
    expect(report.results.map((r) => [r.id, r.status])).toEqual([['t', 'created'], ['owner', 'failed'], ['acl', 'created']]);
    expect(fake.log.indexOf('CHECK acl')).toBeGreaterThan(fake.log.indexOf('CREATE owner'));
  });

  it('runs a chosen subset, taking dependencies outside it as done', async () => {
    const fake = fakeTarget();
    const report = await applyObjects(planOf([obj('a'), obj('b', ['a']), obj('c', ['b'])]), ['b', 'c'], fake.connect);
    expect(report.results.map((r) => r.id)).toEqual(['b', 'c']);
    expect(fake.log).not.toContain('CREATE a');
  });

  it('runs statements that cannot be in a transaction block without one', async () => {
    const fake = fakeTarget();
    await applyPhase(planOf([obj('i', [], { transactional: false, sql: ['CREATE INDEX CONCURRENTLY i'] })]), 'pre-data', fake.connect);
    expect(fake.log).not.toContain('BEGIN');
    expect(fake.log).toContain('CREATE INDEX CONCURRENTLY i');
  });

  it('finishes an index built outside a transaction whose later statements a crash may have cut off', async () => {
    const fake = fakeTarget((sql) => (sql === 'CHECK i' ? { state: 'done' } : undefined));
    const i = obj('i', [], { transactional: false, sql: ['CREATE INDEX CONCURRENTLY i', 'COMMENT ON INDEX i'] });
    const report = await applyPhase(planOf([i]), 'pre-data', fake.connect);
    expect(report.results[0]?.status).toBe('existed');
    expect(fake.log).toContain('COMMENT ON INDEX i');
    expect(fake.log).not.toContain('CREATE INDEX CONCURRENTLY i');
  });
});
