/**
 * Issues #7 and #14: the orchestrators replay deterministically.
 *
 * Records real histories by running two migrations through the offline host (dist/ in its own
 * process, as in production): an Offline one of two small databases and an Online one that streams
 * changes, idles on timers and is cut over. The final executions of every kind of instance (the
 * migration's watch, the database orchestrations, a copy lane, the CDC loop) and two executions
 * caught while they wait (the migration's watch and an idle CDC loop) are read from the host's
 * Table Storage and replayed through the
 * real durable-functions engine with pgferry's own orchestrator functions, loaded from dist/ the way
 * the host loads them. The replay must schedule exactly what the history recorded, in order
 * (activity names and inputs, sub-orchestration names, ids and inputs, timer fire times), and end
 * the same way; whole and episode by episode. Negative controls replay the same histories against
 * deliberately changed orchestrators and show the difference is caught (the SDK alone would not).
 */
import type { OrchestrationContext, OrchestrationHandler, RetryOptions, Task } from 'durable-functions';
import { beforeAll, describe, expect, it, inject } from 'vitest';

import { EventType } from '../../emulator/durable/history';
import { ACTIVITIES, ORCHESTRATORS, cdcInstanceId, copyLaneInstanceId, databaseInstanceId, migrationInstanceId, type DatabaseInput } from '../../shared/steps/contracts';
import { sql } from '../support/databases';
import { migrationBody, migrationUrl, useDatabases, waitForState } from '../support/e2e';
import { http, useHost, waitFor } from '../support/host';
import { eventTypes, historyProblems, loadPgferryApp, readRecording, recordedOutcome, verifyReplay, type PgferryApp, type Recording } from '../support/replay';

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
const OFFLINE_LANE0 = copyLaneInstanceId(OFFLINE_DB0, 0);
/** Instances recorded once they completed (their last execution). */
const INSTANCES = [OFFLINE, OFFLINE_DB0, OFFLINE_DB1, OFFLINE_LANE0, ONLINE, ONLINE_DB0, ONLINE_CDC0];
/** Executions recorded while they wait on a timer (keys of the recordings map). */
const WATCHING = `${ONLINE} (watching)`;
const IDLE_CDC = `${ONLINE_CDC0} (idle)`;

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
  // Executions that wait: the migration's watch and the caught-up CDC loop, each on its timer.
  recordings.set(WATCHING, await waiting(ONLINE));
  recordings.set(IDLE_CDC, await waiting(ONLINE_CDC0));
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

/** The current execution of `id` once it has created a timer it is still waiting on. */
function waiting(id: string): Promise<Recording> {
  return waitFor(`${id} waiting on a timer`, async () => {
    // Between reading the instance and its history the execution may continue as new: try again.
    const r = await record(id).catch(() => undefined);
    const timer = r?.history.some((e) => e.EventType === EventType.TimerCreated) && !r.history.some((e) => e.EventType === EventType.TimerFired);
    return r && timer && recordedOutcome(r.history).kind === 'running' ? r : undefined;
  }, 120_000, 100);
}

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
    expect(recording(OFFLINE_LANE0).name).toBe(ORCHESTRATORS.copyLane);
    expect(recording(ONLINE_CDC0).name).toBe(ORCHESTRATORS.cdc);
    // Databases are orchestrations of their own (started by an activity); lanes and CDC are their children.
    expect(recording(OFFLINE_DB1).parentInstanceId).toBeUndefined();
    expect(recording(OFFLINE_LANE0).parentInstanceId).toBe(OFFLINE_DB0);
    expect(recording(ONLINE_CDC0).parentInstanceId).toBe(ONLINE_DB0);

    const activities = (id: string) => recording(id).history.filter((e) => e.EventType === EventType.TaskScheduled).map((e) => e.Name);
    expect(activities(OFFLINE)).toEqual(expect.arrayContaining([ACTIVITIES.watchDatabases, ACTIVITIES.finishMigration]));
    expect(activities(OFFLINE_DB0)).toEqual(expect.arrayContaining([ACTIVITIES.planCopy, ACTIVITIES.verifyTables, ACTIVITIES.completeDatabase, ACTIVITIES.databaseFinished]));
    expect(activities(OFFLINE_LANE0)).toContain(ACTIVITIES.copyChunk);
    expect(eventTypes(recording(ONLINE_DB0).history).filter((t) => t === 'SubOrchestrationInstanceCreated').length).toBeGreaterThanOrEqual(2);
    expect(activities(ONLINE_CDC0)).toEqual(expect.arrayContaining([ACTIVITIES.applyBatch, ACTIVITIES.beginCutover, ACTIVITIES.verifyTables, ACTIVITIES.completeDatabase]));
    for (const id of [WATCHING, IDLE_CDC]) {
      expect(eventTypes(recording(id).history), id).toContain('TimerCreated');
      expect(recordedOutcome(recording(id).history), id).toEqual({ kind: 'running' });
    }
  });
});

describe('replaying the recorded histories with pgferry’s orchestrators', () => {
  it.each(INSTANCES)('%s: the same work in the same order and the same result, whole and episode by episode', async (id) => {
    const rec = recording(id);
    const v = await verifyReplay(pgferry, rec);
    expect(v.replay.outcome.kind, JSON.stringify(v.replay.outcome)).toBe('done');
    expect(v.expected.schedule.length).toBeGreaterThan(1);
    expect(v.expected.outcome).toEqual({ kind: 'completed', output: JSON.parse(String(rec.output)) });
    expect(v.replay.view).toEqual(v.expected);
    expect(v.whole).toEqual([]);
    expect(v.episodes).toEqual([]);
  });

  it.each([WATCHING, IDLE_CDC])('%s: an execution caught waiting replays to the same wait', async (key) => {
    const v = await verifyReplay(pgferry, recording(key));
    expect(v.expected.outcome).toEqual({ kind: 'running' });
    expect(v.expected.schedule.some((s) => s.kind === 'timer')).toBe(true);
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
  it('a database orchestrator that applies the roles before it prepares the database is caught at the first task', async () => {
    const { databaseOrchestrator } = pgferry.distModule<{ databaseOrchestrator: OrchestrationHandler }>('orchestrators/database.js');
    // A copy with steps 1a and 1b swapped: the roles are applied before the target database exists.
    const swapped: OrchestrationHandler = function* (context) {
      const input = context.df.getInput<DatabaseInput>();
      const df = context.df;
      let held: [string, RetryOptions, unknown] | undefined;
      let released = false;
      const callActivityWithRetry = (name: string, retry: RetryOptions, payload: unknown): Task => {
        if (!held && name === ACTIVITIES.prepareTargetDatabase) {
          held = [name, retry, payload];
          return df.callActivityWithRetry(ACTIVITIES.applyDatabaseRoles, retry, { server: input.server, name: input.name, databases: [input.db] });
        }
        if (held && !released && name === ACTIVITIES.applyDatabaseRoles) {
          released = true;
          return df.callActivityWithRetry(...held);
        }
        return df.callActivityWithRetry(name, retry, payload);
      };
      return yield* databaseOrchestrator(withDf(context, { callActivityWithRetry }));
    };
    const fn = pgferry.register('replayControlSwappedDatabase', swapped);
    for (const id of [OFFLINE_DB0, ONLINE_DB0]) {
      const v = await verifyReplay(pgferry, recording(id), { fn });
      expect(v.whole[0]).toMatch(/^schedule\[0\]: recorded .*"prepareTargetDatabase".*, replay .*"applyDatabaseRoles"/);
      expect(v.whole[1]).toMatch(/^schedule\[1\]: recorded .*"applyDatabaseRoles".*, replay .*"prepareTargetDatabase"/);
      expect(v.episodes[0]).toMatch(/^episode 0: schedule\[0\]: recorded .*"prepareTargetDatabase".*, replay .*"applyDatabaseRoles"/);
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
    const v = await verifyReplay(pgferry, recording(IDLE_CDC), { fn });
    expect(v.whole.length).toBeGreaterThan(0);
    for (const m of v.whole) expect(m).toMatch(/^schedule\[\d+\]: recorded \{"kind":"timer","fireAt":"[^"]+"\}, replay \{"kind":"timer","fireAt":"[^"]+"\}$/);
    expect(v.episodes.length).toBeGreaterThan(0);
  });
});
