import { timingSafeEqual } from 'node:crypto';
import { keyDigest, keyId, sha256 } from '../../core/key-digest.ts';

/** `name=` before a key: the tenant it belongs to. */
const NAMED = /^([a-z0-9][a-z0-9_.-]{0,62})=(.+)$/;

/** A tenant's role: `admin` keys may read and cancel every tenant's jobs. */
export type Role = 'user' | 'admin';

/** One accepted key, by its digest, and whom it speaks for. */
export interface KeyEntry {
  digest: Buffer;
  tenant: string;
  role: Role;
}

/** Who a verified key belongs to. `id` names the key itself (in logs and rate limits), never the secret. */
export interface KeyIdentity {
  id: string;
  tenant: string;
  role: Role;
}

/**
 * One `API_KEYS` entry: `<tenant>=<key>`, `<tenant>=sha256:<hex>`, or the key (or digest) alone,
 * which makes the key a tenant of its own, named by its id.
 */
export function parseKeyEntry(entry: string): KeyEntry {
  const named = NAMED.exec(entry);
  const digest = keyDigest(named?.[2] ?? entry);
  return { digest, tenant: named?.[1] ?? keyId(digest), role: 'user' };
}

/**
 * The configured API keys, kept only as SHA-256 digests. A presented key is hashed and compared
 * with every digest in constant time, so neither its length nor its first wrong byte shows in the
 * response time, and the secrets themselves are not kept in memory past start-up.
 */
export class ApiKeyring {
  private constructor(private readonly entries: readonly KeyEntry[]) {}

  static of(entries: readonly KeyEntry[]): ApiKeyring {
    return new ApiKeyring(entries);
  }

  /** `API_KEYS`: comma-separated entries (validated by the config schema), see `parseKeyEntry`. */
  static fromSetting(setting: string | undefined): ApiKeyring {
    return new ApiKeyring(parseKeySetting(setting));
  }

  /** No keys configured: the API is open to anyone who can reach it. */
  get empty(): boolean {
    return this.entries.length === 0;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The tenants that have keys. */
  get tenants(): string[] {
    return [...new Set(this.entries.map((entry) => entry.tenant))];
  }

  /** The key's identity when it is one of ours, else undefined. Every digest is compared, whatever matches first. */
  verify(presented: string): KeyIdentity | undefined {
    const digest = sha256(presented);
    let match: KeyEntry | undefined;
    for (const candidate of this.entries) {
      if (timingSafeEqual(candidate.digest, digest)) match = candidate;
    }
    return match ? { id: keyId(match.digest), tenant: match.tenant, role: match.role } : undefined;
  }
}

export function parseKeySetting(setting: string | undefined): KeyEntry[] {
  return (setting ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map(parseKeyEntry);
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
