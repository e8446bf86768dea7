/**
 * Bad input, generated: ≥ 500 requests (fast-check) against the running host — malformed and
 * deeply nested JSON, huge strings, wrong types, unicode, prototype-pollution keys, odd server and
 * migration names (quotes, %2F, unicode, 64+ characters), random paths under /api/flexibleServers,
 * random query strings and methods. Every answer must be 2xx or 4xx (never 5xx) and arrive (an
 * abort after a generous bound catches a hang); every 4xx is JSON with an error code and a message.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it, inject } from 'vitest';
import { useHost } from '../support/host';
import { CURRENT_API_VERSION } from '../../shared/model/arm';

const source = inject('source');
const targetServer = inject('target');
const KEY = randomBytes(24).toString('base64url');
/** A request that takes longer than this is a hang, not a slow answer (the machine is shared and slow). */
const HANG_MS = 30_000;
/** PGFERRY_FUZZ_RUNS raises it for a deeper local run; CI keeps the default. */
const RUNS = Number(process.env.PGFERRY_FUZZ_RUNS ?? 520);

const host = useHost({ functionKey: KEY });

interface Req {
  method: string;
  path: string;
  query: string;
  /** Added as ?api-version= (ARM routes require it): the current version unless given; null sends none. */
  apiVersion?: string | null;
  body?: string;
  contentType?: string;
  key: 'good' | 'none' | 'wrong';
}

interface Answer {
  status: number;
  text: string;
}

async function send(r: Req): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (r.contentType !== undefined) headers['content-type'] = r.contentType;
  if (r.key === 'good') headers['x-functions-key'] = KEY;
  if (r.key === 'wrong') headers['x-functions-key'] = `${KEY.slice(0, -2)}zz`;
  const version = r.apiVersion === undefined ? CURRENT_API_VERSION : r.apiVersion;
  const query = version === null ? r.query : `${r.query}${r.query === '' ? '?' : '&'}api-version=${encodeURIComponent(version)}`;
  const res = await fetch(`${host.url}${r.path}${query}`, {
    method: r.method,
    headers,
    body: r.method === 'GET' || r.method === 'HEAD' ? undefined : r.body,
    signal: AbortSignal.timeout(HANG_MS),
  });
  return { status: res.status, text: await res.text() };
}

/** What is wrong with an answer, or undefined when it is acceptable. */
function problem(r: Req, a: Answer): string | undefined {
  if (a.status >= 500) return `server error ${a.status}: ${a.text.slice(0, 300)}`;
  if (a.status < 200 || (a.status >= 300 && a.status < 400)) return `unexpected status ${a.status}`;
  if (r.method === 'HEAD' || a.status === 204) return undefined;
  let j: unknown;
  try {
    j = JSON.parse(a.text);
  } catch {
    return `answer (${a.status}) is not JSON: ${a.text.slice(0, 200)}`;
  }
  if (a.status >= 400) {
    const e = (j as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (typeof e?.code !== 'string' || typeof e.message !== 'string' || e.message.trim() === '') return `4xx without { error: { code, message } }: ${a.text.slice(0, 300)}`;
  }
  return undefined;
}

/** Without a valid key a request never reaches a function: 401, or the host's own 404 / 400 (unknown method), or health. */
function keylessAnswerOk(r: Req, a: Answer): boolean {
  if (a.status === 401 || r.path === '/api/health') return true;
  if (r.method === 'HEAD') return a.status === 404;
  const code = (JSON.parse(a.text) as { error?: { code?: string } }).error?.code;
  return (a.status === 404 && code === 'NotFound') || (a.status === 400 && code === 'BadRequest');
}

// ---- generators ------------------------------------------------------------------------------

const unicode = fc.string({ unit: 'binary', maxLength: 40 });
const oddName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('tgt', 'fuzz-srv', 'm1', 'm2', 'fuzz-1') },
  fc.constantFrom('tgt', 'pg-target-01', 'fuzz1', 'migration-1', 'a', '-x', 'x-', 'UPPER', '0', 'tgt.', '..', '.', '%2F', 'a%2Fb', '%00', '%', '%zz', "o'brien", 'a"b', 'a b', '__proto__', 'constructor', 'prototype', 'a;b', 'ü', '😀', '\u202e'),
  fc.string({ minLength: 64, maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 70 }),
  unicode,
  fc.stringMatching(/^[a-z0-9-]{1,70}$/),
);
/** A path segment: sent percent-encoded, or raw (fetch encodes what it must; "/" and "?" change the URL's shape). */
const segment = fc.tuple(oddName, fc.boolean()).map(([s, raw]) => (raw ? s.replace(/[#\s]/g, '') : encodeURIComponent(s)));

const anyMethod = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'POST') },
  { weight: 1, arbitrary: fc.constantFrom('HEAD', 'OPTIONS', 'PURGE', 'FOO', 'MKCOL', 'LOCK') },
);

const filterValue = fc.oneof(fc.constantFrom('Active', 'All', 'all', 'ACTIVE', '', 'None', 'Active,All', '%', '__proto__'), unicode, fc.string({ minLength: 100, maxLength: 2000 }));
const query = fc.oneof(
  fc.constant(''),
  filterValue.map((v) => `?migrationListFilter=${encodeURIComponent(v)}`),
  fc.tuple(filterValue, filterValue).map(([a, b]) => `?migrationListFilter=${encodeURIComponent(a)}&migrationListFilter=${encodeURIComponent(b)}`),
  fc.array(fc.tuple(fc.string({ maxLength: 10 }), unicode), { maxLength: 5 }).map((kv) => `?${kv.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`),
  fc.constantFrom('?code=', '?code=nope', '?%', '?a=%zz', '?__proto__[x]=1', '?constructor[prototype][x]=1', '?migrationListFilter'),
);

/** A body the model accepts, pointing at the rig source with a user that does not exist: a created migration fails at once. */
function validBody(db: string): Record<string, unknown> {
  return {
    properties: {
      sourceDbServerResourceId: `${source.host}:${source.port}@pgferry_fuzz_nobody`,
      targetDbServerFullyQualifiedDomainName: `${targetServer.host}:${targetServer.port}`,
      secretParameters: { adminCredentials: { sourceServerPassword: 'fuzz-pw-1', targetServerPassword: 'fuzz-pw-2' }, targetServerUsername: 'pgferry_fuzz_nobody' },
      dbsToMigrate: [db],
      overwriteDbsInTarget: 'True',
      migrationMode: 'Offline',
      migrationOption: 'Validate',
      sslMode: 'Prefer',
    },
  };
}

const PROPERTY_KEYS = Object.keys((validBody('x').properties as Record<string, unknown>));

/** A valid body with one field replaced by anything (wrong type, null, nested junk), keys in random case. */
const mutatedBody = fc
  .tuple(fc.constantFrom(...PROPERTY_KEYS, 'properties', 'tags', 'location'), fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true }), fc.boolean())
  .map(([field, value, upper]) => {
    const body = validBody('fuzzdb');
    const props = body.properties as Record<string, unknown>;
    if (field === 'properties' || field === 'tags' || field === 'location') body[field] = value;
    else props[upper ? field.toUpperCase() : field] = value;
    if (upper) delete props[field];
    return JSON.stringify(body) ?? 'null';
  });

const deep = fc.tuple(fc.integer({ min: 50, max: 20_000 }), fc.constantFrom('array', 'object', 'properties')).map(([n, kind]) => {
  if (kind === 'array') return `${'['.repeat(n)}${']'.repeat(n)}`;
  if (kind === 'object') return `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  return `{"properties":${'{"secretParameters":'.repeat(n)}1${'}'.repeat(n)}}`;
});

const huge = fc.tuple(fc.integer({ min: 100_000, max: 3_000_000 }), fc.constantFrom('sourceDbServerResourceId', 'dbsToMigrate', 'tags', 'key', 'name')).map(([n, where]) => {
  const s = 'x'.repeat(n);
  if (where === 'dbsToMigrate') return JSON.stringify({ properties: { ...(validBody('x').properties as object), dbsToMigrate: [s, s.slice(1)] } });
  if (where === 'tags') return JSON.stringify({ ...validBody('x'), tags: { [s]: s } });
  if (where === 'key') return JSON.stringify({ [s]: 1 });
  if (where === 'name') return JSON.stringify({ name: s, type: 'Microsoft.DBforPostgreSQL/flexibleServers/migrations' });
  return JSON.stringify({ properties: { ...(validBody('x').properties as object), sourceDbServerResourceId: s } });
});

const pollution = fc.constantFrom(
  '{"__proto__":{"polluted":"yes"}}',
  '{"properties":{"__proto__":{"migrationMode":"Online"}}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"properties":{"constructor":{"prototype":{"isAdmin":true}}}}',
  '{"properties":{"secretParameters":{"__proto__":{"adminCredentials":{"sourceServerPassword":"x"}}}}}',
  '{"__proto__":null}',
  '{"name":{"__proto__":"x"}}',
  '{"properties":{"triggerCutover":{"__proto__":true},"dbsToTriggerCutoverOn":{"length":1,"0":"x"}}}',
  '{"tags":{"__proto__":"x","constructor":"y","hasOwnProperty":"z"}}',
  '{"host":"__proto__","port":{"__proto__":1},"user":"constructor","password":{"toString":"x"}}',
);

const patchish = fc.oneof(
  fc.record({ properties: fc.record({ triggerCutover: fc.oneof(fc.constantFrom('True', 'False', 'true', 'yes', ''), fc.anything({ maxDepth: 2 })) }, { requiredKeys: [] }) }),
  fc.record({ properties: fc.record({ cancel: fc.anything({ maxDepth: 2 }), dbsToCancelMigrationOn: fc.anything({ maxDepth: 2 }) }, { requiredKeys: [] }) }),
  fc.record({ name: fc.oneof(oddName, fc.anything({ maxDepth: 1 })), type: fc.oneof(fc.constant('Microsoft.DBforPostgreSQL/flexibleServers/migrations'), unicode) }, { requiredKeys: [] }),
).map((o) => JSON.stringify(o) ?? '');

const body = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', 'true', '0', '[]', '"x"', '{', '{"properties":', '{"a":1,}', "{'a':1}", '\u0000', '\uFEFF{}', 'NaN', '{"a":1}{"b":2}') },
  { weight: 4, arbitrary: mutatedBody },
  { weight: 1, arbitrary: fc.constant(JSON.stringify(validBody('fuzzdb'))) },
  { weight: 2, arbitrary: deep },
  { weight: 1, arbitrary: huge },
  { weight: 2, arbitrary: pollution },
  { weight: 3, arbitrary: patchish },
);

/** Mostly a route with a method it serves (so the request reaches the function), sometimes anything. */
const target = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(segment, segment, fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE')).map(([s, n, m]) => ({ method: m, path: `/api/flexibleServers/${s}/migrations/${n}` })) },
  { weight: 2, arbitrary: segment.map((s) => ({ method: 'GET', path: `/api/flexibleServers/${s}/migrations` })) },
  { weight: 2, arbitrary: segment.map((s) => ({ method: 'POST', path: `/api/flexibleServers/${s}/checkMigrationNameAvailability` })) },
  { weight: 1, arbitrary: fc.constantFrom('/api/wizard/testConnection', '/api/wizard/listDatabases').map((p) => ({ method: 'POST', path: p })) },
  // Creates that may well succeed (a migration that then fails to connect), and field mutations of them.
  {
    weight: 2,
    arbitrary: fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.oneof(fc.constant(JSON.stringify(validBody('fuzzdb'))), mutatedBody)).map(([n, b]) => ({ method: 'PUT', path: `/api/flexibleServers/fuzz-srv/migrations/${n}`, body: b })),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(
      anyMethod,
      fc.oneof(
        fc.tuple(segment, segment).map(([s, n]) => `/api/flexibleServers/${s}/migrations/${n}`),
        fc.array(segment, { maxLength: 6 }).map((ss) => `/api/flexibleServers/${ss.join('/')}`),
        fc.tuple(segment, segment, segment).map(([s, n, x]) => `/api/flexibleServers/${s}/migrations/${n}/${x}`),
        fc.constantFrom('/api/wizard/testConnection', '/api/health', '/api/flexibleServers', '/api', '/', '/api//flexibleServers//migrations'),
      ),
    ).map(([m, p]) => ({ method: m, path: p })),
  },
);

/** Mostly the version pgferry implements (so requests reach the functions), sometimes none or junk. */
const apiVersion = fc.oneof(
  { weight: 8, arbitrary: fc.constant(CURRENT_API_VERSION) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom('2022-05-01-preview', '', 'latest', '2025-08-01 ', '__proto__'), unicode) },
);

const request: fc.Arbitrary<Req> = fc.record({
  target,
  query,
  apiVersion,
  body,
  contentType: fc.option(fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-16', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''), { nil: undefined }),
  key: fc.constantFrom<Req['key']>('good', 'good', 'good', 'good', 'good', 'good', 'good', 'good', 'none', 'wrong'),
}).map(({ target: t, ...rest }): Req => ({ ...rest, ...t, contentType: 'body' in t ? 'application/json' : rest.contentType }));

describe('bad input fuzz', () => {
  it(`answers ${RUNS} generated requests with 2xx/4xx JSON, never 5xx or a hang`, async () => {
    const statuses = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const a = await send(r);
        const code = a.status >= 400 && a.text.startsWith('{') ? (JSON.parse(a.text) as { error?: { code?: string } }).error?.code : undefined;
        const label = `${a.status}${code ? ` ${code}` : ''}`;
        statuses.set(label, (statuses.get(label) ?? 0) + 1);
        const p = problem(r, a);
        if (p) throw new Error(`${r.method} ${r.path}${r.query} api-version=${String(r.apiVersion)} (${r.body === undefined ? 'no body' : `${r.body.length} chars: ${r.body.slice(0, 200)}`}) → ${p}`);
        if (r.key !== 'good' && !keylessAnswerOk(r, a)) throw new Error(`${r.method} ${r.path}${r.query} without a valid key (${r.key}) → ${a.status} ${a.text.slice(0, 300)}`);
      }),
      { numRuns: RUNS, endOnFailure: false, interruptAfterTimeLimit: RUNS > 520 ? 3_000_000 : 150_000, markInterruptAsFailure: false },
    );
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    console.log(`fuzz: ${total} requests; answers ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0].localeCompare(b[0]))))}`);
    expect(total).toBeGreaterThanOrEqual(500);
    // The host survived: it still answers, and logged no failure of its own.
    expect((await fetch(`${host.api}/health`)).status).toBe(200);
    expect(host.logs()).not.toMatch(/failed in the host|unhandled rejection/);
  }, RUNS > 520 ? 3_600_000 : 240_000);

  it('answers malformed HTTP with JSON errors: unknown method, bad Host, huge headers, a body over 100 MB', async () => {
    const port = Number(new URL(host.url).port);
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(request));
        let out = '';
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => {
          out += d;
          // The answer is complete once its body (content-length) arrived; the 413 case leaves the connection open.
          const [head = '', body = ''] = out.split('\r\n\r\n');
          const len = /content-length: (\d+)/i.exec(head)?.[1];
          if (len !== undefined && Buffer.byteLength(body) >= Number(len)) socket.destroy();
        });
        socket.on('close', () => resolve(out));
        socket.on('error', reject);
        socket.setTimeout(HANG_MS, () => socket.destroy(new Error('no answer')));
      });
    const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
    const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };

    const method = await raw('FROB /api/health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(statusOf(method)).toBe(400);
    expect(bodyOf(method).error.message).toMatch(/method/);

    // The same refusal while a 3 MB body is still being sent: the host answers and drains the rest
    // instead of closing under the caller's writes (a fetch saw EPIPE there, not the answer).
    const streamed = await new Promise<{ answer: string; written: number }>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      let written = 0;
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (answer += d));
      socket.on('error', (e) => reject(new Error(`after ${written} body bytes: ${e.message}`)));
      socket.on('close', () => resolve({ answer, written }));
      socket.on('connect', () => {
        socket.write('FOO /api/flexibleServers/tgt/migrations/m HTTP/1.1\r\nHost: x\r\ncontent-length: 3000000\r\n\r\n');
        const send = (left: number): void => {
          if (left === 0) {
            socket.end();
            return;
          }
          socket.write('x'.repeat(100_000), () => {
            written += 100_000;
            setTimeout(() => send(left - 1), 10);
          });
        };
        send(30);
      });
    });
    expect(streamed.written).toBe(3_000_000);
    expect(statusOf(streamed.answer)).toBe(400);
    expect(bodyOf(streamed.answer).error.message).toMatch(/method/);

    const badHost = await raw('GET /api/health HTTP/1.1\r\nHost: bad host[\r\nConnection: close\r\n\r\n');
    expect(statusOf(badHost)).toBe(400);
    expect(bodyOf(badHost).error.message).toMatch(/Host/);

    const headers = await raw(`GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`);
    expect(statusOf(headers)).toBe(431);
    expect(bodyOf(headers).error.code).toBe('RequestHeaderFieldsTooLarge');

    const big = await raw(`PUT /api/flexibleServers/tgt/migrations/big HTTP/1.1\r\nHost: x\r\nx-functions-key: ${KEY}\r\ncontent-type: application/json\r\ncontent-length: 200000000\r\n\r\n{`);
    expect(statusOf(big)).toBe(413);
    expect(bodyOf(big).error.code).toBe('RequestEntityTooLarge');

    // Unauthenticated: refused on the headers, before any of the body is buffered.
    const refused = await raw('PUT /api/flexibleServers/tgt/migrations/big HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 90000000\r\n\r\n{');
    expect(statusOf(refused)).toBe(401);
    expect(host.logs()).not.toMatch(/failed in the host/);
  });

  it('does not let __proto__ keys change what later requests see', async () => {
    for (const b of ['{"__proto__":{"polluted":"yes"}}', '{"constructor":{"prototype":{"polluted":"yes"}}}']) {
      await send({ method: 'PUT', path: '/api/flexibleServers/tgt/migrations/pollute', query: '', body: b, contentType: 'application/json', key: 'good' });
    }
    const r = await send({ method: 'POST', path: '/api/flexibleServers/tgt/checkMigrationNameAvailability', query: '', body: '{"name":"fresh-name","type":"Microsoft.DBforPostgreSQL/flexibleServers/migrations"}', contentType: 'application/json', key: 'good' });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('polluted');
    const list = await send({ method: 'GET', path: '/api/flexibleServers/tgt/migrations', query: '?migrationListFilter=All', key: 'good' });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain('polluted');
  });
});
