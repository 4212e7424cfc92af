import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, readEnvFile, repo, requireTool, run } from './tools.ts';

/** Every shell script of the repository: *.sh files and extension-less files with a sh/bash shebang. */
function shellScripts(): string[] {
  const listed = run('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: repo() });
  return listed.stdout
    .split('\n')
    .filter((file) => file && !file.startsWith('node_modules/') && existsSync(repo(file)))
    .filter((file) => {
      if (file.endsWith('.sh')) return true;
      if (path.extname(file) !== '') return false;
      const head = readFileSync(repo(file), 'utf8').slice(0, 80);
      return /^#!.*\b(ba)?sh\b/.test(head);
    });
}

const script = repo('compose', 'run_microservices.sh');

describe('shell scripts', () => {
  it('pass shellcheck', () => {
    requireTool('shellcheck', 'shellcheck');
    const scripts = shellScripts();
    expect(scripts).toContain('compose/run_microservices.sh');
    const result = run('shellcheck', ['--external-sources', ...scripts], { cwd: repo() });
    expect(result.stdout + result.stderr, scripts.join(', ')).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('compose/run_microservices.sh', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-run-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A PATH with only the named commands (and bash), to imitate machines without Docker. */
  function pathWith(commands: string[]): string {
    const bin = mkdtempSync(path.join(dir, 'bin-'));
    for (const name of ['bash', 'dirname', 'basename', 'cat', 'grep', 'tail', 'sed', 'od', 'tr', 'cut', 'paste', ...commands]) {
      const found = run('sh', ['-c', `command -v ${name}`]).stdout.trim();
      if (found) symlinkSync(found, path.join(bin, name));
    }
    return bin;
  }

  it('prints its usage and exits 2 without a command', () => {
    const result = run('bash', [script], { env: cleanEnv() });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^Usage: run_microservices\.sh <command>/);
    for (const command of ['build', 'run', 'test', 'stop', 'logs', 'ps', 'scale N']) expect(result.stderr).toContain(`  ${command}`);
  });

  it('says clearly that Docker is missing', () => {
    const result = run('/bin/bash', [script, 'build'], { env: { PATH: pathWith([]), HOME: dir } });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Docker is not installed');
    expect(result.stderr).toContain('ansible/');
  });

  it('says clearly that the Docker daemon does not answer', () => {
    const bin = pathWith([]);
    writeFileSync(path.join(bin, 'docker'), '#!/bin/bash\nexit 1\n');
    chmodSync(path.join(bin, 'docker'), 0o755);
    const result = run('/bin/bash', [script, 'ps'], { env: { PATH: bin, HOME: dir } });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('the Docker daemon does not answer');
  });

  it('refuses a worker count that is not a number', () => {
    const result = run('bash', [script, 'scale', 'many'], { env: cleanEnv() });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('scale needs a number of workers');
  });

  describe('init and the placeholder guard', () => {
    let copy: string;
    beforeAll(() => {
      copy = path.join(dir, 'compose');
      cpSync(repo('compose'), copy, { recursive: true, filter: (src) => path.basename(src) !== '.env' });
    });

    it('writes a private .env with fresh secrets and a Traefik htpasswd line', () => {
      const result = run('bash', [path.join(copy, 'run_microservices.sh'), 'init'], { env: cleanEnv() });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const env = readEnvFile(path.join(copy, '.env'));
      const example = readEnvFile(path.join(copy, '.env.example'));
      for (const key of ['REDIS_PASSWORD', 'DASHBOARD_PASSWORD', 'GRAFANA_ADMIN_PASSWORD', 'API_KEYS']) {
        expect(env.get(key), key).toMatch(/^[0-9a-f]{48}$/);
      }
      expect(env.get('TRAEFIK_DASHBOARD_USERS')).toMatch(/^admin:\$(apr1|2y)\$/);
      expect(new Set(env.keys())).toEqual(new Set(example.keys()));
      expect(run('stat', ['-c', '%a', path.join(copy, '.env')]).stdout.trim()).toBe('600');
    });

    it('refuses to overwrite an existing .env', () => {
      const result = run('bash', [path.join(copy, 'run_microservices.sh'), 'init'], { env: cleanEnv() });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('already exists');
    });

    it('refuses to start with placeholder secrets', () => {
      writeFileSync(path.join(copy, '.env'), readFileSync(path.join(copy, '.env.example')));
      const bin = pathWith([]);
      writeFileSync(path.join(bin, 'docker'), '#!/bin/bash\nexit 0\n');
      chmodSync(path.join(bin, 'docker'), 0o755);
      const result = run('/bin/bash', [path.join(copy, 'run_microservices.sh'), 'run'], { env: { PATH: bin, HOME: dir } });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('placeholder secrets');
      expect(result.stderr).toContain('REDIS_PASSWORD');
    });
  });
});
