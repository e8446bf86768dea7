/**
 * The offline host's durability: state lives in Table Storage, so a host killed with SIGKILL (or
 * stopped with SIGTERM) and started again finishes every orchestration exactly as it would have:
 * interrupted activities run again (at-least-once, as in Azure), finished ones do not, timers
 * fire at their time, waits for events and sub-orchestrations survive.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { FIXTURE_APP, call, getStatus, startInstance, waitForStatus, waitUntil, webhook } from '../fixtures/durable-app/harness';
import { ensureBuilt, startHost, stopAllHosts, type Host } from '../support/host';

const azurite = inject('azurite');
const dir = mkdtempSync(join(tmpdir(), 'pgferry-emulator-'));

beforeAll(async () => {
  await ensureBuilt();
});

afterAll(async () => {
  await stopAllHosts();
  rmSync(dir, { recursive: true, force: true });
});

function lines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

/** A hub of its own per test, so instances of one test never resume in another's host. */
let hubNo = 0;
const newHub = () => `Rst${Date.now().toString(36)}${hubNo++}`;
const start = (hub: string) => startHost({ app: FIXTURE_APP, storage: azurite.connectionString, hub });

describe('host restart', () => {
  it('re-runs an activity killed mid-flight (kill -9) and completes the orchestration once', async () => {
    const hub = newHub();
    const marker = join(dir, 'long.txt');
    let host: Host = await start(hub);
    const a = await startInstance(host.url, 'LongActivity', { ms: 3000, marker });
    await waitUntil(() => lines(marker).length === 1, 10_000, 'the activity to start');
    expect(await host.kill('SIGKILL')).toBeNull();

    host = await start(hub);
    const s = await waitForStatus(host.url, a.id);
    expect(s).toMatchObject({ runtimeStatus: 'Completed', output: { slept: 'slept 3000', hello: 'Hello after long' } });
    const [first, second, end] = lines(marker);
    expect([first?.split(' ')[0], second?.split(' ')[0], end?.split(' ')[0]]).toEqual(['start', 'start', 'end']);
    // The re-run was in a worker process of the new host (lines: start|end <worker pid> <host pid>).
    expect(second?.split(' ')[2]).toBe(String(host.child.pid));
    expect(end?.split(' ').slice(1)).toEqual(second?.split(' ').slice(1));
    const history = (await getStatus(host.url, a.id, '?showHistory=true')).status.historyEvents ?? [];
    expect(history.filter((e) => e.EventType === 'TaskCompleted').map((e) => e.FunctionName)).toEqual(['Long', 'SayHello']);
    await host.kill();
  });

  it('lets running activities finish on SIGTERM and does not run them again', async () => {
    const hub = newHub();
    const marker = join(dir, 'graceful.txt');
    let host = await start(hub);
    const a = await startInstance(host.url, 'LongActivity', { ms: 1500, marker });
    await waitUntil(() => lines(marker).length === 1, 10_000, 'the activity to start');
    expect(await host.kill('SIGTERM')).toBe(0);
    const worker = lines(marker)[0]?.split(' ')[1];
    expect(lines(marker)).toEqual([`start ${worker} ${host.child.pid}`, `end ${worker} ${host.child.pid}`]);
    expect(host.logs()).toContain('SIGTERM: stopping');

    host = await start(hub);
    expect((await waitForStatus(host.url, a.id)).output).toMatchObject({ slept: 'slept 1500' });
    expect(lines(marker)).toHaveLength(2);
    await host.kill();
  });

  it('resumes a fan-out: finished activities are kept, unfinished ones run again', async () => {
    const hub = newHub();
    let host = await start(hub);
    const a = await startInstance(host.url, 'FanOut', { count: 12, ms: 600 });
    await new Promise((r) => setTimeout(r, 900));
    await host.kill('SIGKILL');
    host = await start(hub);
    const s = await waitForStatus(host.url, a.id);
    expect((s.output as Array<{ i: number }>).map((r) => r.i)).toEqual([...Array(12).keys()]);
    await host.kill();
  });

  it('keeps waiting for an event across a restart; the raiseEvent webhook completes it', async () => {
    const hub = newHub();
    let host = await start(hub);
    const a = await startInstance(host.url, 'Approval', undefined, 'approval-restart');
    await waitForStatus(host.url, a.id, (s) => s.customStatus === 'waiting for approval');
    await host.kill('SIGKILL');

    host = await start(hub);
    expect((await getStatus(host.url, a.id)).status).toMatchObject({ runtimeStatus: 'Running', customStatus: 'waiting for approval' });
    const r = await call(webhook(host.url, `instances/${a.id}/raiseEvent/Approve`), { body: { by: 'curl' } });
    expect(r.status).toBe(202);
    expect((await waitForStatus(host.url, a.id)).output).toEqual({ greeting: 'Hello curl', data: { by: 'curl' } });
    await host.kill();
  });

  it('re-arms a timer, which fires at its time and not before', async () => {
    const hub = newHub();
    let host = await start(hub);
    const t0 = Date.now();
    const a = await startInstance(host.url, 'TimerThenHello', { ms: 3000 });
    await waitForStatus(host.url, a.id, (s) => s.runtimeStatus === 'Running');
    await host.kill('SIGKILL');
    host = await start(hub);
    expect((await getStatus(host.url, a.id)).status.runtimeStatus).toBe('Running');
    const s = await waitForStatus(host.url, a.id);
    expect(s.output).toBe('Hello after timer');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
    await host.kill();
  });

  it('resumes a parent waiting on a sub-orchestration that waits for an event', async () => {
    const hub = newHub();
    let host = await start(hub);
    const a = await startInstance(host.url, 'ParentOfApproval', undefined, 'poa');
    await waitForStatus(host.url, 'poa-approval', (s) => s.runtimeStatus === 'Running');
    await host.kill('SIGKILL');
    host = await start(hub);
    expect((await call(webhook(host.url, 'instances/poa-approval/raiseEvent/Approve'), { body: { by: 'child' } })).status).toBe(202);
    expect((await waitForStatus(host.url, a.id)).output).toEqual({ child: { greeting: 'Hello child', data: { by: 'child' } } });
    await host.kill();
  });
});
