import { createHash, randomBytes } from 'node:crypto';

/**
 * API keys are known by their SHA-256 digests only: configuration, key files and logs never need
 * the secret. Shared by the API, which verifies keys, and `npm run keys`, which makes them.
 */

const HASHED = /^sha256:([0-9a-fA-F]{64})$/;

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** A key given as itself or as `sha256:<hex>`, as its digest. */
export function keyDigest(keyOrDigest: string): Buffer {
  const hashed = HASHED.exec(keyOrDigest);
  return hashed?.[1] ? Buffer.from(hashed[1].toLowerCase(), 'hex') : sha256(keyOrDigest);
}

/** How a key is written where its secret must not be: `sha256:<64 hex>`. */
export function digestSetting(key: string): string {
  return `sha256:${sha256(key).toString('hex')}`;
}

/** The id under which a key appears in logs and rate limits: 12 hex digits of its SHA-256. */
export function keyId(digest: Buffer): string {
  return digest.subarray(0, 6).toString('hex');
}

/** A new key: 32 random bytes, base64url (no `=`, `,` or spaces, so it fits `API_KEYS` as it is). */
export function newApiKey(): string {
  return `llmo_${randomBytes(32).toString('base64url')}`;
}
