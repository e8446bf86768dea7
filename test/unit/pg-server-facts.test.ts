import { describe, expect, it } from 'vitest';
import { formatVersion } from '../../shared/pg/server-facts';
import { hostPort } from '../../shared/pg/endpoint';

describe('formatVersion', () => {
  it.each([
    [150008, '15.8', 15],
    [170000, '17.0', 17],
    [100023, '10.23', 10],
    [90624, '9.6.24', 9],
    [90500, '9.5.0', 9],
  ])('%i → %s', (num, text, major) => {
    expect(formatVersion(num)).toEqual({ serverVersion: text, majorVersion: major });
  });
});

describe('hostPort', () => {
  it('brackets IPv6 literals', () => {
    expect(hostPort({ host: '::1', port: 5432 })).toBe('[::1]:5432');
    expect(hostPort({ host: 'db', port: 5432 })).toBe('db:5432');
  });
});
