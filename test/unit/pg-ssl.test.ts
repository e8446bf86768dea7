import { describe, expect, it } from 'vitest';
import type { ConnectionOptions } from 'tls';
import type { SslMode } from '../../shared/model/states';
import type { ServerEndpoint } from '../../shared/pg/endpoint';
import { APPLICATION_NAME, buildConnectAttempts, effectiveSslMode } from '../../shared/pg/ssl';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const endpoint = (sslMode: SslMode, extra: Partial<ServerEndpoint> = {}): ServerEndpoint => ({
  host: 'db.example.com',
  port: 5432,
  user: 'migrator',
  password: 'p@ss w0rd',
  sslMode,
  ...extra,
});
const sslOf = (e: ServerEndpoint) => buildConnectAttempts(e).map((a) => a.config.ssl);

describe('buildConnectAttempts: libpq sslmode semantics', () => {
  it('Prefer: SSL without verification first, then plaintext', () => {
    const attempts = buildConnectAttempts(endpoint('Prefer'));
    expect(attempts.map((a) => [a.encrypted, a.verification])).toEqual([
      [true, 'none'],
      [false, 'plaintext'],
    ]);
    expect(attempts[0]?.config.ssl).toEqual({ rejectUnauthorized: false });
    expect(attempts[1]?.config.ssl).toBe(false);
  });

  it('Prefer ignores a root certificate (libpq never verifies in prefer)', () => {
    expect(sslOf(endpoint('Prefer', { sslRootCert: CA }))).toEqual([{ rejectUnauthorized: false }, false]);
  });

  it('Require: one encrypted attempt, no verification', () => {
    expect(sslOf(endpoint('Require'))).toEqual([{ rejectUnauthorized: false }]);
  });

  it('Require with a root certificate behaves like VerifyCA (libpq rule)', () => {
    const [only, ...rest] = buildConnectAttempts(endpoint('Require', { sslRootCert: CA }));
    expect(rest).toEqual([]);
    expect(only?.verification).toBe('chain');
    const ssl = only?.config.ssl as ConnectionOptions;
    expect(ssl.rejectUnauthorized).toBe(true);
    expect(ssl.ca).toBe(CA);
    expect(ssl.checkServerIdentity?.('other.host', {} as never)).toBeUndefined();
  });

  it('a blank root certificate does not count', () => {
    expect(effectiveSslMode('Require', '  \n')).toBe('Require');
    expect(effectiveSslMode('Require', CA)).toBe('VerifyCA');
    expect(effectiveSslMode('Prefer', CA)).toBe('Prefer');
  });

  it('VerifyCA: chain verified against the given CA, host name not checked', () => {
    const ssl = buildConnectAttempts(endpoint('VerifyCA', { sslRootCert: CA }))[0]?.config.ssl as ConnectionOptions;
    expect(ssl.rejectUnauthorized).toBe(true);
    expect(ssl.ca).toBe(CA);
    expect(typeof ssl.checkServerIdentity).toBe('function');
  });

  it('VerifyCA without a root certificate uses the system CAs (no ca option)', () => {
    const ssl = buildConnectAttempts(endpoint('VerifyCA'))[0]?.config.ssl as ConnectionOptions;
    expect(ssl.rejectUnauthorized).toBe(true);
    expect('ca' in ssl).toBe(false);
  });

  it('VerifyFull: chain and host name verified (Node default identity check)', () => {
    const [only, ...rest] = buildConnectAttempts(endpoint('VerifyFull', { sslRootCert: CA }));
    expect(rest).toEqual([]);
    expect(only?.verification).toBe('chain+hostname');
    const ssl = only?.config.ssl as ConnectionOptions;
    expect(ssl).toEqual({ ca: CA, rejectUnauthorized: true });
  });

  it.each(['Prefer', 'Require', 'VerifyCA', 'VerifyFull'] as const)('%s: never leaves ssl undefined (node-pg would read PGSSLMODE)', (mode) => {
    for (const a of buildConnectAttempts(endpoint(mode))) expect(a.config.ssl).not.toBeUndefined();
  });
});

describe('buildConnectAttempts: common settings', () => {
  it('sets identity, application_name, keepalive and the timeout', () => {
    const [a] = buildConnectAttempts(endpoint('Require'), { connectTimeoutMs: 2500 });
    expect(a?.config).toMatchObject({
      host: 'db.example.com',
      port: 5432,
      user: 'migrator',
      database: 'postgres',
      application_name: APPLICATION_NAME,
      connectionTimeoutMillis: 2500,
      keepAlive: true,
    });
  });

  it('uses the endpoint database, overridable per call', () => {
    expect(buildConnectAttempts(endpoint('Require', { database: 'sales' }))[0]?.config.database).toBe('sales');
    expect(buildConnectAttempts(endpoint('Require', { database: 'sales' }), { database: 'postgres' })[0]?.config.database).toBe('postgres');
  });

  it('adds session timeouts only when asked', () => {
    const plain = buildConnectAttempts(endpoint('Require'))[0]?.config;
    expect(plain && 'statement_timeout' in plain).toBe(false);
    const timed = buildConnectAttempts(endpoint('Require'), { statementTimeoutMs: 5000, lockTimeoutMs: 1000 })[0]?.config;
    expect(timed).toMatchObject({ statement_timeout: 5000, lock_timeout: 1000 });
  });

  it('never uses a 0 ms connect timeout (node-pg reads 0 as "wait forever")', () => {
    expect(buildConnectAttempts(endpoint('Require'), { connectTimeoutMs: 0 })[0]?.config.connectionTimeoutMillis).toBe(1);
  });

  it('carries the password but hides it from logs and JSON', () => {
    const config = buildConnectAttempts(endpoint('Prefer'))[0]?.config;
    expect(config?.password).toBe('p@ss w0rd');
    expect(JSON.stringify(config)).not.toContain('p@ss w0rd');
    expect(Object.keys(config ?? {})).not.toContain('password');
  });
});
