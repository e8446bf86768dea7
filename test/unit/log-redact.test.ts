/**
 * shared/log: one JSON line per event with the fixed fields first, and redaction of anything that
 * looks like a secret — by field name at any depth, by `password=` / URL-password / `?code=`
 * shapes in text, and by registered known values — without ever throwing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { Logger, REDACTED, addKnownSecret, formatLine, redactText, redactValue, type LogLevel } from '../../shared/log';

const at = new Date('2026-01-02T03:04:05.678Z');

function capture(): { lines: Array<{ level: LogLevel; rec: Record<string, unknown> }>; log: Logger } {
  const lines: Array<{ level: LogLevel; rec: Record<string, unknown> }> = [];
  const log = new Logger((level, line) => lines.push({ level, rec: JSON.parse(line) as Record<string, unknown> }));
  return { lines, log };
}

describe('log lines', () => {
  it('are one JSON object: time, level, msg, migration, database, phase, durationMs, error, then the rest', () => {
    const line = formatLine('info', 'copyChunk done', { chunk: 3, durationMs: 12.6, phase: 'copyChunk', database: 'db1', migration: 'tgt/m1' }, at);
    expect(line).not.toContain('\n');
    expect(Object.keys(JSON.parse(line) as object)).toEqual(['time', 'level', 'msg', 'migration', 'database', 'phase', 'durationMs', 'chunk']);
    expect(JSON.parse(line)).toEqual({ time: '2026-01-02T03:04:05.678Z', level: 'info', msg: 'copyChunk done', migration: 'tgt/m1', database: 'db1', phase: 'copyChunk', durationMs: 13, chunk: 3 });
  });

  it('render errors with name, message and SQLSTATE code; the stack only on error lines', () => {
    const err = Object.assign(new Error('relation "x" does not exist'), { code: '42P01' });
    const warn = JSON.parse(formatLine('warn', 'm', { error: err })) as { error: Record<string, unknown> };
    expect(warn.error).toEqual({ name: 'Error', message: 'relation "x" does not exist', code: '42P01' });
    const error = JSON.parse(formatLine('error', 'm', { error: err })) as { error: Record<string, unknown> };
    expect(String(error.error.stack)).toMatch(/^Error: relation/);
    expect(JSON.parse(formatLine('warn', 'm', { error: 'plain text' }))).toMatchObject({ error: { message: 'plain text' } });
  });

  it('carry child fields, and survive cycles, BigInt, Buffers and a failing sink', () => {
    const { lines, log } = capture();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    log.child({ migration: 'tgt/m1' }).child({ database: 'd' }).info('x', { cyclic, big: 10n, buf: Buffer.from('abc') });
    expect(lines[0]?.rec).toMatchObject({ migration: 'tgt/m1', database: 'd', cyclic: { a: 1, self: '[Circular]' }, big: '10', buf: '<3 bytes>' });
    expect(() => new Logger(() => { throw new Error('sink down'); }).error('x')).not.toThrow();
  });
});

describe('redaction', () => {
  const fieldCases: Array<[string, unknown]> = [
    ['password', { password: 'hunter2-xyz' }],
    ['nested ARM credentials', { properties: { secretParameters: { adminCredentials: { sourceServerPassword: 'hunter2-xyz' } } } }],
    ['camel case', { targetServerPassword: 'hunter2-xyz' }],
    ['connection string', { connectionString: 'hunter2-xyz' }],
    ['account key', { accountKey: 'hunter2-xyz' }],
    ['function key header', { 'x-functions-key': 'hunter2-xyz' }],
    ['secret in an array', { list: [{ PGFERRY_SECRET_KEY: 'hunter2-xyz' }] }],
    ['token', { accessToken: 'hunter2-xyz' }],
    ['authorization', { Authorization: 'Bearer hunter2-xyz' }],
  ];
  for (const [what, value] of fieldCases) {
    it(`blanks fields by name: ${what}`, () => {
      const line = formatLine('info', 'm', { value });
      expect(line).not.toContain('hunter2');
      expect(line).toContain(REDACTED);
    });
  }

  const textCases: Array<[string, string]> = [
    ['libpq keyword', 'host=db port=5432 user=app password=hunter2-xyz sslmode=require'],
    ['URL password', 'postgres://app:hunter2-xyz@db.example.com:5432/postgres'],
    ['JSON text', '{"sourceServerPassword":"hunter2-xyz","x":1}'],
    ['Azure storage connection string', 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=hunter2-xyz;EndpointSuffix=core.windows.net'],
    ['function key in a URL', 'GET /api/x?code=hunter2-xyz&a=1'],
    ['SAS signature', 'https://a.blob.core.windows.net/c?sv=1&sig=hunter2-xyz'],
  ];
  for (const [what, text] of textCases) {
    it(`scrubs text: ${what}`, () => {
      expect(redactText(text)).not.toContain('hunter2');
      expect(formatLine('error', text, { error: new Error(text) })).not.toContain('hunter2');
    });
  }

  it('keeps ordinary words: phase, code, key names and the auth failure message', () => {
    const line = formatLine('warn', 'password authentication failed for user "app"', { phase: 'applySchema:preData', code: '28P01', partitionKey: 'p', rowKey: 'r' });
    expect(JSON.parse(line)).toMatchObject({ msg: 'password authentication failed for user "app"', phase: 'applySchema:preData', code: '28P01', partitionKey: 'p', rowKey: 'r' });
  });

  it('scrubs registered secret values wherever they appear, the longest first', () => {
    addKnownSecret('s3cr3t-Value-Ω');
    addKnownSecret('s3cr3t-Value-Ω-longer');
    addKnownSecret('ab'); // too short to scrub safely: ignored
    expect(redactText('a s3cr3t-Value-Ω-longer b s3cr3t-Value-Ω c ab')).toBe(`a ${REDACTED} b ${REDACTED} c ab`);
    expect(redactValue({ note: ['x s3cr3t-Value-Ω'] })).toEqual({ note: [`x ${REDACTED}`] });
  });

  it('caps long strings and deep objects', () => {
    expect(redactText('x'.repeat(10_000)).length).toBeLessThan(4_100);
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(JSON.stringify(redactValue(deep))).toContain('[…]');
  });

  it('never lets a password through a secret-named field or a key=value pair (property)', () => {
    const password = fc.stringMatching(/^[A-Za-z0-9!#$%()*+\-./<=>?@[\]^_`{|~]{8,40}$/);
    fc.assert(
      fc.property(password, fc.constantFrom('password', 'Password', 'sourceServerPassword', 'pwd', 'secret', 'token'), (pw, key) => {
        expect(formatLine('info', 'm', { [key]: pw, nested: { deeper: { [key]: pw } } })).not.toContain(pw);
        expect(formatLine('info', `connecting with ${key}=${pw} now`, {})).not.toContain(pw);
        expect(formatLine('info', `{"${key}":"${pw}"}`, {})).not.toContain(pw);
      }),
      { numRuns: 300 },
    );
  });
});
