/**
 * The offline host's small pure parts: the Table Storage blob codec, retry timing, status
 * rendering, list filters, entry globs, command-line parsing and failure decoding.
 */
import { describe, expect, it } from 'vitest';

import { activityFailure } from '../../emulator/activities';
import { globToRegExp } from '../../emulator/app-loader';
import { CHUNKS_PER_ROW, CHUNK_CHARS, continuationCount, decodeRecord, encodeRecord, splitText } from '../../emulator/durable/blob-codec';
import { matchesFilter, parseFilter } from '../../emulator/durable/client-api';
import { clientBindingValue, managementPayload } from '../../emulator/durable/client-binding';
import { decodeFailure, decodeState } from '../../emulator/durable/episode';
import { history } from '../../emulator/durable/history';
import type { InstanceRecord } from '../../emulator/durable/model';
import { retryDelayMs, retryTimedOut } from '../../emulator/durable/retry';
import { newExecution } from '../../emulator/durable/state';
import { condenseHistory, toStatus, wireTime } from '../../emulator/durable/status';
import { parseArgs } from '../../emulator/main';
import { DEFAULT_FUNCTION_TIMEOUT, parseFunctionTimeout, resolveConfig } from '../../emulator/config';
import { formatTimeSpan, timeoutFailure } from '../../emulator/workers/pool';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('blob codec', () => {
  it('round-trips bodies of every size through main and continuation rows', () => {
    for (const size of [0, 10, CHUNK_CHARS, CHUNK_CHARS * CHUNKS_PER_ROW + 1, CHUNK_CHARS * CHUNKS_PER_ROW * 3 + 7]) {
      const body = 'ab'.repeat(Math.ceil(size / 2)).slice(0, size);
      const rows = encodeRecord('p', 's', { Name: 'x' }, body, 3);
      expect(rows[0]).toMatchObject({ partitionKey: 'p', rowKey: 's', Name: 'x', Gen: 3 });
      expect(rows.length - 1).toBe(continuationCount(rows[0] as Record<string, unknown>));
      for (const r of rows) {
        expect(Object.keys(r).length).toBeLessThanOrEqual(252);
        for (const v of Object.values(r)) if (typeof v === 'string') expect(v.length).toBeLessThanOrEqual(32_000);
      }
      expect(rows.slice(1).every((r) => r.rowKey.startsWith('s~3~'))).toBe(true);
      expect(decodeRecord(rows[0] as Record<string, unknown>, [...rows].reverse())).toBe(body);
    }
  });

  it('never splits a surrogate pair', () => {
    const body = `${'a'.repeat(CHUNK_CHARS - 1)}😀tail`;
    const parts = splitText(body);
    expect(parts[0]?.length).toBe(CHUNK_CHARS - 1);
    expect(parts.join('')).toBe(body);
  });

  it('reports a missing continuation row', () => {
    const rows = encodeRecord('p', 'h-1', {}, 'x'.repeat(CHUNK_CHARS * CHUNKS_PER_ROW + 5));
    expect(() => decodeRecord(rows[0] as Record<string, unknown>, [])).toThrow(/missing/);
  });
});

describe('retry timing (DTFx RetryInterceptor)', () => {
  it('backs off by the coefficient, capped by maxRetryInterval', () => {
    const p = { firstRetryIntervalInMilliseconds: 100, maxNumberOfAttempts: 5, backoffCoefficient: 2, maxRetryIntervalInMilliseconds: 350 };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(p, n))).toEqual([100, 200, 350, 350]);
    expect(retryDelayMs({ firstRetryIntervalInMilliseconds: 100, maxNumberOfAttempts: 2 }, 3)).toBe(100);
  });

  it('stops once retryTimeout has passed since the first attempt', () => {
    const p = { firstRetryIntervalInMilliseconds: 100, maxNumberOfAttempts: 5, retryTimeoutInMilliseconds: 1000 };
    expect(retryTimedOut(p, '2030-01-01T00:00:00Z', new Date('2030-01-01T00:00:00.999Z'))).toBe(false);
    expect(retryTimedOut(p, '2030-01-01T00:00:00Z', new Date('2030-01-01T00:00:01Z'))).toBe(true);
    expect(retryTimedOut({ firstRetryIntervalInMilliseconds: 1, maxNumberOfAttempts: 1 }, '2000-01-01T00:00:00Z', new Date())).toBe(false);
  });
});

const record = (over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId: 'i1',
  name: 'Orch',
  status: 'Completed',
  createdTime: '2030-01-01T00:00:00.123Z',
  lastUpdatedTime: '2030-01-01T00:00:05.900Z',
  input: '{"a":1}',
  output: '"done"',
  exec: newExecution('e'),
  episodes: 1,
  ...over,
});

describe('status', () => {
  it('always carries input and output, and times without fractions', () => {
    expect(toStatus(record(), { showInput: true })).toEqual({
      name: 'Orch', instanceId: 'i1', runtimeStatus: 'Completed', input: { a: 1 }, customStatus: null, output: 'done',
      createdTime: '2030-01-01T00:00:00Z', lastUpdatedTime: '2030-01-01T00:00:05Z',
    });
    expect(toStatus(record({ output: undefined, input: undefined }), { showInput: false })).toMatchObject({ input: null, output: null });
    expect(wireTime('2030-06-01T10:20:30.456Z')).toBe('2030-06-01T10:20:30Z');
  });

  it('condenses history: completions carry the scheduled name and time', () => {
    const at = '2030-01-01T00:00:00.000Z';
    const events = [
      history.orchestratorStarted(at),
      history.executionStarted(at, { name: 'Orch', instanceId: 'i1', executionId: 'e', input: '1' }),
      history.taskScheduled(at, 0, 'A', '"x"'),
      history.orchestratorCompleted(at),
      history.taskCompleted('2030-01-01T00:00:01.000Z', 0, '"r"'),
      history.executionCompleted(at, 'Completed', '"r"'),
    ];
    expect(condenseHistory(events, true)).toEqual([
      { EventType: 'ExecutionStarted', Timestamp: at, FunctionName: 'Orch', Input: 1 },
      { EventType: 'TaskCompleted', Timestamp: '2030-01-01T00:00:01.000Z', FunctionName: 'A', ScheduledTime: at, Result: 'r' },
      { EventType: 'ExecutionCompleted', Timestamp: at, OrchestrationStatus: 'Completed', Result: 'r' },
    ]);
    expect(condenseHistory(events, false)[1]).not.toHaveProperty('Result');
  });

  it('filters lists by time, status (case-insensitive) and id prefix, and rejects bad filters', () => {
    const f = parseFilter(new URLSearchParams('createdTimeFrom=2029-12-31T00:00:00Z&runtimeStatus=completed,Failed&instanceIdPrefix=i'));
    expect(typeof f).toBe('object');
    if (typeof f === 'string') return;
    expect(matchesFilter(record(), f)).toBe(true);
    expect(matchesFilter(record({ status: 'Running' }), f)).toBe(false);
    expect(matchesFilter(record({ instanceId: 'x' }), f)).toBe(false);
    expect(parseFilter(new URLSearchParams('runtimeStatus=Sleeping'))).toMatch(/not one of/);
    expect(parseFilter(new URLSearchParams('createdTimeTo=yesterday'))).toMatch(/not a date/);
  });
});

describe('client binding', () => {
  it('points every URL and the RPC base at this host', () => {
    const b = clientBindingValue('http://127.0.0.1:7071', 'Hub');
    expect(b.rpcBaseUrl).toBe('http://127.0.0.1:7071/runtime/webhooks/durabletask/');
    expect(b.managementUrls.statusQueryGetUri).toBe('http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/INSTANCEID?taskHub=Hub&connection=Storage');
    expect(b.creationUrls.createNewInstancePostUri).toContain('/orchestrators/{functionName}[/{instanceId}]?');
    expect(managementPayload('http://h:1', 'Hub', 'a:b').sendEventPostUri).toBe('http://h:1/runtime/webhooks/durabletask/instances/a%3Ab/raiseEvent/{eventName}?taskHub=Hub&connection=Storage');
  });
});

describe('episode decoding', () => {
  it('reads the $OutOfProcData$ failure of the SDK', () => {
    const state = { isDone: false, actions: [], error: 'boom', customStatus: 'cs', failureDetails: { ErrorType: 'TaskFailedError', ErrorMessage: 'x' } };
    expect(decodeFailure(new Error(`false\n\n$OutOfProcData$:${JSON.stringify(state)}`))).toEqual({
      kind: 'failed', error: 'boom', customStatus: '"cs"', failureDetails: { ErrorType: 'TaskFailedError', ErrorMessage: 'x' },
    });
    expect(decodeFailure(new Error(`true\n\n$OutOfProcData$:${JSON.stringify({ isDone: false, actions: [] })}`))).toMatchObject({ error: 'the orchestrator threw a value that is not an Error' });
    expect(decodeFailure(new Error('plain'))).toEqual({ kind: 'failed', error: 'plain' });
  });

  it('reads a finished state; undefined output is null', () => {
    expect(decodeState({ isDone: true, actions: [[]], output: undefined, schemaVersion: 2 })).toEqual({ kind: 'done', actions: [], output: 'null', customStatus: undefined });
    expect(decodeState({ isDone: false, actions: [[]], customStatus: { s: 1 } })).toMatchObject({ kind: 'yielded', customStatus: '{"s":1}' });
    expect(decodeState('nonsense')).toMatchObject({ kind: 'failed' });
  });

  it('maps activity errors to TaskFailed, with the provider payload when there is one', () => {
    const plain = activityFailure('Boom', new TypeError('kaboom'));
    expect(plain).toMatchObject({ reason: "Activity function 'Boom' failed: kaboom", failureDetails: { ErrorType: 'TypeError', ErrorMessage: 'kaboom', IsNonRetriable: false } });
    const payload = JSON.stringify({ errorType: 'PgError', errorMessage: 'no route', isNonRetriable: false, properties: { sqlstate: '08001' } });
    expect(activityFailure('Connect', new Error(payload)).failureDetails).toMatchObject({ ErrorType: 'PgError', ErrorMessage: 'no route', Properties: { sqlstate: '08001' } });
    expect(activityFailure('X', 'a string').failureDetails).toMatchObject({ ErrorType: 'Error', ErrorMessage: 'a string' });
  });
});

describe('entry globs', () => {
  const cases: Array<[string, string, boolean]> = [
    ['dist/functions/*.js', 'dist/functions/health.js', true],
    ['dist/functions/*.js', 'dist/functions/sub/health.js', false],
    ['dist/**/*.js', 'dist/a/b/c.js', true],
    ['dist/**/*.js', 'dist/c.js', true],
    ['dist/{index.js,functions/*.js}', 'dist/functions/x.js', true],
    ['dist/{index.js,functions/*.js}', 'dist/other.js', false],
    ['src/f?.js', 'src/f1.js', true],
    ['a.b/*.js', 'aXb/x.js', false],
  ];
  for (const [glob, path, ok] of cases) it(`${glob} ${ok ? 'matches' : 'does not match'} ${path}`, () => expect(globToRegExp(glob).test(path)).toBe(ok));
});

describe('command line', () => {
  it('parses every option', () => {
    expect(parseArgs(['--port', '0', '--host', '0.0.0.0', '--app', 'x', '--storage', 'cs', '--hub', 'H1b', '--entry', 'a.js', '--entry', 'b/*.js', '--log-level', 'debug', '--drain-ms', '100']))
      .toEqual({ port: 0, host: '0.0.0.0', appDir: 'x', storage: 'cs', hub: 'H1b', entry: ['a.js', 'b/*.js'], logLevel: 'debug', drainMs: 100 });
  });

  it('parses the strict host options', () => {
    expect(parseArgs(['--function-timeout', '00:00:05', '--workers', '3', '--deliver-twice', 'copyChunk, applyBatch'])).toEqual({
      functionTimeout: '00:00:05', workers: 3, deliverTwice: ['copyChunk', 'applyBatch'],
    });
  });

  it('rejects unknown options and bad values', () => {
    expect(() => parseArgs(['--nope'])).toThrow(/unknown option --nope/);
    expect(() => parseArgs(['--port'])).toThrow(/needs a value/);
    expect(() => parseArgs(['--port', '-1'])).toThrow(/non-negative integer/);
    expect(() => parseArgs(['--log-level', 'loud'])).toThrow(/log-level/);
  });
});

describe('functionTimeout, workers and deliver-twice settings', () => {
  it('parses .NET time spans as host.json writes them, and -1 as unbounded', () => {
    expect(parseFunctionTimeout('02:00:00', 'x')).toBe(7_200_000);
    expect(parseFunctionTimeout('00:00:05', 'x')).toBe(5000);
    expect(parseFunctionTimeout('1.00:00:00.5', 'x')).toBe(86_400_500);
    expect(parseFunctionTimeout('-1', 'x')).toBeUndefined();
    expect(() => parseFunctionTimeout('5m', 'host.json functionTimeout')).toThrow(/host.json functionTimeout must be a time span/);
    expect(() => parseFunctionTimeout('00:61:00', 'x')).toThrow(/not a valid time span/);
    expect(() => parseFunctionTimeout('00:00:00', 'x')).toThrow(/positive/);
  });

  it('prints time spans and the timeout failure as Azure does', () => {
    expect(formatTimeSpan(5000)).toBe('00:00:05');
    expect(formatTimeSpan(7_200_000)).toBe('02:00:00');
    expect(formatTimeSpan(90_061_000)).toBe('1.01:01:01');
    expect(timeoutFailure('copyChunk', 5000)).toMatchObject({
      reason: "Activity function 'copyChunk' failed: Timeout value of 00:00:05 was exceeded by function: Functions.copyChunk",
      failureDetails: { ErrorType: 'Microsoft.Azure.WebJobs.Host.FunctionTimeoutException', ErrorMessage: 'Timeout value of 00:00:05 was exceeded by function: Functions.copyChunk', IsNonRetriable: false },
    });
  });

  it('takes functionTimeout from host.json unless the command line overrides it; workers ≥ 2; deliver-twice from the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgferry-config-'));
    try {
      writeFileSync(join(dir, 'host.json'), JSON.stringify({ version: '2.0', functionTimeout: '02:00:00' }));
      expect(resolveConfig({ appDir: dir }, {})).toMatchObject({ functionTimeoutMs: 7_200_000, functionTimeout: '02:00:00', workers: 2, deliverTwice: [] });
      expect(resolveConfig({ appDir: dir, functionTimeout: '00:00:05' }, {})).toMatchObject({ functionTimeoutMs: 5000, functionTimeout: '00:00:05' });
      expect(resolveConfig({ appDir: dir }, { PGFERRY_HOST_DELIVER_TWICE: 'copyChunk, applyBatch,' }).deliverTwice).toEqual(['copyChunk', 'applyBatch']);
      expect(resolveConfig({ appDir: dir, deliverTwice: ['a'] }, { PGFERRY_HOST_DELIVER_TWICE: 'b' }).deliverTwice).toEqual(['a']);
      expect(() => resolveConfig({ appDir: dir, workers: 1 }, {})).toThrow(/at least 2/);
      expect(() => resolveConfig({ appDir: dir, functionTimeout: 'soon' }, {})).toThrow(/--function-timeout must be a time span/);
      writeFileSync(join(dir, 'host.json'), JSON.stringify({ version: '2.0' }));
      expect(resolveConfig({ appDir: dir }, {}).functionTimeout).toBe(DEFAULT_FUNCTION_TIMEOUT);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
