import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKeyring, idOfKey, parseKeyEntry } from '../../api/request-guard/api-keys.ts';
import { KeysFileError, readKeysFile, TenantDirectory } from '../../api/request-guard/tenant-directory.ts';
import { loadConfig } from '../../core/config.ts';
import { digestSetting } from '../../core/key-digest.ts';
import { createLogger } from '../../core/logger.ts';

const KEY_A = 'team-a-key-aaaaaaaaaaaaaaaa';
const KEY_B = 'team-b-key-bbbbbbbbbbbbbbbb';
const logger = createLogger('test', 'silent');

describe('API_KEYS entries', () => {
  it('name their tenant with name=key or name=sha256:<hex>', () => {
    const ring = ApiKeyring.fromSetting(`team-a=${KEY_A}, team-b=${digestSetting(KEY_B)}`);
    expect(ring.verify(KEY_A)).toEqual({ id: idOfKey(KEY_A), tenant: 'team-a', role: 'user' });
    expect(ring.verify(KEY_B)).toEqual({ id: idOfKey(KEY_B), tenant: 'team-b', role: 'user' });
    expect(ring.tenants).toEqual(['team-a', 'team-b']);
  });

  it('written the old way make each key a tenant of its own, named by its id', () => {
    expect(parseKeyEntry(KEY_A).tenant).toBe(idOfKey(KEY_A));
    expect(parseKeyEntry(digestSetting(KEY_A)).tenant).toBe(idOfKey(KEY_A));
  });

  it('are checked by the configuration', () => {
    expect(() => loadConfig({ API_KEYS: `team-a=${KEY_A}` })).not.toThrow();
    expect(() => loadConfig({ API_KEYS: 'team-a=short' })).toThrow(/API_KEYS/);
    expect(() => loadConfig({ API_KEYS: `Team A=${KEY_A}` })).toThrow(/API_KEYS/);
  });
});

describe('API_KEYS_FILE', () => {
  const dirs: string[] = [];
  const directories: TenantDirectory[] = [];
  afterEach(() => {
    for (const directory of directories.splice(0)) directory.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  function file(text: string): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-keys-'));
    dirs.push(dir);
    const name = path.join(dir, 'keys.yaml');
    writeFileSync(name, text);
    return name;
  }
  const yaml = (tenants: string[]) => `tenants:\n${tenants.map((t) => `  - ${t}`).join('\n')}\n`;

  it('gives tenants their keys, roles and limits over the defaults', () => {
    const keys = file(yaml([`{ name: team-a, keys: [${digestSetting(KEY_A)}], limits: { max_jobs: 5 } }`, `{ name: ops, role: admin, keys: [${digestSetting(KEY_B)}] }`]));
    const directory = new TenantDirectory(loadConfig({ API_KEYS_FILE: keys, TENANT_TOKENS_PER_DAY: '1000' }), logger);
    directories.push(directory);
    expect(directory.keyring.verify(KEY_A)).toMatchObject({ tenant: 'team-a', role: 'user' });
    expect(directory.keyring.verify(KEY_B)).toMatchObject({ tenant: 'ops', role: 'admin' });
    expect(directory.limitsOf('team-a')).toEqual({ maxJobs: 5, tokensPerDay: 1000 });
    expect(directory.limitsOf('ops')).toEqual({ maxJobs: 1000, tokensPerDay: 1000 });
  });

  it('reads JSON as well', () => {
    const keys = file(JSON.stringify({ tenants: [{ name: 'team-a', keys: [digestSetting(KEY_A)] }] }));
    expect(readKeysFile(keys).tenants[0]?.name).toBe('team-a');
  });

  it('refuses raw keys, unknown fields and repeated tenants, naming the problem and never a key', () => {
    for (const text of [yaml([`{ name: team-a, keys: [${KEY_A}] }`]), yaml(['{ name: team-a, colour: red }']), yaml(['{ name: team-a }', '{ name: team-a }']), 'tenants: [', '']) {
      const keys = file(text);
      expect(() => readKeysFile(keys)).toThrow(KeysFileError);
      try {
        readKeysFile(keys);
      } catch (error) {
        expect((error as Error).message).toContain('API_KEYS_FILE=');
        expect((error as Error).message).not.toContain(KEY_A);
      }
    }
  });

  it('takes a changed file up without a restart, and keeps the last good keys when the new file is bad', async () => {
    const keys = file(yaml([`{ name: team-a, keys: [${digestSetting(KEY_A)}] }`]));
    const directory = new TenantDirectory(loadConfig({ API_KEYS_FILE: keys }), logger).watch();
    directories.push(directory);
    expect(directory.keyring.verify(KEY_B)).toBeUndefined();

    // As editors save: a new file renamed over the old one.
    writeFileSync(`${keys}.tmp`, yaml([`{ name: team-a, keys: [${digestSetting(KEY_A)}] }`, `{ name: team-b, keys: [${digestSetting(KEY_B)}] }`]));
    renameSync(`${keys}.tmp`, keys);
    await until(() => directory.keyring.verify(KEY_B) !== undefined);
    expect(directory.keyring.verify(KEY_B)?.tenant).toBe('team-b');

    writeFileSync(keys, 'tenants: [');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(directory.keyring.verify(KEY_B)?.tenant).toBe('team-b');
  });

  it('reads the file again on SIGHUP', () => {
    const keys = file(yaml([`{ name: team-a, keys: [${digestSetting(KEY_A)}] }`]));
    const directory = new TenantDirectory(loadConfig({ API_KEYS_FILE: keys }), logger).watch();
    directories.push(directory);
    writeFileSync(keys, yaml([`{ name: team-b, keys: [${digestSetting(KEY_B)}] }`]));
    // Checked at once: a reload caused by the file's change comes only after a short settling delay.
    process.emit('SIGHUP', 'SIGHUP');
    expect(directory.keyring.verify(KEY_B)?.tenant).toBe('team-b');
    expect(directory.keyring.verify(KEY_A)).toBeUndefined();
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
