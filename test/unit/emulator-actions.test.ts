/**
 * Decoding OrchestratorState actions (emulator/durable/actions.ts), with action objects built by
 * durable-functions itself so the string-input quirk and field names are the SDK's.
 */
import { createRequire } from 'node:module';

import * as df from 'durable-functions';
import { describe, expect, it } from 'vitest';

import { decodeAction, decodeActions, describeAction, findRescheduled, flattenActions } from '../../emulator/durable/actions';

type Ctor = new (...args: unknown[]) => Record<string, unknown>;
const load = createRequire(__filename);
const sdk = (name: string): Ctor => (load(`durable-functions/lib/src/actions/${name}`) as Record<string, Ctor>)[name] as Ctor;
const CallActivity = sdk('CallActivityAction');
const CallActivityWithRetry = sdk('CallActivityWithRetryAction');
const CallSubOrchestrator = sdk('CallSubOrchestratorAction');
const ContinueAsNew = sdk('ContinueAsNewAction');
const CreateTimer = sdk('CreateTimerAction');
const WaitForExternalEvent = sdk('WaitForExternalEventAction');
const CallEntity = sdk('CallEntityAction');

const whenAll = (...compoundActions: unknown[]) => ({ actionType: 12, compoundActions });
const whenAny = (...compoundActions: unknown[]) => ({ actionType: 11, compoundActions });

describe('flattenActions', () => {
  it('flattens V2+ compounds depth-first, left to right', () => {
    const [a, b, c, d] = [1, 2, 3, 4].map((i) => new CallActivity('A', i));
    expect(flattenActions([[a, whenAll(b, whenAny(c, d))]])).toEqual([a, b, c, d]);
  });

  it('reads V1 (one flattened array per yield) the same way', () => {
    const [a, b, c] = [1, 2, 3].map((i) => new CallActivity('A', i));
    expect(flattenActions([[a], [b, c]])).toEqual([a, b, c]);
  });

  it('counts every atomic action, a repeated one too, as the extension does', () => {
    const event = new WaitForExternalEvent('Go');
    const t1 = new CreateTimer(new Date(0));
    const t2 = new CreateTimer(new Date(0));
    const flat = flattenActions([[whenAny(event, t1), whenAny(event, t2)]]);
    expect(flat).toEqual([event, t1, event, t2]);
  });
});

describe('findRescheduled (identity, before any JSON round trip)', () => {
  it('finds an action yielded before and held again by a new Task.any', () => {
    const [a, b, c] = [0, 1, 2].map((i) => new CallActivity('copyChunk', { chunk: i }));
    const found = findRescheduled([[whenAny(a, b), whenAny(b, c)]]);
    expect(found?.compound).toBe('Task.any');
    expect(found?.action).toEqual({ type: 'activity', name: 'copyChunk', input: '{"chunk":1}', retry: undefined });
  });

  it('finds an action emitted on its own and then put into a Task.all, nested or not', () => {
    const a = new CallActivity('A', 1);
    const t = new CreateTimer(new Date('2030-01-01T00:00:00Z'));
    expect(findRescheduled([[a, whenAll(new CallActivity('B', 2), a)]])?.compound).toBe('Task.all');
    expect(findRescheduled([[t, whenAll(whenAny(t, new CallActivity('B', 2)))]])?.action).toMatchObject({ type: 'timer' });
    const inner = whenAny(new CallActivity('C', 3), new CallActivity('D', 4));
    expect(findRescheduled([[inner, whenAll(inner, a)]])?.action).toMatchObject({ name: 'C' });
  });

  it('finds the same task twice in one compound', () => {
    const a = new CallActivity('A', 1);
    expect(findRescheduled([[whenAll(a, a)]])?.action).toMatchObject({ name: 'A' });
  });

  it('passes equal but distinct actions, waits included, and compounds of fresh tasks', () => {
    const [a1, a2] = [1, 1].map((i) => new CallActivity('A', i));
    expect(findRescheduled([[whenAll(a1), whenAll(a2)]])).toBeUndefined();
    expect(findRescheduled([[whenAny(new WaitForExternalEvent('Go'), new CreateTimer(new Date(0))), whenAny(new WaitForExternalEvent('Go'), new CreateTimer(new Date(0)))]])).toBeUndefined();
    expect(findRescheduled([[a1, whenAll(whenAny(new CallActivity('B', 1), a2))]])).toBeUndefined();
  });

  it('finds a wait for an event held again (the extension would register a second waiter)', () => {
    const event = new WaitForExternalEvent('cutover');
    const found = findRescheduled([[whenAny(event, new CreateTimer(new Date(0))), whenAny(event, new CreateTimer(new Date(1)))]]);
    expect(found && describeAction(found.action)).toBe("a wait for event 'cutover'");
  });

  it('sees nothing once the actions have crossed JSON (identity is gone): it runs on the SDK objects', () => {
    const a = new CallActivity('A', 1);
    expect(findRescheduled(JSON.parse(JSON.stringify([[whenAny(a), whenAny(a)]])))).toBeUndefined();
  });
});

describe('decodeAction', () => {
  it('keeps the pre-stringified string input of activities and continueAsNew as JSON text', () => {
    expect(decodeAction(new CallActivity('SayHello', 'Tokyo'))).toEqual({ type: 'activity', name: 'SayHello', input: '"Tokyo"', retry: undefined });
    expect(decodeAction(new CallActivity('SayHello', { a: 1 })).type === 'activity' && decodeAction(new CallActivity('SayHello', { a: 1 }))).toMatchObject({ input: '{"a":1}' });
    expect(decodeAction(new CallActivity('SayHello', undefined))).toMatchObject({ input: undefined });
    expect(decodeAction(new ContinueAsNew('next'))).toEqual({ type: 'continueAsNew', input: '"next"' });
    expect(decodeAction(new ContinueAsNew(5))).toEqual({ type: 'continueAsNew', input: '5' });
  });

  it('stringifies sub-orchestration inputs, which the SDK leaves raw', () => {
    expect(decodeAction(new CallSubOrchestrator('Child', 'child-1', 'raw', 'v2'))).toEqual({
      type: 'subOrchestration', name: 'Child', instanceId: 'child-1', input: '"raw"', version: 'v2', retry: undefined,
    });
    expect(decodeAction(new CallSubOrchestrator('Child', undefined, { x: 1 }))).toMatchObject({ instanceId: undefined, input: '{"x":1}' });
  });

  it('reads retry options with their optional fields', () => {
    const opts = new df.RetryOptions(250, 4);
    opts.backoffCoefficient = 2;
    expect(decodeAction(new CallActivityWithRetry('F', opts, 1))).toMatchObject({
      type: 'activity',
      retry: { firstRetryIntervalInMilliseconds: 250, maxNumberOfAttempts: 4, backoffCoefficient: 2, maxRetryIntervalInMilliseconds: undefined },
    });
  });

  it('reads timers (Date or ISO string) and their cancellation', () => {
    const t = new CreateTimer(new Date('2030-01-01T00:00:00Z'));
    expect(decodeAction(t)).toEqual({ type: 'timer', fireAt: '2030-01-01T00:00:00.000Z', canceled: false });
    t.isCanceled = true;
    expect(decodeAction(JSON.parse(JSON.stringify(t)) as Record<string, unknown>)).toMatchObject({ canceled: true });
    expect(() => decodeAction({ actionType: 5, fireAt: 'not a date' })).toThrow(/not a date/);
  });

  it('names the actions the host cannot run', () => {
    expect(decodeAction(new CallEntity(new df.EntityId('counter', 'k'), 'add', 1))).toEqual({ type: 'unsupported', actionType: 7, what: 'callEntity' });
    expect(decodeAction({ actionType: 42 })).toMatchObject({ type: 'unsupported', what: 'action type 42' });
  });

  it('decodes a whole state after a JSON round trip', () => {
    expect(decodeActions([[new WaitForExternalEvent('E'), whenAll(new CallActivity('A', 1))]]).map((a) => a.type)).toEqual(['waitForEvent', 'activity']);
    const t = new CreateTimer(new Date('2030-01-01T00:00:00Z'));
    expect(decodeActions([[whenAny(t, new WaitForExternalEvent('E'))]])[0]).toEqual({ type: 'timer', fireAt: '2030-01-01T00:00:00.000Z', canceled: false });
    expect(decodeActions(undefined)).toEqual([]);
  });

  it('names actions for messages, inputs shortened', () => {
    expect(describeAction({ type: 'activity', name: 'copyChunk', input: '{"chunk":3}' })).toBe(`activity 'copyChunk' (input {"chunk":3})`);
    expect(describeAction({ type: 'activity', name: 'A', input: `"${'x'.repeat(500)}"` })).toMatch(/^activity 'A' \(input "x{199}…\)$/);
    expect(describeAction({ type: 'subOrchestration', name: 'copyLane', instanceId: 'p:lane:0' })).toBe("sub-orchestration 'copyLane' (instance p:lane:0)");
    expect(describeAction({ type: 'timer', fireAt: '2030-01-01T00:00:00.000Z', canceled: false })).toBe('a timer (fireAt 2030-01-01T00:00:00.000Z)');
  });
});
