import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, seal, keyId, SecretKeyError } from '../../shared/secrets/crypto';

describe('secret sealing (AES-256-GCM)', () => {
  const key = randomBytes(32);
  const other = randomBytes(32);

  it('round-trips unicode and never stores the plaintext', () => {
    const s = seal('pässwörd "quoted" 🔑', key, 'pgferry/migration/srv/m1');
    expect(JSON.stringify(s)).not.toContain('pässwörd');
    expect(s.kid).toBe(keyId(key));
    expect(open(s, [key], 'pgferry/migration/srv/m1')).toBe('pässwörd "quoted" 🔑');
  });

  it('uses a fresh nonce each time', () => {
    expect(seal('x', key, 'a').iv).not.toBe(seal('x', key, 'a').iv);
  });

  it('refuses a value sealed for another migration (AAD)', () => {
    const s = seal('secret', key, 'pgferry/migration/srv/m1');
    expect(() => open(s, [key], 'pgferry/migration/srv/m2')).toThrow(/failed authentication/);
  });

  it('refuses a tampered ciphertext', () => {
    const s = seal('secret', key, 'a');
    const bytes = Buffer.from(s.data, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    expect(() => open({ ...s, data: bytes.toString('base64') }, [key], 'a')).toThrow(SecretKeyError);
  });

  it('opens with the previous key after a rotation and names the missing key otherwise', () => {
    const s = seal('secret', other, 'a');
    expect(open(s, [key, other], 'a')).toBe('secret');
    expect(() => open(s, [key], 'a')).toThrow(/neither PGFERRY_SECRET_KEY nor PGFERRY_SECRET_KEY_PREVIOUS/);
  });

  it('refuses keys of the wrong length', () => {
    expect(() => seal('x', randomBytes(16), 'a')).toThrow(/32 bytes/);
  });
});
