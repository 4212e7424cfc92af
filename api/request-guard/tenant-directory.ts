import { readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Config } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import { keyDigest } from '../../core/key-digest.ts';
import { ApiKeyring, parseKeySetting, type KeyEntry, type Role } from './api-keys.ts';

const tenantName = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a tenant name is lowercase letters, digits, ".", "_" or "-" (at most 63)');
const digest = z.string().regex(/^sha256:[0-9a-fA-F]{64}$/, 'keys are listed as sha256:<64 hex digits> (npm run keys -- digest <key>)');

/** `API_KEYS_FILE`: tenants with their key digests, role and limits. Only digests: the file holds no secret. */
export const keysFileSchema = z.strictObject({
  tenants: z.array(
    z.strictObject({
      name: tenantName,
      role: z.enum(['user', 'admin']).default('user'),
      keys: z.array(digest).default([]),
      limits: z
        .strictObject({
          /** Jobs queued or active at once (`TENANT_MAX_JOBS`). */
          max_jobs: z.number().int().min(0).optional(),
          /** Prompt and completion tokens per UTC day (`TENANT_TOKENS_PER_DAY`); 0 is no budget. */
          tokens_per_day: z.number().int().min(0).optional(),
        })
        .default({}),
    }),
  ),
});
export type KeysFile = z.infer<typeof keysFileSchema>;

/** A tenant's limits, with every default applied. */
export interface TenantLimits {
  maxJobs: number;
  /** 0: no daily budget. */
  tokensPerDay: number;
}

export class KeysFileError extends Error {
  constructor(file: string, detail: string) {
    super(`API_KEYS_FILE=${file}: ${detail}`);
    this.name = 'KeysFileError';
  }
}

/** Reads and checks the keys file; YAML (JSON is YAML too). The message names what is wrong, never a key. */
export function readKeysFile(file: string): KeysFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new KeysFileError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new KeysFileError(file, `is not YAML or JSON (${(error as Error).message.split('\n')[0]})`);
  }
  const parsed = keysFileSchema.safeParse(data);
  if (!parsed.success) {
    throw new KeysFileError(file, parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; '));
  }
  const names = parsed.data.tenants.map((tenant) => tenant.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) throw new KeysFileError(file, `tenant ${twice} is listed twice`);
  return parsed.data;
}

interface Snapshot {
  keyring: ApiKeyring;
  limits: Map<string, Partial<TenantLimits>>;
}

/**
 * The tenants this API process knows: the keys of `API_KEYS` and of `API_KEYS_FILE`, and the
 * limits of each. The file is read again whenever it changes (or on SIGHUP), so every API process
 * takes up a change without a restart; a file that no longer parses is reported and the last good
 * one stays in force.
 */
export class TenantDirectory {
  private snapshot: Snapshot;
  private watcher: FSWatcher | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private readonly onHangUp = () => this.reload('SIGHUP');

  constructor(
    private readonly config: Pick<Config, 'API_KEYS' | 'API_KEYS_FILE' | 'TENANT_MAX_JOBS' | 'TENANT_TOKENS_PER_DAY'>,
    private readonly logger: Logger,
  ) {
    // A bad file at start stops the process: the operator is there to see it.
    this.snapshot = this.load();
  }

  get keyring(): ApiKeyring {
    return this.snapshot.keyring;
  }

  limitsOf(tenant: string): TenantLimits {
    const own = this.snapshot.limits.get(tenant) ?? {};
    return {
      maxJobs: own.maxJobs ?? this.config.TENANT_MAX_JOBS,
      tokensPerDay: own.tokensPerDay ?? this.config.TENANT_TOKENS_PER_DAY,
    };
  }

  /** Follows the keys file: changes (editors often replace the file, so its directory is watched) and SIGHUP. */
  watch(): this {
    const file = this.config.API_KEYS_FILE;
    if (!file) return this;
    const base = path.basename(file);
    this.watcher = watch(path.dirname(path.resolve(file)), (_event, name) => {
      if (name !== null && name !== base) return;
      // Writes come in bursts (truncate, write, rename): read once they settle.
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => this.reload('change'), 100);
    });
    this.watcher.on('error', (error) => this.logger.warn({ err: error.message }, 'API_KEYS_FILE watch failed: reload with SIGHUP'));
    process.on('SIGHUP', this.onHangUp);
    return this;
  }

  reload(reason: string): void {
    try {
      this.snapshot = this.load();
      this.logger.info({ reason, keys: this.snapshot.keyring.size, tenants: this.snapshot.keyring.tenants.length }, 'API keys reloaded');
    } catch (error) {
      this.logger.error({ reason, err: (error as Error).message }, 'API_KEYS_FILE not reloaded: the previous keys stay in force');
    }
  }

  close(): void {
    clearTimeout(this.reloadTimer);
    this.watcher?.close();
    process.off('SIGHUP', this.onHangUp);
  }

  private load(): Snapshot {
    const entries: KeyEntry[] = parseKeySetting(this.config.API_KEYS);
    const limits = new Map<string, Partial<TenantLimits>>();
    if (this.config.API_KEYS_FILE) {
      for (const tenant of readKeysFile(this.config.API_KEYS_FILE).tenants) {
        const role: Role = tenant.role;
        for (const key of tenant.keys) entries.push({ digest: keyDigest(key), tenant: tenant.name, role });
        limits.set(tenant.name, {
          ...(tenant.limits.max_jobs === undefined ? {} : { maxJobs: tenant.limits.max_jobs }),
          ...(tenant.limits.tokens_per_day === undefined ? {} : { tokensPerDay: tenant.limits.tokens_per_day }),
        });
      }
    }
    return { keyring: ApiKeyring.of(entries), limits };
  }
}
