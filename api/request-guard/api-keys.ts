import { createHash, timingSafeEqual } from 'node:crypto';

const HASHED = /^sha256:([0-9a-fA-F]{64})$/;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * The configured API keys, kept only as SHA-256 digests. A presented key is hashed and compared
 * with every digest in constant time, so neither its length nor its first wrong byte shows in the
 * response time, and the secrets themselves are not kept in memory past start-up.
 */
export class ApiKeyring {
  private constructor(private readonly digests: readonly Buffer[]) {}

  /** `API_KEYS`: comma-separated raw keys or `sha256:<hex>` digests (validated by the config schema). */
  static fromSetting(setting: string | undefined): ApiKeyring {
    const entries = (setting ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
    return new ApiKeyring(
      entries.map((entry) => {
        const hashed = HASHED.exec(entry);
        return hashed?.[1] ? Buffer.from(hashed[1].toLowerCase(), 'hex') : sha256(entry);
      }),
    );
  }

  /** No keys configured: the API is open to anyone who can reach it. */
  get empty(): boolean {
    return this.digests.length === 0;
  }

  get size(): number {
    return this.digests.length;
  }

  /**
   * The key's id (a short prefix of its digest: safe in logs and rate-limit keys) when it is one of
   * ours, else undefined. Every digest is compared, whatever matches first.
   */
  verify(presented: string): string | undefined {
    const digest = sha256(presented);
    let match: Buffer | undefined;
    for (const candidate of this.digests) {
      if (timingSafeEqual(candidate, digest)) match = candidate;
    }
    return match ? keyId(match) : undefined;
  }
}

/** The id under which a key appears in logs and rate limits: 12 hex digits of its SHA-256. */
export function keyId(digest: Buffer): string {
  return digest.subarray(0, 6).toString('hex');
}

/** The id of a raw key, as `ApiKeyring.verify` reports it (for operators and tests). */
export function idOfKey(key: string): string {
  return keyId(sha256(key));
}

/** `Authorization: Bearer <key>` or `x-api-key: <key>`; undefined when neither is present. */
export function presentedKey(headers: { authorization?: string | undefined; 'x-api-key'?: string | string[] | undefined }): string | undefined {
  const authorization = headers.authorization;
  if (authorization) {
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    // Another scheme (Basic, for instance) is not an API key: it is treated as no key.
    if (bearer?.[1]) return bearer[1];
  }
  const header = headers['x-api-key'];
  const value = Array.isArray(header) ? header[0] : header;
  return value ? value.trim() || undefined : undefined;
}
