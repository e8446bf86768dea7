/**
 * AES-256-GCM sealing of secrets. The additional authenticated data binds a sealed value to the
 * migration it belongs to, so a row copied to another migration does not decrypt. Each sealed
 * value names the key it was sealed with (a short fingerprint), which is what makes key rotation
 * possible: open with the current or the previous key, reseal with the current one.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export interface Sealed {
  /** Fingerprint of the key: first 16 hex digits of sha256(key). */
  kid: string;
  /** 12-byte nonce, base64. */
  iv: string;
  /** 16-byte GCM tag, base64. */
  tag: string;
  /** Ciphertext, base64. */
  data: string;
}

export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new SecretKeyError('the secret key must be 32 bytes (PGFERRY_SECRET_KEY = base64 of 32 random bytes)');
}

export function seal(plaintext: string, key: Buffer, aad: string): Sealed {
  checkKey(key);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { kid: keyId(key), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

/** Opens with whichever of the keys sealed it; throws a SecretKeyError naming the fix otherwise. */
export function open(sealed: Sealed, keys: readonly Buffer[], aad: string): string {
  const key = keys.find((k) => keyId(k) === sealed.kid);
  if (!key) {
    throw new SecretKeyError(`stored secrets were sealed with key ${sealed.kid}, which is neither PGFERRY_SECRET_KEY nor PGFERRY_SECRET_KEY_PREVIOUS`);
  }
  checkKey(key);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretKeyError('stored secrets failed authentication (tampered, or sealed for another migration)');
  }
}
