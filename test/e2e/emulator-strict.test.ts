/**
 * The offline host at least as strict as Azure's Durable extension, on the fixture app
 * (test/fixtures/durable-app) in a real host process with function keys on:
 *
 * - a Task.any/Task.all holding a task yielded before fails the orchestration (the extension would
 *   schedule the task again); the same fan-out written correctly runs, and the action watcher
 *   (test/support/action-watcher.cjs) records the violation independently of the host;
 * - activities run in worker processes chosen at random, which also get the durableClient binding;
 * - functionTimeout kills an activity's worker and answers TaskFailed, which a retry policy retries;
 *   a worker that dies fails its invocation, which is retried, and is replaced;
 * - --deliver-twice runs an invocation twice at once on two workers, the first answer counting;
 * - continueAsNew drops a raised event no waiter consumed, with a warning naming it.
 */
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { FIXTURE_APP } from '../fixtures/durable-app/harness';
import { http, startHost, stopAllHosts, waitFor, type Host } from '../support/host';

const azurite = inject('azurite');
const dir = mkdtempSync(join(tmpdir(), 'pgferry-strict-'));
const KEY = 'strict-host-function-key-0123456789';
let host: Host;

beforeAll(async () => {
  host = await startHost({
    app: FIXTURE_APP,
    storage: azurite.connectionString,
    hub: `Strict${Date.now().toString(36)}`,
    functionKey: KEY,
    args: ['--function-timeout', '00:00:02', '--deliver-twice', 'Twice'],
    // This file provokes a Task.any holding a task yielded before, on purpose.
    actionWatch: 'record',
  });
});

afterAll(async () => {
  await stopAllHosts();
  rmSync(dir, { recursive: true, force: true });
});

interface Status {
  runtimeStatus: string;
  output: unknown;
}

const webhook = (path: string) => `${host.url}/runtime/webhooks/durabletask/${path}`;

/** Starts `name` through the Durable HTTP API (with the system key) and waits for its end. */
async function run(name: string, input?: unknown, timeoutMs = 60_000): Promise<Status & { id: string }> {
  const id = await start(name, input);
  return { id, ...(await finished(id, timeoutMs)) };
}

async function start(name: string, input?: unknown): Promise<string> {
  const r = await http(webhook(`orchestrators/${name}`), { method: 'POST', body: input === undefined ? '' : input });
  expect(r.status, r.text).toBe(202);
  return r.json<{ id: string }>().id;
}

async function status(id: string): Promise<Status> {
  return (await http(webhook(`instances/${encodeURIComponent(id)}`))).json<Status>();
}

function finished(id: string, timeoutMs = 60_000): Promise<Status> {
  return waitFor(`instance ${id} to finish`, async () => {
    const s = await status(id);
    return ['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus) ? s : undefined;
  }, timeoutMs, 100);
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');

describe('a task is never put into a new Task.any/Task.all', () => {
  it('fails a sliding window (Task.any rebuilt from tasks already started) as non-deterministic', async () => {
    const s = await run('SlidingWindow', { count: 6, width: 3, ms: 200 });
    expect(s.runtimeStatus).toBe('Failed');
    // Which of the first three tasks the second Task.any holds again depends on which finished first.
    expect(s.output).toMatch(new RegExp(
      `^Non-deterministic orchestration 'SlidingWindow' \\(instance ${s.id}\\): a Task.any/Task.all holds activity 'Slow' \\(input \\{"i":[012],"ms":200\\}\\) ` +
        'that was already scheduled; the Durable extension would schedule it again\\. Yield each task in at most one Task.any/Task.all\\.$',
    ));
    expect(host.logs()).toContain(`Orchestration ${s.id}: Non-deterministic orchestration 'SlidingWindow'`);
    // The watcher saw it too, in the SDK itself.
    expect(host.actionViolations()).toContainEqual(expect.objectContaining({
      orchestrator: 'SlidingWindow', instanceId: s.id, compound: 'Task.any', action: expect.objectContaining({ functionName: 'Slow', input: expect.stringMatching(/^\{"i":[012],"ms":200\}$/) }),
    }));
  });

  it('runs the same fan-out written correctly, each task in one Task.all', async () => {
    const s = await run('WindowedFanOut', { count: 7, width: 3, ms: 100 });
    expect(s).toMatchObject({ runtimeStatus: 'Completed', output: [0, 1, 2, 3, 4, 5, 6] });
    expect(host.actionViolations().filter((v) => v.instanceId === s.id)).toEqual([]);
  });
});

describe('activity workers', () => {
  it('runs activities in at least two worker processes of the host, chosen at random', async () => {
    const s = await run('Pids', 30);
    const results = s.output as Array<{ pid: number; ppid: number }>;
    expect(results).toHaveLength(30);
    expect(new Set(results.map((r) => r.ppid))).toEqual(new Set([host.child.pid]));
    expect(new Set(results.map((r) => r.pid)).size).toBe(2);
    expect(results.some((r) => r.pid === host.child.pid)).toBe(false);
  });

  it('gives an activity that declares a durableClient input the client binding in its worker (keys enforced)', async () => {
    const s = await run('CallOnce', { name: 'ClientStatus' });
    expect(s.output).toMatchObject({ runtimeStatus: 'Running' });
    expect((s.output as { pid: number }).pid).not.toBe(host.child.pid);
  });

  it('fails an activity past functionTimeout as Azure does, kills its worker, and the retry policy retries it', async () => {
    const marker = join(dir, 'timeout-retry');
    const s = await run('RetryActivity', { name: 'SlowOnce', max: 3, input: { marker, ms: 30_000 } });
    expect(s.output).toEqual({ attempt: 2 });
    const [first, second] = lines(marker);
    expect(host.logs()).toContain(`Timeout value of 00:00:02 exceeded by function 'Functions.SlowOnce' (instance ${s.id}): killing activity worker`);
    expect(host.logs()).toMatch(/replacing activity worker \d+/);
    // The killed worker is gone; the retry ran in a live one.
    expect(first).not.toBe(second);
  });

  it('answers TaskFailed with the timeout message when no retry is left', async () => {
    const marker = join(dir, 'timeout-final');
    const s = await run('RetryActivity', { name: 'SlowOnce', max: 1, input: { marker, ms: 30_000 } });
    expect(s.output).toEqual({
      error: 'Microsoft.Azure.WebJobs.Host.FunctionTimeoutException: Timeout value of 00:00:02 was exceeded by function: Functions.SlowOnce',
    });
  });

  it('fails the invocations of a worker that died, retries them elsewhere and replaces the worker', async () => {
    const marker = join(dir, 'crash');
    const s = await run('RetryActivity', { name: 'CrashOnce', max: 3, input: { marker } });
    expect(s.output).toEqual({ attempt: 2 });
    const died = /activity worker (\d+) \(pid \d+\) exited \(code 3\) with 1 invocation\(s\) running; they fail/.exec(host.logs());
    expect(died).not.toBeNull();
    // The pool is whole again.
    await waitFor('the replacement worker', async () => (host.logs().includes(`replacing worker ${died?.[1] ?? '?'}\n`) ? true : undefined), 30_000, 50);
    const pids = await run('Pids', 20);
    expect(new Set((pids.output as Array<{ pid: number }>).map((r) => r.pid)).size).toBe(2);
  });

  it('delivers a --deliver-twice activity to two workers at once and answers with the first result', async () => {
    const marker = join(dir, 'twice');
    const s = await run('CallOnce', { name: 'Twice', input: { marker } });
    expect(s.runtimeStatus).toBe('Completed');
    await waitFor('the second delivery to run', async () => (lines(marker).length === 2 ? true : undefined), 10_000, 50);
    const pids = lines(marker);
    expect(new Set(pids).size).toBe(2);
    expect(pids).toContain(String(s.output));
    expect(host.logs()).toMatch(new RegExp(`delivering 'Twice' \\(instance ${s.id}, task 0\\) twice at once, to workers \\d+ and \\d+; the first answer counts`));
  });

  it('refuses fewer than two workers', async () => {
    await expect(startHost({ app: FIXTURE_APP, storage: azurite.connectionString, args: ['--workers', '1'] })).rejects.toThrow(/--workers must be at least 2/);
  });
});

describe('continueAsNew drops unconsumed events', () => {
  it('drops an event raised while no waiter existed, with a warning naming it', async () => {
    const id = await start('DropUnconsumed', { n: 0, ms: 1500, timeoutMs: 1500 });
    await waitFor('execution 0 to run its activity', async () => ((await status(id)).runtimeStatus === 'Running' ? true : undefined), 10_000, 50);
    expect((await http(webhook(`instances/${encodeURIComponent(id)}/raiseEvent/Go`), { method: 'POST', body: {} })).status).toBe(202);
    const s = await finished(id);
    expect(s).toMatchObject({ runtimeStatus: 'Completed', output: 'dropped' });
    expect(host.logs()).toMatch(new RegExp(`Orchestration ${id} \\('DropUnconsumed'\\) continued as new: event 'Go' raised at \\S+ was not consumed by a waiter and is dropped`));
  });
});

describe('the action watcher', () => {
  // Last: stopAllHosts() stops this file's hosts.
  it("fails the file's host check naming the orchestration whose Task.any held a task again", async () => {
    const watched = await startHost({ app: FIXTURE_APP, storage: azurite.connectionString });
    const r = await http(`${watched.url}/runtime/webhooks/durabletask/orchestrators/SlidingWindow`, { method: 'POST', body: { count: 4, width: 2, ms: 100 } });
    const id = r.json<{ id: string }>().id;
    await waitFor('the sliding window to fail', async () => {
      const s = (await http(`${watched.url}/runtime/webhooks/durabletask/instances/${id}`)).json<Status>();
      return s.runtimeStatus === 'Failed' ? true : undefined;
    }, 30_000, 100);
    await expect(stopAllHosts()).rejects.toThrow(new RegExp(`Task.any in orchestration 'SlidingWindow' \\(instance ${id}\\) holds an action it already emitted: .*"functionName":"Slow"`));
    // Provoked on purpose: not for the run's final check (the global teardown).
    renameSync(watched.actionWatchFile, watched.actionWatchFile.replace(/\.jsonl$/, '.expected.jsonl'));
  });
});
