/**
 * Decoding OrchestratorState actions (emulator/durable/actions.ts), with action objects built by
 * durable-functions itself so the string-input quirk and field names are the SDK's.
 */
import { createRequire } from 'node:module';

import * as df from 'durable-functions';
import { describe, expect, it } from 'vitest';

import { decodeAction, decodeActions, flattenActions } from '../../emulator/durable/actions';

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

  it('drops a re-yielded action object but keeps equal, distinct ones', () => {
    const event = new WaitForExternalEvent('Go');
    const t1 = new CreateTimer(new Date(0));
    const t2 = new CreateTimer(new Date(0));
    const flat = flattenActions([[whenAny(event, t1), whenAny(event, t2)]]);
    expect(flat).toHaveLength(3);
    expect(flat[0]).toBe(event);
    expect(flat[1]).toBe(t1);
    expect(flat[2]).toBe(t2);
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

  it('decodes a whole state', () => {
    expect(decodeActions([[new WaitForExternalEvent('E'), whenAll(new CallActivity('A', 1))]]).map((a) => a.type)).toEqual(['waitForEvent', 'activity']);
  });
});
