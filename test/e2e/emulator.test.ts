/**
 * The offline host (emulator/) as a real process on the fixture app (test/fixtures/durable-app):
 * HTTP triggers routed as in Azure, orchestrations driven through the real durable-functions
 * replay engine, the Durable client and its HTTP API, and state in Azurite's Table Storage.
 * Crash and restart behaviour is in emulator-restart.test.ts.
 */
import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';

import { FIXTURE_APP, call, getStatus, startInstance, waitForStatus, webhook, type Status } from '../fixtures/durable-app/harness';
import { useHost } from '../support/host';

const azurite = inject('azurite');
const hub = `Emu${Date.now().toString(36)}`;
const host = useHost({ app: FIXTURE_APP, hub });

/** Runs an orchestration to its end through the app's starter and the status URL it returns. */
async function run(name: string, input?: unknown, instanceId?: string): Promise<Status> {
  const started = await startInstance(host.url, name, input, instanceId);
  return waitForStatus(host.url, started.id);
}

describe('HTTP triggers', () => {
  it('routes {param}, an optional {param:int?}, query strings and headers', async () => {
    const r = await call(`${host.url}/api/hello/bob/3?q=x&tag=a&tag=b`, { headers: { 'x-test': 'yes' } });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ name: 'bob', count: '3', q: 'x', tags: ['a', 'b'], header: 'yes', method: 'GET' });
    expect((await call(`${host.url}/api/hello/al%20ice`)).json()).toMatchObject({ name: 'al ice', count: null });
  });

  it('matches literal segments case-insensitively and requires the route prefix', async () => {
    expect((await call(`${host.url}/API/Hello/bob`)).status).toBe(200);
    expect((await call(`${host.url}/hello/bob`)).status).toBe(404);
  });

  it('gives catch-all parameters the rest of the path', async () => {
    expect((await call(`${host.url}/api/files/a/b/c.txt`)).json()).toEqual({ path: 'a/b/c.txt' });
    expect((await call(`${host.url}/api/files`)).json()).toEqual({ path: null });
  });

  it('prefers a literal route over a parameter', async () => {
    expect((await call(`${host.url}/api/items/special`)).json()).toEqual({ route: 'special' });
    expect((await call(`${host.url}/api/items/42`)).json()).toEqual({ route: 'byId', id: '42' });
  });

  it('passes JSON, text and binary bodies and returns status, headers and body', async () => {
    const j = await call(`${host.url}/api/echo`, { body: { a: [1, 2] } });
    expect(j.status).toBe(201);
    expect(j.headers.get('x-echo')).toBe('json');
    expect(j.headers.get('content-type')).toMatch(/application\/json/);
    expect(j.json()).toEqual({ got: { a: [1, 2] } });

    const t = await call(`${host.url}/api/echo`, { method: 'PUT', body: 'héllo', headers: { 'content-type': 'text/plain' } });
    expect(t.text).toBe('text:héllo');

    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const res = await fetch(`${host.url}/api/echo`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
  });

  it('answers 404 for unknown routes and for methods a function does not accept', async () => {
    expect((await call(`${host.url}/api/nope`)).status).toBe(404);
    expect((await call(`${host.url}/api/hello/bob`, { method: 'DELETE' })).status).toBe(404);
    expect((await call(`${host.url}/elsewhere`)).status).toBe(404);
  });

  it('turns a throwing handler into a generic 500 and logs the error with its stack', async () => {
    const r = await call(`${host.url}/api/boom`);
    expect(r.status).toBe(500);
    expect(r.text).not.toContain('secret detail');
    expect(host.logs()).toMatch(/Error: secret detail that must not reach the caller\n\s+at /);
    expect(host.logs()).toMatch(/Executed 'throwing' \(Failed, Id=[0-9a-f-]+, Status=500, Duration=\d+ms\)/);
  });

  it('sends cookies, answers 204 when a handler returns nothing, and routes by function name by default', async () => {
    expect((await call(`${host.url}/api/cookie`)).headers.get('set-cookie')).toBe('session=abc; Path=/; HttpOnly');
    expect((await call(`${host.url}/api/nothing`)).status).toBe(204);
    expect((await call(`${host.url}/api/defaultRoute`, { method: 'POST', body: 'x' })).text).toBe('default POST');
  });
});

describe('orchestrations', () => {
  it('starts with a 202 check-status response whose URLs point at this host', async () => {
    const r = await call(`${host.url}/api/orchestrators/Sequence`, { body: ['a'] });
    expect(r.status).toBe(202);
    const p = r.json<{ id: string; statusQueryGetUri: string; sendEventPostUri: string }>();
    expect(r.headers.get('location')).toBe(p.statusQueryGetUri);
    expect(r.headers.get('retry-after')).toBe('10');
    expect(p.statusQueryGetUri.startsWith(`${host.url}/runtime/webhooks/durabletask/instances/${p.id}?`)).toBe(true);
    expect(p.sendEventPostUri).toContain(`/instances/${p.id}/raiseEvent/{eventName}`);
    await waitForStatus(host.url, p.id);
    const done = await call(p.statusQueryGetUri);
    expect(done.status).toBe(200);
    expect(done.json()).toMatchObject({ runtimeStatus: 'Completed', output: ['Hello a', null] });
  });

  it('runs a sequence with string inputs passed through unchanged', async () => {
    const s = await run('Sequence', ['Tokyo', 'Seattle', '"quoted"']);
    expect(s.output).toEqual(['Hello Tokyo', 'Hello Seattle', 'Hello "quoted"', null]);
    const text = await call(`${host.url}/api/run/Sequence`, { body: ['London'] });
    expect(text.status).toBe(200);
    expect(text.json()).toEqual(['Hello London', null]);
  });

  it('fans out 20 activities with at most maxConcurrentActivityFunctions (4) at a time', async () => {
    const s = await run('FanOut', { count: 20, ms: 250 });
    const results = s.output as Array<{ i: number; start: number; end: number }>;
    expect(results.map((r) => r.i)).toEqual([...Array(20).keys()]);
    const edges = results.flatMap((r) => [{ t: r.start, d: 1 }, { t: r.end, d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d);
    let now = 0;
    let peak = 0;
    for (const e of edges) peak = Math.max(peak, (now += e.d));
    expect(peak).toBeLessThanOrEqual(4);
    expect(peak).toBeGreaterThanOrEqual(3);
  });

  it('races an external event against a timer (both outcomes, the loser cancelled)', async () => {
    const a = await startInstance(host.url, 'EventOrTimer', { timeoutMs: 60_000 });
    await waitForStatus(host.url, a.id, (s) => s.runtimeStatus === 'Running');
    const raised = await call(webhook(host.url, `instances/${a.id}/raiseEvent/Approval`), { body: { ok: true } });
    expect(raised.status).toBe(202);
    expect((await waitForStatus(host.url, a.id)).output).toEqual({ outcome: 'event', data: { ok: true } });

    const t0 = Date.now();
    const b = await run('EventOrTimer', { timeoutMs: 700 });
    expect(b.output).toMatchObject({ outcome: 'timeout' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
  });

  it('buffers an event raised before the orchestrator waits for it', async () => {
    const a = await startInstance(host.url, 'EarlyEvent');
    expect((await call(webhook(host.url, `instances/${a.id}/raiseEvent/Early`), { body: JSON.stringify('early bird') })).status).toBe(202);
    expect((await call(webhook(host.url, `instances/${a.id}/raiseEvent/Early`), { body: 'not json' })).status).toBe(400);
    expect((await waitForStatus(host.url, a.id)).output).toEqual({ data: 'early bird' });
  });

  it('runs sub-orchestrations with a generated and an explicit instance id', async () => {
    const s = await run('Parent', undefined, 'parent-1');
    expect(s.output).toEqual([
      { greeting: 'Hello anonymous', parent: 'parent-1', self: 'parent-1:0' },
      { greeting: 'Hello named', parent: 'parent-1', self: 'parent-1-named' },
    ]);
    expect((await getStatus(host.url, 'parent-1:0')).status).toMatchObject({ runtimeStatus: 'Completed', name: 'Child' });
  });

  it('fails the parent task when a sub-orchestration fails', async () => {
    const s = await run('FailingChildParent');
    expect(s.output).toEqual({ caught: "OrchestrationFailure: Orchestrator function 'Failing' failed: orchestrator exploded", taskFailed: true });
  });

  it('retries activities: success on attempt 3, and exhaustion after the last attempt', async () => {
    const ok = await run('Retry', { succeedOn: 3, max: 5 });
    expect(ok.output).toEqual({ ok: true, attempts: 3, after: 'Hello after' });
    const exhausted = await run('Retry', { succeedOn: 10, max: 2 });
    expect(exhausted.output).toEqual({ ok: false, message: 'Error: attempt 2 failed' });
  });

  it('retries sub-orchestrations', async () => {
    expect((await run('SubRetry', { succeedOn: 2, max: 3 })).output).toEqual({ ok: true, attempts: 2 });
    expect((await run('SubRetry', { succeedOn: 5, max: 2 })).output).toMatchObject({ ok: false });
  });

  it('surfaces an activity error as a TaskFailedError the orchestrator can catch', async () => {
    const s = await run('CatchActivityError');
    expect(s.output).toEqual({ taskFailed: true, message: 'TypeError: kaboom', errorType: 'TypeError' });
  });

  it('continues as new from 0 to 5 with a fresh history each time', async () => {
    const s = await run('Counter', 0, 'counter-1');
    expect(s).toMatchObject({ runtimeStatus: 'Completed', output: 5, input: 5 });
    const withHistory = await getStatus(host.url, 'counter-1', '?showHistory=true');
    expect(withHistory.status.historyEvents?.filter((e) => e.EventType === 'TaskCompleted')).toHaveLength(1);
  });

  it('marks a throwing orchestrator Failed with the error in its output', async () => {
    const s = await run('Failing');
    expect(s).toMatchObject({ runtimeStatus: 'Failed', output: "Orchestrator function 'Failing' failed: orchestrator exploded" });
    const waited = await call(`${host.url}/api/run/Failing`, { method: 'POST' });
    expect(waited.status).toBe(500);
    expect(waited.json()).toMatchObject({ runtimeStatus: 'Failed' });
  });

  it('terminates a running instance; later events and terminations answer 410', async () => {
    const a = await startInstance(host.url, 'WaitForever');
    await waitForStatus(host.url, a.id, (s) => s.customStatus === 'waiting');
    expect((await call(webhook(host.url, `instances/${a.id}/terminate?reason=enough`), { method: 'POST' })).status).toBe(202);
    expect(await waitForStatus(host.url, a.id)).toMatchObject({ runtimeStatus: 'Terminated', output: 'enough' });
    expect((await call(webhook(host.url, `instances/${a.id}/terminate?reason=again`), { method: 'POST' })).status).toBe(410);
    expect((await call(webhook(host.url, `instances/${a.id}/raiseEvent/x`), { method: 'POST' })).status).toBe(410);
  });

  it('stores bodies larger than a Table Storage property and an entity', async () => {
    for (const size of [100_000, 1_500_000]) {
      const s = await run('Big', { size });
      expect(s).toMatchObject({ runtimeStatus: 'Completed', output: { length: size } });
    }
  });

  it('logs one line per invocation with the instance id, and no activity inputs', async () => {
    const s = await run('Sequence', ['SECRET-INPUT-123']);
    expect(host.logs()).toMatch(new RegExp(`Executed 'SayHello' \\(Succeeded, Id=[0-9a-f-]+, Instance=${s.instanceId}, Duration=\\d+ms\\)`));
    expect(host.logs()).toMatch(new RegExp(`Executed 'Sequence' \\(Succeeded, Id=[0-9a-f-]+, Instance=${s.instanceId}, Duration=\\d+ms\\)`));
    expect(host.logs()).not.toContain('SECRET-INPUT-123');
  });
});

describe('Durable client', () => {
  it('builds management URLs for this host, not localhost:7071 (WEBSITE_HOSTNAME is set)', async () => {
    const p = (await call(`${host.url}/api/client/payload/abc`)).json<Record<string, string>>();
    expect(p.id).toBe('abc');
    expect(p.statusQueryGetUri).toBe(`${host.url}/runtime/webhooks/durabletask/instances/abc?taskHub=${hub}&connection=Storage`);
    expect(p.terminatePostUri).toBe(`${host.url}/runtime/webhooks/durabletask/instances/abc/terminate?reason={text}&taskHub=${hub}&connection=Storage`);
  });

  it('works through df.getClient on a plain HTTP trigger with a durableClient input', async () => {
    const r = await call(`${host.url}/api/plain/Sequence`, { body: ['plain'] });
    expect(r.status).toBe(202);
    expect((await waitForStatus(host.url, r.json<{ id: string }>().id)).output).toEqual(['Hello plain', null]);
  });

  it('getStatus, getStatusAll, getStatusBy, raiseEvent, terminate and purge through the SDK', async () => {
    const a = await startInstance(host.url, 'Approval', undefined, 'sdk-approval');
    await waitForStatus(host.url, a.id, (s) => s.runtimeStatus === 'Running');
    const st = await call(`${host.url}/api/client/status/${a.id}`);
    expect(st.json()).toMatchObject({ instanceId: a.id, runtimeStatus: 'Running', customStatus: 'waiting for approval' });
    expect((await call(`${host.url}/api/client/raise/${a.id}?event=Approve`, { body: { by: 'sdk' } })).status).toBe(202);
    expect((await waitForStatus(host.url, a.id)).output).toEqual({ greeting: 'Hello sdk', data: { by: 'sdk' } });

    const all = (await call(`${host.url}/api/client/all`)).json<Status[]>();
    expect(all.map((s) => s.instanceId)).toContain(a.id);
    const completed = (await call(`${host.url}/api/client/by?status=Completed`)).json<Status[]>();
    expect(completed.every((s) => s.runtimeStatus === 'Completed')).toBe(true);
    expect(completed.map((s) => s.instanceId)).toContain(a.id);

    const w = await startInstance(host.url, 'WaitForever', undefined, 'sdk-wait');
    await waitForStatus(host.url, w.id, (s) => s.runtimeStatus === 'Running');
    expect((await call(`${host.url}/api/client/terminate/${w.id}?reason=sdk`, { method: 'POST' })).status).toBe(202);
    expect(await waitForStatus(host.url, w.id)).toMatchObject({ runtimeStatus: 'Terminated', output: 'sdk' });

    expect((await call(`${host.url}/api/client/purge/${a.id}`, { method: 'DELETE' })).json()).toEqual({ instancesDeleted: 1 });
    expect((await getStatus(host.url, a.id)).code).toBe(404);
    expect((await call(`${host.url}/api/client/purge/${a.id}`, { method: 'DELETE' })).json()).toMatchObject({ instancesDeleted: 0 });
    expect((await call(`${host.url}/api/client/purgeBy?status=Terminated`, { method: 'DELETE' })).json<{ instancesDeleted: number }>().instancesDeleted).toBeGreaterThanOrEqual(1);
    expect((await getStatus(host.url, w.id)).code).toBe(404);
  });

  it('answers status with history, pages lists, and rejects what it cannot do', async () => {
    await Promise.all([run('Sequence', ['p1']), run('Sequence', ['p2'])]);
    const s = await run('Sequence', ['h']);
    const h = await getStatus(host.url, s.instanceId, '?showHistory=true&showHistoryOutput=true');
    expect(h.status.historyEvents?.map((e) => e.EventType)).toEqual(['ExecutionStarted', 'TaskCompleted', 'TaskCompleted', 'ExecutionCompleted']);
    expect(h.status.historyEvents?.[1]).toMatchObject({ FunctionName: 'SayHello', Result: 'Hello h' });

    const page = await call(webhook(host.url, 'instances?top=2&runtimeStatus=Completed'));
    expect(page.json<Status[]>()).toHaveLength(2);
    const token = page.headers.get('x-ms-continuation-token');
    expect(token).toBeTruthy();
    const next = await call(webhook(host.url, 'instances?top=2&runtimeStatus=Completed'), { headers: { 'x-ms-continuation-token': token ?? '' } });
    expect(next.json<Status[]>()[0]?.instanceId).not.toBe(page.json<Status[]>()[0]?.instanceId);

    expect((await getStatus(host.url, 'no-such-instance')).code).toBe(404);
    expect((await call(webhook(host.url, 'instances/no-such-instance/raiseEvent/x'), { method: 'POST' })).status).toBe(404);
    expect((await call(webhook(host.url, 'orchestrators/NoSuchOrchestrator'), { method: 'POST' })).status).toBe(400);
    expect((await call(webhook(host.url, `instances/${s.instanceId}/suspend`), { method: 'POST' })).status).toBe(501);

    await startInstance(host.url, 'WaitForever', undefined, 'dup-1');
    expect((await call(webhook(host.url, 'orchestrators/WaitForever/dup-1'), { method: 'POST' })).status).toBe(409);
    expect((await call(`${host.url}/api/orchestrators/WaitForever/dup-1`, { method: 'POST' })).status).toBe(500);
  });

  it('keeps its state in Table Storage under the task hub name', async () => {
    const s = await run('Sequence', ['table']);
    const table = TableClient.fromConnectionString(azurite.connectionString, `${hub}Orchestrations`, { allowInsecureConnection: true });
    const row = await table.getEntity<{ RuntimeStatus: string; Name: string }>(s.instanceId, 's');
    expect(row).toMatchObject({ RuntimeStatus: 'Completed', Name: 'Sequence' });
  });
});

describe('overhead', () => {
  it('costs a few milliseconds per activity (200 sequential, 200 fanned out)', async () => {
    const timed = async (name: string, n: number) => {
      const t0 = performance.now();
      const s = await run(name, n);
      expect(s.runtimeStatus).toBe('Completed');
      return (performance.now() - t0) / n;
    };
    await timed('BenchSequence', 5);
    const seq = await timed('BenchSequence', 200);
    const fan = await timed('BenchFanOut', 200);
    console.log(`emulator overhead: sequential ${seq.toFixed(2)} ms/activity, fan-out ${fan.toFixed(2)} ms/activity (200 activities each)`);
    expect(seq).toBeLessThan(100);
    expect(fan).toBeLessThan(100);
  }, 120_000);
});
