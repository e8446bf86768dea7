/**
 * Fallback after cutover (issue #20), end to end over HTTP: an Online migration with
 * fallbackAfterCutover "True" copies while the source changes, cuts over, and then replicates the
 * target's writes back to the source (Succeeded / ReplicatingToSource) until the user
 *  - falls back: the target drained, the source's sequences set, every table verified — the source
 *    equals the target under the independent judge, and nothing of pgferry is left on either server;
 *  - finalizes: nothing of pgferry is left on either server (slots, publications, origins, schemas,
 *    replica identities back as they were);
 * and a row written directly on the source meanwhile is reported as a conflict, never overwritten.
 */
import { describe, expect, it, inject } from 'vitest';
import type { ServerInfo } from '../support/cluster';
import { sql } from '../support/databases';
import { http, startHost, useHost, waitFor, type Host } from '../support/host';
import { FIXTURE_SQL, expectTargetEqualsSource, getMigration, migrationBody, migrationUrl, slotsOn, startWriter, useDatabases, waitForState } from '../support/e2e';
import type { MigrationResource } from '../../shared/model/migration-resource';
import { main } from '../../cli/main';

const source = inject('source');
const target = inject('target');
const azurite = inject('azurite');
const host = useHost();
const dbs = useDatabases(source, target);

/** The target's own writes after cutover, touching every table kind of FIXTURE_SQL. */
const TARGET_WRITES = `
  INSERT INTO accounts (name, balance, mood) VALUES ('on target ' || random(), 7, 'happy');
  UPDATE accounts SET balance = balance + 100, doc = jsonb_build_object('t', 1) WHERE id BETWEEN 10 AND 20;
  DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id DESC LIMIT 3);
  INSERT INTO events (account_id, payload) VALUES (2, 'target event');
  INSERT INTO audit VALUES (now(), 'target');
  UPDATE audit SET msg = msg || ' (edited on target)' WHERE msg = 'boot 7';
  UPDATE metrics SET v = -1 WHERE id = 42;`;

function fallbackBody(db: string) {
  const body = migrationBody(source, target, [db]);
  return { properties: { ...body.properties, fallbackAfterCutover: 'True' } };
}

/** PUT with fallbackAfterCutover, live source writes during the copy, cutover: Succeeded / ReplicatingToSource. */
async function migrateAndCutOver(name: string, db: string, h: Host = host): Promise<MigrationResource> {
  const put = await http(migrationUrl(h, 'tgt', name), { method: 'PUT', body: fallbackBody(db) });
  expect(put.status, put.text).toBe(201);
  expect(put.json<MigrationResource>().properties.fallbackAfterCutover).toBe('True');
  const writer = startWriter(source, db);
  const waiting = await waitForState(h, 'tgt', name, 'WaitingForUserAction', 'WaitingForCutoverTrigger');
  const checks = waiting.properties.currentStatus.currentSubStateDetails.validationDetails;
  const codes = JSON.stringify(checks);
  expect(codes).toContain('603964');
  expect(codes).toContain('603969');
  expect(await writer.stop()).toBeGreaterThan(0);
  const cut = await http(migrationUrl(h, 'tgt', name), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } });
  expect(cut.status, cut.text).toBe(200);
  const replicating = await waitForState(h, 'tgt', name, 'Succeeded', 'ReplicatingToSource');
  await expectTargetEqualsSource(source, target, db, { skip: ['schema'] });
  return replicating;
}

const reverseOf = (m: MigrationResource, db: string) => m.properties.currentStatus.currentSubStateDetails.dbDetails[db]?.reverseReplication;

/** Polls the resource until `check` holds for the database's reverse stream. */
function waitForReverse(h: Host, name: string, db: string, what: string, check: (r: NonNullable<ReturnType<typeof reverseOf>>) => boolean): Promise<MigrationResource> {
  return waitFor(what, async () => {
    const m = await getMigration(h, 'tgt', name);
    const r = reverseOf(m, db);
    return r && check(r) ? m : undefined;
  }, 120_000, 300);
}

/** `pgferry …` in this process against the test host: its exit code and what it printed. */
async function pgferry(h: Host, ...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t), write: (t: string) => lines.push(t), isTTY: false, columns: 0 };
  const code = await main([...args, '--url', h.url], io, { sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 500))) });
  return { code, out: lines.join('\n') };
}

/**
 * The replication origins of migration `tgt/<migration>` on a server. Origins are named like the
 * slots, pgferry_[rev_]<server>_<name>_<database>_<hash>; other test files run at the same time on
 * the same servers, and a bare `%fb3%` also matches their hashes.
 */
async function originsOf(server: ServerInfo, migration: string): Promise<string[]> {
  const { rows } = await sql(server, 'postgres', `SELECT roname FROM pg_replication_origin WHERE roname LIKE 'pgferry%' AND strpos(roname, $1) > 0`, [`_tgt_${migration}_`]);
  return rows.map((r: { roname: string }) => r.roname);
}

/** Nothing of pgferry on either server for this database: slots, publications, origins, bookkeeping schemas. */
async function expectNothingLeft(db: string, migration: string): Promise<void> {
  for (const server of [source, target] as ServerInfo[]) {
    expect(await slotsOn(server, db)).toEqual([]);
    expect(await originsOf(server, migration)).toEqual([]);
    const schemas = await sql(server, db, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pgferry%'`);
    expect(schemas.rows).toEqual([]);
  }
}

/** Replica identity of every table, as text, for comparing the target with the source. */
async function identities(server: ServerInfo, db: string): Promise<string[]> {
  const { rows } = await sql(server, db, `SELECT c.relname || ' ' || c.relreplident::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`);
  return rows.map((r: { t: string }) => r.t);
}

describe('fallback after cutover', () => {
  it('replicates the target\'s writes back, falls back on PATCH, and the source equals the target with nothing left', async () => {
    const db = await dbs.create('fallback1', FIXTURE_SQL);
    const replicating = await migrateAndCutOver('fb1', db);
    const started = reverseOf(replicating, db);
    expect(started?.slotName).toMatch(/^pgferry_rev_/);
    // The way back exists before anyone writes the target: its slot is on the target, the target's tables FULL.
    expect(await slotsOn(target, db)).toContain(started?.slotName);
    expect(await identities(target, db)).toContain('accounts f');
    // A migration in its window is active: it holds a slot and a stream.
    const active = await http(`${host.api}/flexibleServers/tgt/migrations?migrationListFilter=Active`);
    expect(active.json<{ value: MigrationResource[] }>().value.map((m) => m.name)).toContain('fb1');

    for (let i = 0; i < 5; i++) await sql(target, db, TARGET_WRITES);
    const flowed = await waitForReverse(host, 'fb1', db, 'target writes applied to the source', (r) => r.appliedChanges > 0 && r.latency === 0);
    expect(reverseOf(flowed, db)).toMatchObject({ state: 'Replicating', conflicts: 0 });
    expect(reverseOf(flowed, db)?.retainedWalBytes).toBeGreaterThanOrEqual(0);
    // The reverse apply's origin on the source is found by the name expectNothingLeft looks for.
    expect(await originsOf(source, 'fb1')).toContain(started?.slotName);
    // Writes after the last wake-up come along in the drain.
    await sql(target, db, TARGET_WRITES);

    const patch = await http(migrationUrl(host, 'tgt', 'fb1'), { method: 'PATCH', body: { properties: { triggerFallback: 'True' } } });
    expect(patch.status, patch.text).toBe(200);
    expect(patch.json<MigrationResource>().properties.triggerFallback).toBe('True');
    const done = await waitForState(host, 'tgt', 'fb1', 'Succeeded', 'FellBackToSource');
    expect(done.properties.fallback?.completedOn).toBeDefined();
    expect(done.properties.fallback?.durationSeconds).toBeGreaterThanOrEqual(0);
    expect(reverseOf(done, db)).toMatchObject({ state: 'FellBack', conflicts: 0, retainedWalBytes: 0 });
    expect(reverseOf(done, db)?.message).toMatch(/^The source is ready for the application/);

    // Every row, sequence and schema fact (replica identities, trigger states) of the source is the target's.
    await expectTargetEqualsSource(source, target, db);
    const onSource = await sql(source, db, `SELECT count(*)::int AS n FROM accounts WHERE name LIKE 'on target %'`);
    expect(onSource.rows[0]).toEqual({ n: 6 });
    await expectNothingLeft(db, 'fb1');
    // The source continues where the target's sequences were: the next id is free on both.
    const next = await sql(source, db, `INSERT INTO events (account_id, payload) VALUES (1, 'after fall back') RETURNING id`);
    expect(next.rows).toHaveLength(1);
  }, 400_000);

  it('finalize keeps the target and leaves nothing of pgferry on either server', async () => {
    const db = await dbs.create('fallback2', FIXTURE_SQL);
    await migrateAndCutOver('fb2', db);
    await sql(target, db, TARGET_WRITES);
    await waitForReverse(host, 'fb2', db, 'target writes applied to the source', (r) => r.appliedChanges > 0);
    // A fall back and a finalize at once are refused; a cutover or cancel is not for a Succeeded migration.
    const both = await http(migrationUrl(host, 'tgt', 'fb2'), { method: 'PATCH', body: { properties: { triggerFallback: 'True', finalizeCutover: 'True' } } });
    expect(both.status, both.text).toBe(400);
    const cutAgain = await http(migrationUrl(host, 'tgt', 'fb2'), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } });
    expect(cutAgain.status, cutAgain.text).toBe(409);

    const shown = await pgferry(host, 'show', '--server', 'tgt', '--name', 'fb2');
    expect(shown.code, shown.out).toBe(0);
    expect(shown.out).toMatch(/Way back to the source \(fallbackAfterCutover\):\n.*DATABASE +STATE +LATENCY \(MIN\) +RETAINED WAL +APPLIED +CONFLICTS\n +\S+ +Replicating /);
    // The CLI's finalize is the PATCH finalizeCutover; watch follows it to the end.
    const finalize = await pgferry(host, 'finalize', '--server', 'tgt', '--name', 'fb2');
    expect(finalize.code, finalize.out).toBe(0);
    expect(finalize.out).toMatch(/^Finalize requested: fb2: Succeeded \/ ReplicatingToSource/);
    const watched = await pgferry(host, 'watch', '--server', 'tgt', '--name', 'fb2', '--interval', '0.5');
    expect(watched.code, watched.out).toBe(0);
    const done = await waitForState(host, 'tgt', 'fb2', 'Succeeded', 'Completed');
    expect(reverseOf(done, db)).toMatchObject({ state: 'Finalized', retainedWalBytes: 0 });
    expect(done.properties.finalizeCutover).toBe('True');
    await expectNothingLeft(db, 'fb2');
    expect(await identities(target, db)).toEqual(await identities(source, db));
    // The window is over: neither ending can be asked again.
    const late = await http(migrationUrl(host, 'tgt', 'fb2'), { method: 'PATCH', body: { properties: { triggerFallback: 'True' } } });
    expect(late.status, late.text).toBe(409);
  }, 400_000);

  it('a row written directly on the source is reported as a conflict and never overwritten; DELETE finalizes', async () => {
    const db = await dbs.create('fallback3', FIXTURE_SQL);
    await migrateAndCutOver('fb3', db);
    await sql(source, db, `UPDATE accounts SET name = 'written on the source' WHERE id = 1`);
    await sql(target, db, `UPDATE accounts SET name = 'written on the target' WHERE id = 1; UPDATE accounts SET name = 'fine' WHERE id = 2`);
    const seen = await waitForReverse(host, 'fb3', db, 'a conflict reported', (r) => r.conflicts > 0);
    const r = reverseOf(seen, db);
    expect(r?.conflicts).toBe(1);
    expect(r?.recentConflicts[0]).toMatchObject({ table: '"public"."accounts"', operation: 'update', key: 'id=1' });
    expect(r?.recentConflicts[0]?.reason).toMatch(/differs from the target's row before this change/);
    const shown = await pgferry(host, 'show', '--server', 'tgt', '--name', 'fb3');
    expect(shown.out).toContain(`${db}: conflict update on "public"."accounts" (id=1)`);
    const rows = await sql(source, db, `SELECT id, name FROM accounts WHERE id IN (1, 2) ORDER BY id`);
    expect(rows.rows).toEqual([{ id: '1', name: 'written on the source' }, { id: '2', name: 'fine' }]);

    const del = await http(migrationUrl(host, 'tgt', 'fb3'), { method: 'DELETE' });
    expect(del.status, del.text).toBe(200);
    await waitForState(host, 'tgt', 'fb3', 'Succeeded', 'Completed');
    await expectNothingLeft(db, 'fb3');
    const gone = await http(migrationUrl(host, 'tgt', 'fb3'), { method: 'DELETE' });
    expect(gone.status, gone.text).toBe(204);
  }, 400_000);

  it('a way back that holds more WAL on the target than PGFERRY_FALLBACK_MAX_WAL_MB is closed: slot dropped, reason shown', async () => {
    const bounded = await startHost({ storage: azurite.connectionString, env: { PGFERRY_FALLBACK_MAX_WAL_MB: '64' } });
    const db = await dbs.create('fallback4', FIXTURE_SQL);
    await migrateAndCutOver('fb4', db, bounded);
    // A table made on the target only: its rows cannot go back (the stream is blocked, and says
    // why), so the slot keeps the WAL they fill (~150 MB; the bound leaves room for what other
    // tests write on the shared target cluster meanwhile).
    await sql(target, db, `CREATE TABLE only_on_target (id int PRIMARY KEY, pad text)`);
    await sql(target, db, `INSERT INTO only_on_target SELECT g, repeat(md5(g::text), 30) FROM generate_series(1, 150000) g`);
    const done = await waitForState(bounded, 'tgt', 'fb4', 'Succeeded', 'Completed');
    const r = reverseOf(done, db);
    expect(r?.state).toBe('Failed');
    expect(r?.message).toMatch(/more than PGFERRY_FALLBACK_MAX_WAL_MB \(64 MB\): it was dropped/);
    expect(done.properties.fallback?.error).toMatch(/PGFERRY_FALLBACK_MAX_WAL_MB/);
    await expectNothingLeft(db, 'fb4');
  }, 400_000);
});
