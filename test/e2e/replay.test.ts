/**
 * Issue #7: the orchestrators replay deterministically.
 *
 * Records real histories by running two migrations through the offline host (dist/ in its own
 * process, as in production): an Offline one of two small databases and an Online one that streams
 * changes, idles on timers and is cut over. The six instances' histories (migration, database
 * sub-orchestrations, the CDC loop) are read from the host's Table Storage and replayed through the
 * real durable-functions engine with pgferry's own orchestrator functions, loaded from dist/ the way
 * the host loads them. The replay must schedule exactly what the history recorded, in order
 * (activity names and inputs, sub-orchestration names, ids and inputs, timer fire times), and end
 * the same way; whole and episode by episode. Negative controls replay the same histories against
 * deliberately changed orchestrators and show the difference is caught (the SDK alone would not).
 */
import type { OrchestrationContext, OrchestrationHandler, RetryOptions, Task } from 'durable-functions';
import { beforeAll, describe, expect, it, inject } from 'vitest';

import { EventType } from '../../emulator/durable/history';
import { ACTIVITIES, ORCHESTRATORS, cdcInstanceId, databaseInstanceId, migrationInstanceId, type MigrationInput } from '../../shared/steps/contracts';
import { sql } from '../support/databases';
import { migrationBody, migrationUrl, useDatabases, waitForState } from '../support/e2e';
import { http, useHost, waitFor } from '../support/host';
import { eventTypes, historyProblems, loadPgferryApp, readRecording, verifyReplay, type PgferryApp, type Recording } from '../support/replay';

const source = inject('source');
const target = inject('target');
const azurite = inject('azurite');

const SERVER = 'replay';
const OFFLINE = migrationInstanceId(SERVER, 'offline');
const ONLINE = migrationInstanceId(SERVER, 'online');
const OFFLINE_DB0 = databaseInstanceId(OFFLINE, 0);
const OFFLINE_DB1 = databaseInstanceId(OFFLINE, 1);
const ONLINE_DB0 = databaseInstanceId(ONLINE, 0);
const ONLINE_CDC0 = cdcInstanceId(ONLINE, 0);
const INSTANCES = [OFFLINE, OFFLINE_DB0, OFFLINE_DB1, ONLINE, ONLINE_DB0, ONLINE_CDC0];

const FIXTURE = `
  CREATE TABLE parent (id serial PRIMARY KEY, name text NOT NULL);
  CREATE TABLE child (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, parent_id int REFERENCES parent, v text);
  CREATE INDEX child_v ON child (v);
  INSERT INTO parent (name) SELECT 'p' || g FROM generate_series(1, 200) g;
  INSERT INTO child (parent_id, v) SELECT 1 + g % 200, md5(g::text) FROM generate_series(1, 2000) g;`;

const host = useHost();
const dbs = useDatabases(source, target);
let pgferry: PgferryApp;
const recordings = new Map<string, Recording>();

function recording(id: string): Recording {
  const r = recordings.get(id);
  if (!r) throw new Error(`no recording of ${id}`);
  return r;
}

const fixtureDb = (label: string) => dbs.create(label, FIXTURE);

async function put(name: string, body: unknown): Promise<void> {
  const r = await http(migrationUrl(host, SERVER, name), { method: 'PUT', body });
  if (r.status !== 201) throw new Error(`PUT ${name}: ${r.status} ${r.text}`);
}

const record = (id: string) => readRecording(azurite.connectionString, host.hub, id);

beforeAll(async () => {
  const [app, off0, off1, on0] = await Promise.all([
    loadPgferryApp(),
    fixtureDb('replay_off0'),
    fixtureDb('replay_off1'),
    fixtureDb('replay_on0'),
  ]);
  pgferry = app;
  await put('offline', migrationBody(source, target, [off0, off1], { mode: 'Offline' }));
  await put('online', migrationBody(source, target, [on0], { mode: 'Online' }));

  await waitForState(host, SERVER, 'online', 'WaitingForUserAction', 'WaitingForCutoverTrigger');
  await sql(source, on0, `INSERT INTO parent (name) SELECT 'live' || g FROM generate_series(1, 20) g; UPDATE child SET v = 'changed' WHERE id <= 10;`);
  // Let the caught-up CDC loop idle on at least one timer that fires, so the history has one.
  await waitFor('an idle CDC timer to fire', async () => ((await record(ONLINE_CDC0)).history.some((e) => e.EventType === EventType.TimerFired) ? true : undefined), 120_000, 500);
  const cut = await http(migrationUrl(host, SERVER, 'online'), { method: 'PATCH', body: { properties: { triggerCutover: 'True' } } });
  if (cut.status !== 200) throw new Error(`cutover: ${cut.status} ${cut.text}`);

  await waitForState(host, SERVER, 'offline', 'Succeeded', 'Completed');
  await waitForState(host, SERVER, 'online', 'Succeeded', 'Completed');
  // The resource says Succeeded from the finishing activity; the instance completes one episode later.
  for (const id of INSTANCES) {
    recordings.set(id, await waitFor(`${id} Completed`, async () => {
      const r = await record(id);
      return r.status === 'Completed' ? r : undefined;
    }, 60_000, 250));
  }
}, 300_000);

describe('recorded histories', () => {
  it('hold every kind of work the orchestrators do, and agree with the Durable HTTP API', async () => {
    for (const id of INSTANCES) {
      const rec = recording(id);
      expect(historyProblems(rec.history), id).toEqual([]);
      const status = await http(`${host.url}/runtime/webhooks/durabletask/instances/${encodeURIComponent(id)}?showHistory=true&showHistoryOutput=true&showInput=true`);
      expect(status.status, status.text).toBe(200);
      const body = status.json<{ name: string; runtimeStatus: string; input: unknown; output: unknown; historyEvents: unknown[] }>();
      expect(body).toMatchObject({ name: rec.name, runtimeStatus: 'Completed', input: JSON.parse(String(rec.input)), output: JSON.parse(String(rec.output)) });
    }
    expect(recording(OFFLINE).name).toBe(ORCHESTRATORS.migration);
    expect(recording(OFFLINE_DB0).name).toBe(ORCHESTRATORS.database);
    expect(recording(ONLINE_CDC0).name).toBe(ORCHESTRATORS.cdc);
    expect(recording(OFFLINE_DB1).parentInstanceId).toBe(OFFLINE);
    expect(recording(ONLINE_CDC0).parentInstanceId).toBe(ONLINE_DB0);

    const offline = eventTypes(recording(OFFLINE).history);
    expect(offline.filter((t) => t === 'SubOrchestrationInstanceCreated')).toHaveLength(2);
    const online = eventTypes(recording(ONLINE).history);
    expect(online).toContain('EventRaised');
    expect(recording(ONLINE).history.some((e) => e.EventType === EventType.TaskScheduled && e.Name === ACTIVITIES.recordControl)).toBe(true);
    expect(eventTypes(recording(ONLINE_DB0).history)).toContain('SubOrchestrationInstanceCreated');
    const cdc = eventTypes(recording(ONLINE_CDC0).history);
    for (const t of ['TaskScheduled', 'TimerCreated', 'TimerFired', 'EventRaised', 'ExecutionCompleted']) expect(cdc, t).toContain(t);
    expect(recording(ONLINE).history.filter((e) => e.EventType === EventType.OrchestratorStarted).length).toBeGreaterThan(3);
  });
});

describe('replaying the recorded histories with pgferry’s orchestrators', () => {
  it.each(INSTANCES)('%s: the same work in the same order and the same result, whole and episode by episode', async (id) => {
    const rec = recording(id);
    const v = await verifyReplay(pgferry, rec);
    expect(v.replay.outcome.kind, JSON.stringify(v.replay.outcome)).toBe('done');
    expect(v.expected.schedule.length).toBeGreaterThan(3);
    expect(v.expected.outcome).toEqual({ kind: 'completed', output: JSON.parse(String(rec.output)) });
    expect(v.replay.view).toEqual(v.expected);
    expect(v.whole).toEqual([]);
    expect(v.episodes).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------
// Negative controls: the same histories, orchestrators that are not what recorded them.

/** The context with `df` replaced by a proxy whose listed methods are overridden. */
function withDf(context: OrchestrationContext, overrides: Record<string, unknown>): OrchestrationContext {
  const real = context.df;
  const df = new Proxy(real, {
    get(t, p) {
      if (typeof p === 'string' && p in overrides) return overrides[p];
      const v: unknown = Reflect.get(t, p, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return Object.create(context, { df: { value: df } }) as OrchestrationContext;
}

describe('negative controls: a changed orchestrator does not pass', () => {
  it('the migration orchestrator checking prerequisites before it records its state is caught at the first task', async () => {
    const { migrationOrchestrator } = pgferry.distModule<{ migrationOrchestrator: OrchestrationHandler }>('orchestrators/migration.js');
    // A copy with steps 1a and 1b swapped: the first state change is issued after the prerequisite check.
    const swapped: OrchestrationHandler = function* (context) {
      const input = context.df.getInput<MigrationInput>();
      const df = context.df;
      let held: [string, RetryOptions, unknown] | undefined;
      let released = false;
      const callActivityWithRetry = (name: string, retry: RetryOptions, payload: unknown): Task => {
        if (!held && name === ACTIVITIES.setMigrationState) {
          held = [name, retry, payload];
          return df.callActivityWithRetry(ACTIVITIES.checkPrerequisites, retry, { server: input.server, name: input.name });
        }
        if (held && !released && name === ACTIVITIES.checkPrerequisites) {
          released = true;
          return df.callActivityWithRetry(...held);
        }
        return df.callActivityWithRetry(name, retry, payload);
      };
      return yield* migrationOrchestrator(withDf(context, { callActivityWithRetry }));
    };
    const fn = pgferry.register('replayControlSwappedMigration', swapped);
    for (const id of [OFFLINE, ONLINE]) {
      const v = await verifyReplay(pgferry, recording(id), { fn });
      expect(v.whole[0]).toMatch(/^schedule\[0\]: recorded .*"setMigrationState".*, replay .*"checkPrerequisites"/);
      expect(v.whole[1]).toMatch(/^schedule\[1\]: recorded .*"checkPrerequisites".*, replay .*"setMigrationState"/);
      expect(v.episodes[0]).toMatch(/^episode 0: schedule\[0\]: recorded .*"setMigrationState".*, replay .*"checkPrerequisites"/);
      // The SDK itself raised nothing: it hands each task the result recorded for its sequence number.
      expect(v.replay.outcome.kind).not.toBe('failed');
    }
  });

  it('a database history replayed with an input that changes the plan (Offline → Online) is caught', async () => {
    const rec = recording(OFFLINE_DB0);
    const changed = JSON.stringify({ ...(JSON.parse(String(rec.input)) as object), mode: 'Online' });
    const v = await verifyReplay(pgferry, rec, { input: changed });
    // prepareTargetDatabase, applyDatabaseRoles, then pre-data (Offline) where Online creates the slot.
    expect(v.whole[0]).toMatch(/^schedule\[2\]: recorded .*"applySchema".*, replay .*"createSlot"/);
    expect(v.whole.length).toBeGreaterThan(1);
    expect(v.episodes.some((m) => /^episode \d+: schedule\[2\]/.test(m))).toBe(true);
    // The same input as recorded passes: the difference is the plan, not the harness.
    expect((await verifyReplay(pgferry, rec, { input: rec.input })).whole).toEqual([]);
  });

  it('a CDC loop that takes its idle timer from the wall clock instead of the orchestration clock is caught', async () => {
    const { cdcOrchestrator, CDC_IDLE_MS } = pgferry.distModule<{ cdcOrchestrator: OrchestrationHandler; CDC_IDLE_MS: number }>('orchestrators/cdc.js');
    const wallClock: OrchestrationHandler = function* (context) {
      const df = context.df;
      const createTimer = (_fireAt: Date) => df.createTimer(new Date(Date.now() + CDC_IDLE_MS));
      return yield* cdcOrchestrator(withDf(context, { createTimer }));
    };
    const fn = pgferry.register('replayControlWallClockCdc', wallClock);
    const v = await verifyReplay(pgferry, recording(ONLINE_CDC0), { fn });
    expect(v.whole.length).toBeGreaterThan(0);
    for (const m of v.whole) expect(m).toMatch(/^schedule\[\d+\]: recorded \{"kind":"timer","fireAt":"[^"]+"\}, replay \{"kind":"timer","fireAt":"[^"]+"\}$/);
    expect(v.episodes.length).toBeGreaterThan(0);
  });
});
