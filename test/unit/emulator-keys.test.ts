/**
 * Function keys in the offline host: settings and modes, the gate's decisions per authLevel, the
 * Durable webhooks' system key, the in-process client path, the durableClient binding value with
 * `code=`, dispatch (401 before the function, JSON 404), the command line and the local key file.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { clientBindingValue } from '../../emulator/durable/client-binding';
import { KeyGate, authLevelOf, isLoopback, newKey, parseAuthMode, parseKeyList, presentedKey, resolveKeySettings, type KeySettings, type RequestHead } from '../../emulator/http/auth';
import { createDispatch } from '../../emulator/http/dispatch';
import { HttpFunctions } from '../../emulator/http/functions';
import { redactUrl, type HostRequest, type HostResponse } from '../../emulator/http/server';
import type { Invoker } from '../../emulator/invoker';
import { Logger } from '../../emulator/log';
import { parseArgs } from '../../emulator/main';
import type { HttpFunction } from '../../emulator/registry';
import { localKeyFile } from '../../emulator/start';

const FK = 'function-key-0123456789';
const SK = 'system-key-0123456789ab';
const enforced: KeySettings = { enforce: true, functionKeys: [FK], systemKeys: [SK], summary: '' };
const open: KeySettings = { enforce: false, functionKeys: [], systemKeys: [], summary: '' };

function head(path: string, headers: Record<string, string> = {}, method = 'GET'): RequestHead {
  return { method, url: new URL(path, 'http://127.0.0.1:7071'), rawPath: path.split('?')[0] ?? '/', headers };
}

function fn(name: string, route: string, authLevel: string | undefined, methods: string[] = ['GET']): HttpFunction {
  return {
    kind: 'http',
    name,
    route,
    methods,
    triggerName: 't',
    clientBindings: [],
    fn: { metadata: { name, bindings: { t: { type: 'httpTrigger', direction: 'in', ...(authLevel ? { authLevel } : {}) } } }, callback: () => undefined },
  };
}

const errorOf = (r: HostResponse | undefined) => JSON.parse(String(r?.body)) as { error: { code: string; message: string } };

describe('key settings', () => {
  it('parses key lists: comma-separated, trimmed, at least 16 printable characters', () => {
    expect(parseKeyList(undefined, 'K')).toEqual([]);
    expect(parseKeyList(' ', 'K')).toEqual([]);
    expect(parseKeyList(`${FK}, ${SK} ,`, 'K')).toEqual([FK, SK]);
    expect(() => parseKeyList('short', 'K')).toThrow(/at least 16/);
    expect(() => parseKeyList('has a space in it!!', 'K')).toThrow(/printable/);
    expect(newKey()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newKey()).not.toBe(newKey());
  });

  it('parses the mode', () => {
    expect(parseAuthMode(undefined, 'x')).toBeUndefined();
    expect(parseAuthMode('OFF', 'x')).toBe('off');
    expect(parseAuthMode(' on ', 'x')).toBe('on');
    expect(() => parseAuthMode('yes', '--auth')).toThrow(/--auth must be on, off or auto/);
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.4', 'example.com']) expect(isLoopback(h)).toBe(false);
  });

  const cases: Array<[string, Parameters<typeof resolveKeySettings>, Partial<KeySettings> | RegExp]> = [
    ['no key, loopback: open, like func start', [undefined, {}, '127.0.0.1'], { enforce: false }],
    ['no key, all interfaces: refused', [undefined, {}, '0.0.0.0'], /refusing to listen on 0\.0\.0\.0/],
    ['no key, all interfaces, auth off: open', ['off', {}, '0.0.0.0'], { enforce: false }],
    ['PGFERRY_AUTH=off in the environment', [undefined, { PGFERRY_AUTH: 'off', PGFERRY_FUNCTION_KEY: FK }, '127.0.0.1'], { enforce: false }],
    ['--auth wins over PGFERRY_AUTH', ['auto', { PGFERRY_AUTH: 'off', PGFERRY_FUNCTION_KEY: FK }, '127.0.0.1'], { enforce: true }],
    ['auth on without a key: refused', ['on', {}, '127.0.0.1'], /no function key is configured/],
    ['function key only: it is the system key too', [undefined, { PGFERRY_FUNCTION_KEY: FK }, '0.0.0.0'], { enforce: true, functionKeys: [FK], systemKeys: [FK] }],
    ['both keys', [undefined, { PGFERRY_FUNCTION_KEY: FK, PGFERRY_SYSTEM_KEY: SK }, '127.0.0.1'], { enforce: true, functionKeys: [FK], systemKeys: [SK] }],
    ['a system key alone: refused', [undefined, { PGFERRY_SYSTEM_KEY: SK }, '127.0.0.1'], /PGFERRY_SYSTEM_KEY is set but PGFERRY_FUNCTION_KEY is not/],
    ['a bad PGFERRY_AUTH', [undefined, { PGFERRY_AUTH: 'maybe' }, '127.0.0.1'], /PGFERRY_AUTH must be/],
  ];
  for (const [what, args, expected] of cases) {
    it(what, () => {
      if (expected instanceof RegExp) expect(() => resolveKeySettings(...args)).toThrow(expected);
      else expect(resolveKeySettings(...args)).toMatchObject(expected);
    });
  }
});

describe('the gate', () => {
  const gate = new KeyGate(enforced, 'tok123');

  it('reads the registration authLevel; unknown values count as function', () => {
    expect(authLevelOf(fn('a', 'a', 'anonymous'))).toBe('anonymous');
    expect(authLevelOf(fn('a', 'a', 'Function'))).toBe('function');
    expect(authLevelOf(fn('a', 'a', 'ADMIN'))).toBe('admin');
    expect(authLevelOf(fn('a', 'a', 'system'))).toBe('function');
    expect(authLevelOf(fn('a', 'a', undefined))).toBe('anonymous');
  });

  it('takes the key from x-functions-key, else ?code=', () => {
    expect(presentedKey(head('/api/x', { 'x-functions-key': 'h' }))).toBe('h');
    expect(presentedKey(head('/api/x?code=q'))).toBe('q');
    expect(presentedKey(head('/api/x?code=q', { 'x-functions-key': 'h' }))).toBe('h');
    expect(presentedKey(head('/api/x?code='))).toBeUndefined();
  });

  const table: Array<[string, 'anonymous' | 'function' | 'admin', RequestHead, boolean]> = [
    ['anonymous, no key', 'anonymous', head('/api/health'), true],
    ['function, no key', 'function', head('/api/m'), false],
    ['function, header key', 'function', head('/api/m', { 'x-functions-key': FK }), true],
    ['function, code key', 'function', head(`/api/m?code=${FK}`), true],
    ['function, wrong key', 'function', head('/api/m', { 'x-functions-key': `${FK}x` }), false],
    ['function, prefix of the key', 'function', head('/api/m', { 'x-functions-key': FK.slice(0, -1) }), false],
    ['function, system key', 'function', head('/api/m', { 'x-functions-key': SK }), false],
    ['admin, function key', 'admin', head('/api/a', { 'x-functions-key': FK }), false],
    ['admin, system key', 'admin', head(`/api/a?code=${SK}`), true],
  ];
  for (const [what, level, req, ok] of table) {
    it(`${what} → ${ok ? 'admitted' : '401'}`, () => {
      const r = gate.admitFunction(level, req);
      if (ok) expect(r).toBeUndefined();
      else {
        expect(r?.status).toBe(401);
        expect(errorOf(r).error.code).toBe('Unauthorized');
        expect(errorOf(r).error.message).toMatch(/x-functions-key/);
      }
    });
  }

  it('lets everything through when keys are not enforced', () => {
    const g = new KeyGate(open);
    expect(g.admitFunction('admin', head('/api/a'))).toBeUndefined();
    expect(g.admitWebhook(head('/runtime/webhooks/durabletask/instances'))).toBeUndefined();
    expect(g.isRpc('/runtime/webhooks/durabletask/rpc-anything/instances')).toBe(false);
  });

  it('guards the webhooks with the system key only', () => {
    expect(gate.admitWebhook(head('/runtime/webhooks/durabletask/instances'))?.status).toBe(401);
    expect(gate.admitWebhook(head('/runtime/webhooks/durabletask/instances', { 'x-functions-key': FK }))?.status).toBe(401);
    expect(gate.admitWebhook(head(`/runtime/webhooks/durabletask/instances?code=${SK}`))).toBeUndefined();
  });

  it('recognises the in-process client path only with the exact token', () => {
    expect(gate.rpcPath).toBe('/runtime/webhooks/durabletask/rpc-tok123');
    expect(gate.isRpc('/runtime/webhooks/durabletask/rpc-tok123/instances/x')).toBe(true);
    expect(gate.isRpc('/runtime/webhooks/durabletask/rpc-tok12/instances/x')).toBe(false);
    expect(gate.isRpc('/runtime/webhooks/durabletask/rpc-tok1234/instances/x')).toBe(false);
    expect(gate.isRpc('/runtime/webhooks/durabletask/instances/x')).toBe(false);
    expect(gate.fromRpc(head('/runtime/webhooks/durabletask/rpc-tok123/instances/a%3Ab?x=1')).rawPath).toBe('/runtime/webhooks/durabletask/instances/a%3Ab');
  });

  it('hands the app a binding whose URLs carry code=<system key> and whose rpcBaseUrl is the in-process path', () => {
    const plain = clientBindingValue('http://127.0.0.1:7071', 'Hub');
    const b = gate.secureBinding(plain, 'http://127.0.0.1:7071');
    expect(b.requiredQueryStringParameters).toBe(`code=${SK}`);
    expect(b.rpcBaseUrl).toBe('http://127.0.0.1:7071/runtime/webhooks/durabletask/rpc-tok123/');
    expect(b.managementUrls.id).toBe(plain.managementUrls.id);
    expect(b.managementUrls.statusQueryGetUri).toBe(`${plain.managementUrls.statusQueryGetUri}&code=${SK}`);
    expect(b.creationUrls.createNewInstancePostUri?.endsWith(`&code=${SK}`)).toBe(true);
    // The v3 client resolves its calls against rpcBaseUrl, so they land on the token path.
    expect(new URL('instances/pgferry:a:b', b.rpcBaseUrl).pathname).toBe('/runtime/webhooks/durabletask/rpc-tok123/instances/pgferry:a:b');
    expect(new KeyGate(open).secureBinding(plain, 'http://127.0.0.1:7071')).toBe(plain);
  });
});

describe('dispatch', () => {
  const invoked: string[] = [];
  const invoker = {
    invoke: async ({ fn: f }: { fn: HttpFunction }) => {
      invoked.push(f.name);
      return { invocationId: 'i', result: undefined, ms: 1, response: { returnValue: { http: { statusCode: '200', body: { string: '{}' } } } } };
    },
  } as unknown as Invoker;
  const functions = new HttpFunctions(
    [fn('health', 'health', 'anonymous'), fn('item', 'things/{id}', 'function', ['GET', 'PUT']), fn('admin', 'admin/x', 'admin')],
    'api',
    invoker,
    new Logger('error'),
    () => ({}),
  );
  const webhookCalls: string[] = [];
  const webhooks = {
    owns: (p: string) => p.startsWith('/runtime/webhooks/durabletask'),
    handle: async (r: HostRequest): Promise<HostResponse> => {
      webhookCalls.push(r.rawPath);
      return { status: 200 };
    },
  };
  const { router, admit } = createDispatch(functions, webhooks, new KeyGate(enforced, 'tok'));
  const req = (path: string, headers: Record<string, string> = {}, method = 'GET'): HostRequest => ({ ...head(path, headers, method), body: Buffer.alloc(0) });

  it('refuses before invoking, admits with the key, serves anonymous routes', async () => {
    expect((await router(req('/api/things/1'))).status).toBe(401);
    expect(admit(head('/api/things/1', {}, 'PUT'))?.status).toBe(401);
    expect(invoked).toEqual([]);
    expect((await router(req('/api/things/1', { 'x-functions-key': FK }))).status).toBe(200);
    expect((await router(req('/api/health'))).status).toBe(200);
    expect((await router(req('/api/admin/x', { 'x-functions-key': FK }))).status).toBe(401);
    expect((await router(req(`/api/admin/x?code=${SK}`))).status).toBe(200);
    expect(invoked).toEqual(['item', 'health', 'admin']);
  });

  it('answers a JSON 404 for what no function serves, key or not', async () => {
    for (const r of [req('/api/nope'), req('/api/things/1', { 'x-functions-key': FK }, 'DELETE')]) {
      const out = await router(r);
      expect(out.status).toBe(404);
      expect(errorOf(out).error.code).toBe('NotFound');
    }
  });

  it('sends webhook calls on with the system key, and in-process calls rewritten to the public path', async () => {
    expect((await router(req('/runtime/webhooks/durabletask/instances'))).status).toBe(401);
    expect((await router(req('/runtime/webhooks/durabletask/rpc-tok/instances/a'))).status).toBe(200);
    expect((await router(req(`/runtime/webhooks/durabletask/instances?code=${SK}`))).status).toBe(200);
    expect(webhookCalls).toEqual(['/runtime/webhooks/durabletask/instances/a', '/runtime/webhooks/durabletask/instances']);
  });
});

describe('command line and key files', () => {
  it('parses --auth', () => {
    expect(parseArgs(['--auth', 'off'])).toEqual({ auth: 'off' });
    expect(() => parseArgs(['--auth', 'maybe'])).toThrow(/--auth must be on, off or auto/);
  });

  it('blanks keys in URLs it logs', () => {
    expect(redactUrl('/api/x?a=1&code=secret&b=2')).toBe('/api/x?a=1&code=***&b=2');
    expect(redactUrl('/x?sig=abc')).toBe('/x?sig=***');
  });

  const dir = mkdtempSync(join(tmpdir(), 'pgferry-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the local key file once, owner-only, and reuses it', () => {
    const first = localKeyFile(dir, 'function.key', () => 'made-0123456789abcdef');
    expect(first).toMatchObject({ key: 'made-0123456789abcdef', created: true });
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, '.pgferry')).mode & 0o777).toBe(0o700);
    const again = localKeyFile(dir, 'function.key', () => 'other');
    expect(again).toMatchObject({ key: 'made-0123456789abcdef', created: false });
    expect(readFileSync(first.file, 'utf8')).toBe('made-0123456789abcdef\n');
  });

  it('tightens a key file that was made readable by others', () => {
    const file = join(dir, '.pgferry', 'loose.key');
    writeFileSync(file, 'loose-0123456789abcdef\n', { mode: 0o644 });
    expect(localKeyFile(dir, 'loose.key', () => 'x').key).toBe('loose-0123456789abcdef');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
