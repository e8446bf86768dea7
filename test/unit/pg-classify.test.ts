import { DatabaseError } from 'pg';
import { describe, expect, it } from 'vitest';
import { classifyError } from '../../shared/pg/classify';
import {
  CONNECTION_ERROR_KINDS,
  ConnectTimeoutError,
  PgConnectionError,
  redact,
  type ClassifyContext,
  type ConnectionErrorKind,
} from '../../shared/pg/errors';
import { isRetryable, networkCodeOf, sqlstateOf } from '../../shared/pg/retryable';

const PASSWORD = 'Tr0ub4dor&3';
const ctx: ClassifyContext = { host: 'db.example.com', port: 6543, user: 'migrator', sslMode: 'Require', database: 'sales', password: PASSWORD };

function serverError(sqlstate: string, message: string): DatabaseError {
  const err = new DatabaseError(message, message.length, 'error');
  err.code = sqlstate;
  err.severity = 'FATAL';
  return err;
}
function nodeError(code: string, message = `connect ${code} 10.0.0.1:6543`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

const cases: [string, unknown, ConnectionErrorKind, boolean][] = [
  ['DNS unknown host', nodeError('ENOTFOUND', 'getaddrinfo ENOTFOUND db.example.com'), 'DnsFailure', false],
  ['DNS temporary', nodeError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN db.example.com'), 'DnsFailure', true],
  ['refused', nodeError('ECONNREFUSED'), 'ConnectionRefused', true],
  ['refused on every address (happy eyeballs)', Object.assign(new AggregateError([nodeError('ECONNREFUSED'), nodeError('ECONNREFUSED')], ''), {}), 'ConnectionRefused', true],
  ['unreachable', nodeError('EHOSTUNREACH'), 'NetworkUnreachable', true],
  ['socket timeout', nodeError('ETIMEDOUT'), 'Timeout', true],
  ['node-pg connect timeout', new Error('timeout expired'), 'Timeout', true],
  ['our timeout', new ConnectTimeoutError('tcp', 5000), 'Timeout', true],
  ['reset', nodeError('ECONNRESET', 'read ECONNRESET'), 'ConnectionLost', true],
  ['terminated', new Error('Connection terminated unexpectedly'), 'ConnectionLost', true],
  ['no SSL on server', new Error('The server does not support SSL connections'), 'SslNotSupported', false],
  ['not PostgreSQL', new Error('There was an error establishing an SSL connection'), 'ProtocolError', false],
  ['self-signed', nodeError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), 'SslCertificateInvalid', false],
  ['unknown CA', nodeError('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'), 'SslCertificateInvalid', false],
  ['expired', nodeError('CERT_HAS_EXPIRED', 'certificate has expired'), 'SslCertificateInvalid', false],
  ['host name mismatch', nodeError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), 'SslCertificateInvalid', false],
  ['TLS version', nodeError('ERR_SSL_UNSUPPORTED_PROTOCOL', 'unsupported protocol'), 'SslHandshakeFailed', false],
  ['wrong password', serverError('28P01', 'password authentication failed for user "migrator"'), 'AuthenticationFailed', false],
  ['empty password', new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a non-empty string'), 'AuthenticationFailed', false],
  ['no pg_hba entry', serverError('28000', 'no pg_hba.conf entry for host "10.1.1.1", user "migrator", database "sales", SSL encryption'), 'AuthenticationFailed', false],
  ['role cannot log in', serverError('28000', 'role "migrator" is not permitted to log in'), 'AuthenticationFailed', false],
  ['SSL required (PG 14+)', serverError('28000', 'no pg_hba.conf entry for host "10.1.1.1", user "migrator", database "sales", no encryption'), 'SslRequiredByServer', false],
  ['SSL required (before 14)', serverError('28000', 'no pg_hba.conf entry for host "10.1.1.1", user "migrator", database "sales", SSL off'), 'SslRequiredByServer', false],
  ['database missing', serverError('3D000', 'database "sales" does not exist'), 'DatabaseMissing', false],
  ['no CONNECT privilege', serverError('42501', 'permission denied for database "sales"'), 'PermissionDenied', false],
  ['too many connections', serverError('53300', 'sorry, too many clients already'), 'TooManyConnections', true],
  ['starting up', serverError('57P03', 'the database system is starting up'), 'ServerStarting', true],
  ['admin shutdown', serverError('57P01', 'terminating connection due to administrator command'), 'ServerShuttingDown', true],
  ['protocol violation', serverError('08P01', 'invalid startup packet layout'), 'ProtocolError', false],
  ['connection failure', serverError('08006', 'connection failure'), 'ConnectionLost', true],
  ['anything else', serverError('XX000', 'something odd'), 'Unknown', false],
  ['a thrown string', 'boom', 'Unknown', false],
];

describe('classifyError', () => {
  it.each(cases)('%s → %s', (_label, error, kind, retryable) => {
    const c = classifyError(error, ctx);
    expect(c.kind).toBe(kind);
    expect(c.retryable).toBe(retryable);
    expect(c.message).not.toMatch(/\n/);
    expect(c.fix).not.toMatch(/\n/);
    expect(c.fix.length).toBeGreaterThan(10);
  });

  it('covers every kind with a case (except InvalidEndpoint, produced by testConnection)', () => {
    const seen = new Set(cases.map(([, e]) => classifyError(e, ctx).kind));
    expect(CONNECTION_ERROR_KINDS.filter((k) => !seen.has(k))).toEqual(['InvalidEndpoint']);
  });

  it.each(cases.filter(([, e]) => !(typeof e === 'string')))('%s: names the server', (_label, error) => {
    const { message } = classifyError(error, ctx);
    expect(message.includes('db.example.com:6543') || message.includes('"db.example.com"')).toBe(true);
  });

  it('explains a missing pg_hba entry as such', () => {
    const c = classifyError(cases.find(([l]) => l === 'no pg_hba entry')?.[1], ctx);
    expect(c.message).toMatch(/no pg_hba\.conf entry/);
    expect(c.fix).toMatch(/pg_hba\.conf/);
  });

  it('does not blame SSL for a missing pg_hba line on a server that has no SSL at all', () => {
    const err = cases.find(([l]) => l === 'SSL required (PG 14+)')?.[1];
    const c = classifyError(err, { ...ctx, serverSupportsSsl: false });
    expect(c.kind).toBe('AuthenticationFailed');
    expect(c.message).toMatch(/no pg_hba\.conf entry .*\(unencrypted connection\)/);
    expect(c.fix).toMatch(/"host all migrator/);
  });

  it('suggests a hostssl line when the rejected connection was encrypted', () => {
    const c = classifyError(cases.find(([l]) => l === 'no pg_hba entry')?.[1], ctx);
    expect(c.fix).toMatch(/"hostssl all migrator/);
  });

  it('tells Require users without server SSL to use Prefer or enable ssl', () => {
    const c = classifyError(new Error('The server does not support SSL connections'), ctx);
    expect(c.message).toContain('Require');
    expect(c.fix).toMatch(/Use SSL mode Prefer, or enable ssl on the server/);
  });

  it('distinguishes a dropped SYN from a silent server', () => {
    expect(classifyError(new ConnectTimeoutError('tcp', 3000), ctx).message).toMatch(/No TCP answer from db.example.com:6543 within 3 s/);
    expect(classifyError(new ConnectTimeoutError('startup', 3000), ctx).message).toMatch(/accepted the TCP connection/);
    expect(classifyError(new ConnectTimeoutError('dns', 1500), ctx).message).toMatch(/DNS lookup .* within 1500 ms/);
  });

  it('keeps SQLSTATE and node code for logs', () => {
    expect(classifyError(serverError('3D000', 'x'), ctx)).toMatchObject({ sqlstate: '3D000' });
    expect(classifyError(nodeError('ECONNREFUSED'), ctx)).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('never repeats the password, even when the error text contains it', () => {
    const leaky = serverError('XX000', `could not parse "password=${PASSWORD}"`);
    const c = classifyError(leaky, ctx);
    expect(c.message).not.toContain(PASSWORD);
    expect(c.message).toContain('***');
    for (const [, error] of cases) {
      const all = classifyError(error, ctx);
      expect(`${all.message} ${all.fix}`).not.toContain(PASSWORD);
    }
  });

  it('masks a password equal to the user name, and a very short one only in what it echoes', () => {
    const same = classifyError(serverError('28P01', 'password authentication failed for user "migrator"'), { ...ctx, password: 'migrator' });
    expect(same.message).not.toContain('migrator');
    const short = classifyError(new ConnectTimeoutError('startup', 1000), { ...ctx, password: 'y' });
    expect(short.fix).toContain('proxy');
    const echoed = classifyError(serverError('XX000', 'odd y here'), { ...ctx, password: 'y' });
    expect(echoed.message).toContain('odd *** here');
  });

  it('returns a PgConnectionError’s classification unchanged', () => {
    const inner = classifyError(nodeError('ECONNREFUSED'), ctx);
    const err = new PgConnectionError(inner);
    expect(classifyError(err, { ...ctx, host: 'elsewhere' })).toBe(inner);
    expect(err.message).toBe(inner.message);
    expect(err.kind).toBe('ConnectionRefused');
  });
});

describe('retryable table', () => {
  it.each([
    ['40001', true],
    ['40P01', true],
    ['55P03', true],
    ['57P01', true],
    ['53300', true],
    ['08006', true],
    ['23505', false],
    ['42P01', false],
    ['28P01', false],
  ])('SQLSTATE %s → %s', (sqlstate, retryable) => {
    expect(isRetryable(serverError(sqlstate, 'x'))).toBe(retryable);
  });

  it.each([
    ['ECONNRESET', true],
    ['EPIPE', true],
    ['ENOTFOUND', false],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', false],
  ])('node code %s → %s', (code, retryable) => {
    expect(isRetryable(nodeError(code))).toBe(retryable);
  });

  it('knows node-pg’s message-only errors and our own', () => {
    expect(isRetryable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isRetryable(new ConnectTimeoutError('tcp', 1))).toBe(true);
    expect(isRetryable(new Error('syntax error'))).toBe(false);
  });

  it('does not mistake the SQLSTATE of a server error for a node code', () => {
    const err = serverError('57P01', 'x');
    expect(sqlstateOf(err)).toBe('57P01');
    expect(networkCodeOf(err)).toBeUndefined();
  });
});

describe('redact', () => {
  it('replaces every occurrence and leaves text without a secret alone', () => {
    expect(redact('a s3cret b s3cret', 's3cret')).toBe('a *** b ***');
    expect(redact('nothing here', undefined)).toBe('nothing here');
    expect(redact('nothing here', '')).toBe('nothing here');
  });
});
