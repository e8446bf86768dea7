/** Route templates of HTTP triggers as the offline host matches them (emulator/http/routes.ts). */
import { describe, expect, it } from 'vitest';

import { cookieHeader, toHostResponse } from '../../emulator/http/functions';
import { RouteTable, compileRoute } from '../../emulator/http/routes';

function table(...routes: Array<[string, string[]]>): RouteTable<string> {
  const t = new RouteTable<string>();
  for (const [template, methods] of routes) t.add(template, methods, template);
  return t;
}

describe('route matching', () => {
  const cases: Array<{ template: string; path: string; params?: Record<string, string> | null }> = [
    { template: 'api/hello', path: '/api/hello', params: {} },
    { template: 'api/hello', path: '/api/hello/', params: {} },
    { template: 'api/hello', path: '/API/Hello', params: {} },
    { template: 'api/hello', path: '/api/hello/x', params: null },
    { template: 'api/users/{id}', path: '/api/users/42', params: { id: '42' } },
    { template: 'api/users/{id}', path: '/api/users', params: null },
    { template: 'api/users/{id:int}', path: '/api/users/abc', params: { id: 'abc' } },
    { template: 'api/users/{id:int?}', path: '/api/users', params: {} },
    { template: 'api/users/{id?}', path: '/api/users/7', params: { id: '7' } },
    { template: 'api/users/{id=me}', path: '/api/users', params: { id: 'me' } },
    { template: 'api/users/{id:regex(^\\d+$)}', path: '/api/users/5', params: { id: '5' } },
    { template: 'api/files/{*path}', path: '/api/files/a/b%20c/d.txt', params: { path: 'a/b c/d.txt' } },
    { template: 'api/files/{*path}', path: '/api/files', params: {} },
    { template: 'api/files/{**path}', path: '/api/files/x/y', params: { path: 'x/y' } },
    { template: 'api/{a}.{b}', path: '/api/name.json', params: { a: 'name', b: 'json' } },
    { template: 'api/v{version}/items', path: '/api/v2/items', params: { version: '2' } },
    { template: 'api/x/{name}', path: '/api/x/%E2%9C%93', params: { name: '✓' } },
    { template: '', path: '/', params: {} },
    { template: '{name}', path: '/anything', params: { name: 'anything' } },
  ];
  for (const c of cases) {
    it(`${c.template || '(empty)'} against ${c.path}`, () => {
      const m = table([c.template, []]).match('GET', c.path);
      if (c.params === null) expect(m).toBeUndefined();
      else expect(m?.params).toEqual(c.params);
    });
  }

  it('filters by method (case-insensitively); no methods means all', () => {
    const t = table(['api/a', ['GET', 'post']], ['api/b', []]);
    expect(t.match('post', '/api/a')?.target).toBe('api/a');
    expect(t.match('DELETE', '/api/a')).toBeUndefined();
    expect(t.match('PATCH', '/api/b')?.target).toBe('api/b');
  });

  it('prefers literal over parameter over optional over catch-all, whatever the registration order', () => {
    const t = table(['api/{*rest}', []], ['api/items/{id?}', []], ['api/items/{id}', []], ['api/items/special', []]);
    expect(t.match('GET', '/api/items/special')?.target).toBe('api/items/special');
    expect(t.match('GET', '/api/items/9')?.target).toBe('api/items/{id}');
    expect(t.match('GET', '/api/items')?.target).toBe('api/items/{id?}');
    expect(t.match('GET', '/api/other/thing')?.target).toBe('api/{*rest}');
  });

  it('falls through to a less specific route when the method does not match', () => {
    const t = table(['api/items/special', ['POST']], ['api/items/{id}', ['GET']]);
    expect(t.match('GET', '/api/items/special')?.params).toEqual({ id: 'special' });
  });

  it('rejects malformed templates', () => {
    expect(() => compileRoute('api/{*rest}/more', [], 'x')).toThrow(/catch-all/);
    expect(() => compileRoute('api/{unclosed', [], 'x')).toThrow(/unclosed/);
    expect(() => compileRoute('api/{}', [], 'x')).toThrow(/invalid route parameter/);
  });
});

describe('HTTP results', () => {
  it('turns the RPC HTTP result into status, headers and body; none is 204', () => {
    expect(toHostResponse(undefined)).toEqual({ status: 204 });
    const r = toHostResponse({ http: { statusCode: '201', headers: { 'x-a': '1' }, body: { bytes: new Uint8Array([104, 105]) } } });
    expect(r.status).toBe(201);
    expect(r.headers).toEqual({ 'x-a': '1' });
    expect(String(r.body)).toBe('hi');
    expect(toHostResponse({ http: { statusCode: 'nonsense' } }).status).toBe(200);
  });

  it('writes Set-Cookie attributes', () => {
    expect(cookieHeader({ name: 'a', value: 'b', path: { value: '/' }, maxAge: { value: 60 }, secure: { value: true }, httpOnly: { value: true }, sameSite: 'explicitNone' }))
      .toBe('a=b; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=None');
    expect(cookieHeader({ name: 'a', value: 'b', expires: { value: { seconds: 0 } }, sameSite: 'lax' })).toBe('a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax');
  });
});
