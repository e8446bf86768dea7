/**
 * Connection tests against the rig's real clusters: the source has SSL off, the target has SSL on
 * with a test CA whose server certificate names only `localhost`. Every failure must come back
 * classified, explained, on time, and without the password.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SslMode } from '../../shared/model/states';
import {
  closeQuietly,
  connect,
  listDatabases,
  PgConnectionError,
  testConnection,
  type ServerEndpoint,
  type TestConnectionFailure,
  type TestConnectionResult,
} from '../../shared/pg';
import { makeServerCerts } from '../support/certs';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { freePort } from '../support/ports';

const source = inject('source');
const target = inject('target');

type RigServer = typeof source;
const endpoint = (server: RigServer, sslMode: SslMode, extra: Partial<ServerEndpoint> = {}): ServerEndpoint => ({
  host: server.host,
  port: server.port,
  user: server.user,
  password: server.password,
  sslMode,
  ...extra,
});

/** Every failure seen in this file, checked at the end for the passwords. */
const failures: TestConnectionFailure[] = [];
const WRONG_PASSWORD = 'Wr0ng-Pa55word!';

async function expectFailure(result: TestConnectionResult): Promise<TestConnectionFailure> {
  if (result.ok) throw new Error(`expected a failure, got success: ${JSON.stringify(result)}`);
  failures.push(result);
  expect(result.message).not.toMatch(/\n/);
  expect(result.fix).not.toMatch(/\n/);
  return result;
}

describe('testConnection: success', () => {
  it('source with Prefer falls back to plaintext (server has SSL off)', async () => {
    const r = await testConnection(endpoint(source, 'Prefer'));
    expect(r).toMatchObject({ ok: true, ssl: false, currentUser: source.user, isSuperuser: true, canReplicate: true });
    if (!r.ok) return;
    expect(r.serverVersionNum).toBeGreaterThanOrEqual(source.major * 10000);
    expect(r.serverVersion).toMatch(new RegExp(`^${source.major}\\.\\d+$`));
    expect(r.facts).toMatchObject({ sslInUse: false, walLevel: 'logical', inRecovery: false });
    expect(r.facts.maxReplicationSlots).toBeGreaterThan(0);
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('target with Require is encrypted', async () => {
    const r = await testConnection(endpoint(target, 'Require'));
    expect(r).toMatchObject({ ok: true, ssl: true });
    if (r.ok) expect(r.facts.sslInUse).toBe(true);
  });

  it('target with Prefer uses SSL when the server offers it', async () => {
    expect(await testConnection(endpoint(target, 'Prefer'))).toMatchObject({ ok: true, ssl: true });
  });

  it('VerifyFull with the CA via the certificate’s name (localhost)', async () => {
    const r = await testConnection(endpoint(target, 'VerifyFull', { host: 'localhost', sslRootCert: target.caCertPem }));
    expect(r).toMatchObject({ ok: true, ssl: true });
  });

  it('VerifyCA with the CA via 127.0.0.1 (chain only, name not checked)', async () => {
    const r = await testConnection(endpoint(target, 'VerifyCA', { host: '127.0.0.1', sslRootCert: target.caCertPem }));
    expect(r).toMatchObject({ ok: true, ssl: true });
  });

  it('Require with the CA behaves like VerifyCA (libpq rule): right CA passes', async () => {
    const r = await testConnection(endpoint(target, 'Require', { host: '127.0.0.1', sslRootCert: target.caCertPem }));
    expect(r).toMatchObject({ ok: true, ssl: true });
  });
});

describe('testConnection: classified failures', () => {
  it('wrong password → AuthenticationFailed, with what to check', async () => {
    const r = await expectFailure(await testConnection(endpoint(source, 'Prefer', { password: WRONG_PASSWORD })));
    expect(r.kind).toBe('AuthenticationFailed');
    expect(r.sqlstate).toBe('28P01');
    expect(r.message).toContain(`"${source.user}"`);
    expect(r.message).toContain(`${source.host}:${source.port}`);
    expect(r.fix).toMatch(/user name and password/);
  });

  it('wrong port → ConnectionRefused', async () => {
    const port = await freePort();
    const r = await expectFailure(await testConnection(endpoint(source, 'Prefer', { port })));
    expect(r.kind).toBe('ConnectionRefused');
    expect(r.message).toContain(`${source.host}:${port}`);
    expect(r.fix).toMatch(/port/);
  });

  it('Require against a server without SSL → SslNotSupported', async () => {
    const r = await expectFailure(await testConnection(endpoint(source, 'Require')));
    expect(r.kind).toBe('SslNotSupported');
    expect(r.message).toMatch(/does not accept SSL/);
    expect(r.fix).toMatch(/Use SSL mode Prefer, or enable ssl on the server/);
  });

  it('unknown host → DnsFailure', async () => {
    const r = await expectFailure(await testConnection(endpoint(source, 'Prefer', { host: 'no-such-host.invalid' })));
    expect(r.kind).toBe('DnsFailure');
    expect(r.message).toContain('no-such-host.invalid');
  });

  it('VerifyFull via 127.0.0.1 → SslCertificateInvalid (name mismatch)', async () => {
    const r = await expectFailure(await testConnection(endpoint(target, 'VerifyFull', { host: '127.0.0.1', sslRootCert: target.caCertPem })));
    expect(r.kind).toBe('SslCertificateInvalid');
    expect(r.message).toMatch(/not issued for the name "127\.0\.0\.1"/);
    expect(r.fix).toMatch(/VerifyCA/);
  });

  it('VerifyCA without the CA → SslCertificateInvalid (untrusted issuer)', async () => {
    const r = await expectFailure(await testConnection(endpoint(target, 'VerifyCA')));
    expect(r.kind).toBe('SslCertificateInvalid');
    expect(r.message).toMatch(/not signed by a trusted CA/);
  });

  it('Require with a different CA → SslCertificateInvalid (Require + root cert verifies the chain)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgferry-otherca-'));
    try {
      const other = await makeServerCerts(dir);
      const r = await expectFailure(await testConnection(endpoint(target, 'Require', { sslRootCert: other.caCertPem })));
      expect(r.kind).toBe('SslCertificateInvalid');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('database missing → DatabaseMissing', async () => {
    const r = await expectFailure(await testConnection(endpoint(source, 'Prefer', { database: 'no_such_db_pgferry' })));
    expect(r.kind).toBe('DatabaseMissing');
    expect(r.message).toContain('"no_such_db_pgferry"');
  });

  it('invalid port → InvalidEndpoint without touching the network', async () => {
    const r = await expectFailure(await testConnection(endpoint(source, 'Prefer', { port: 70000 })));
    expect(r.kind).toBe('InvalidEndpoint');
  });
});

describe('testConnection: bounded time', () => {
  let silent: Server;
  let silentPort: number;
  const accepted: Socket[] = [];

  beforeAll(async () => {
    // Accepts the TCP connection and never says a word — the worst case for a client.
    silent = createServer((s) => {
      accepted.push(s);
      s.on('error', () => undefined);
      s.resume(); // read (and ignore) what the client sends, so its hang-up is noticed
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const addr = silent.address();
    silentPort = typeof addr === 'object' && addr ? addr.port : 0;
  });
  afterAll(async () => {
    for (const s of accepted) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it.each(['Prefer', 'Require', 'VerifyFull'] as const)('a server that never answers → Timeout within timeoutMs (%s)', async (sslMode) => {
    const timeoutMs = 1500;
    const before = accepted.length;
    const started = Date.now();
    const r = await expectFailure(await testConnection({ ...endpoint(source, sslMode), port: silentPort }, { timeoutMs }));
    const wall = Date.now() - started;
    expect(r.kind).toBe('Timeout');
    expect(r.message).toMatch(/accepted the TCP connection but did not complete the PostgreSQL handshake within 1500 ms/);
    expect(wall).toBeGreaterThanOrEqual(timeoutMs - 50);
    expect(wall).toBeLessThan(timeoutMs + 750);
    // Our side hung up: the server sees its socket closed.
    const mine = accepted.slice(before);
    expect(mine.length).toBe(1);
    await expect.poll(() => mine.every((s) => s.closed), { timeout: 2000 }).toBe(true);
  });
});

describe('connect', () => {
  it('throws a PgConnectionError carrying the classification and the original cause', async () => {
    const err = await connect(endpoint(source, 'Require')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgConnectionError);
    if (!(err instanceof PgConnectionError)) return;
    expect(err.kind).toBe('SslNotSupported');
    expect(err.retryable).toBe(false);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('survives the server killing an idle session (no unhandled error event)', async () => {
    const seen: Error[] = [];
    const client = await connect(endpoint(source, 'Prefer'), { onError: (e) => seen.push(e) });
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await sql(source, 'postgres', 'SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
    await expect.poll(() => seen.length, { timeout: 5000 }).toBeGreaterThan(0);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    await closeQuietly(client);
  });

  it('leaves no session behind after a test', async () => {
    const db = await createTestDatabase(source, 'conn_leak');
    try {
      expect(await testConnection(endpoint(source, 'Prefer', { database: db }))).toMatchObject({ ok: true });
      const count = async () =>
        Number((await sql(source, 'postgres', 'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [db])).rows[0]?.n);
      await expect.poll(count, { timeout: 3000 }).toBe(0);
    } finally {
      await dropTestDatabase(source, db);
    }
  });
});

describe('listDatabases', () => {
  const created: string[] = [];
  const limitedRole = `pgferry_limited_${process.pid}`;
  const limitedPassword = 'limited-Secret-42';

  beforeAll(async () => {
    created.push(await createTestDatabase(source, 'listdb'));
    created.push(await createTestDatabase(source, 'listdb', `List "Odd" Name ${process.pid}`));
    created.push(await createTestDatabase(source, 'listdb_private'));
    created.push(await createTestDatabase(source, 'listdb_noconn'));
    await sql(source, 'postgres', `CREATE ROLE ${limitedRole} LOGIN PASSWORD '${limitedPassword}'`);
    await sql(source, 'postgres', `REVOKE CONNECT ON DATABASE ${created[2]} FROM PUBLIC`);
    await sql(source, 'postgres', `ALTER DATABASE ${created[3]} ALLOW_CONNECTIONS false`);
  });
  afterAll(async () => {
    if (created[3]) await sql(source, 'postgres', `ALTER DATABASE ${created[3]} ALLOW_CONNECTIONS true`);
    for (const db of created) await dropTestDatabase(source, db);
    await sql(source, 'postgres', `DROP ROLE IF EXISTS ${limitedRole}`);
  });

  it('lists user databases with size, owner and encoding; no templates, no unconnectable ones', async () => {
    const dbs = await listDatabases(endpoint(source, 'Prefer'));
    const names = dbs.map((d) => d.name);
    expect(names).not.toContain('template0');
    expect(names).not.toContain('template1');
    expect(names).toContain('postgres');
    expect(names).toContain(created[0]);
    expect(names).toContain(created[1]);
    expect(names).not.toContain(created[3]);
    expect(names).toEqual([...names].sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1)));
    const fresh = dbs.find((d) => d.name === created[0]);
    expect(fresh).toMatchObject({ owner: source.user, encoding: 'UTF8', allowConnections: true });
    expect(fresh?.sizeBytes).toBeGreaterThan(1_000_000);
    expect(typeof fresh?.collate).toBe('string');
    expect(typeof fresh?.ctype).toBe('string');
  });

  it('works on a client it is given, and reports no size where the user may not connect', async () => {
    const client = await connect(endpoint(source, 'Prefer', { user: limitedRole, password: limitedPassword }));
    try {
      const dbs = await listDatabases(client);
      expect(dbs.find((d) => d.name === created[2])).toMatchObject({ sizeBytes: null });
      expect(dbs.find((d) => d.name === created[0])?.sizeBytes).toBeGreaterThan(0);
    } finally {
      await closeQuietly(client);
    }
  });

  it('reports a plain role as neither superuser nor able to replicate', async () => {
    const r = await testConnection(endpoint(source, 'Prefer', { user: limitedRole, password: limitedPassword }));
    expect(r).toMatchObject({ ok: true, isSuperuser: false, canReplicate: false, currentUser: limitedRole });
  });

  it('fails with a classified error for an unreachable endpoint', async () => {
    const port = await freePort();
    await expect(listDatabases(endpoint(source, 'Prefer', { port }))).rejects.toMatchObject({ kind: 'ConnectionRefused' });
  });
});

afterAll(() => {
  // The password never appears in any failure message or fix, whichever password was in use.
  expect(failures.length).toBeGreaterThanOrEqual(10);
  for (const f of failures) {
    const text = `${f.message} ${f.fix}`;
    expect(text).not.toContain(WRONG_PASSWORD);
    expect(text).not.toContain(source.password);
    expect(text).not.toContain(target.password);
  }
});
