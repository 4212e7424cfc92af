import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, readEnvFile, repo, requireTool, run } from './tools.ts';

/** Every shell script of the repository: *.sh files and extension-less files with a sh/bash shebang. */
function shellScripts(): string[] {
  const listed = run('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: repo() });
  return listed.stdout
    .split('\n')
    // A node_modules symlink shows as one untracked entry: only regular files are scripts.
    .filter((file) => file && !file.startsWith('node_modules') && existsSync(repo(file)) && statSync(repo(file)).isFile())
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

  it.each([
    [['scale'], 'scale needs a number of workers'],
    [['scale', 'chat'], "group=count pairs such as chat=3; got 'chat'"],
    [['scale', 'chat=many'], "the count of worker group 'chat' must be a whole number; got 'many'"],
    [['scale', 'chat=-1'], "the count of worker group 'chat' must be a whole number"],
    [['scale', 'gpu=2'], "no worker group 'gpu' in docker-compose.yml (worker groups: chat embed"],
    [['scale', 'chat=1', 'chat=2'], "worker group 'chat' is given twice"],
    [['scale', '3', 'chat=1'], 'not both'],
  ])('refuses %j with a clear error, before touching Docker', (args, message) => {
    const result = run('/bin/bash', [script, ...args], { env: { PATH: pathWith([]), HOME: dir } });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain('Docker is not installed');
  });

  describe('scale, against a recording docker', () => {
    let copy: string;
    let bin: string;
    const log = (): string => path.join(dir, 'docker.log');
    beforeAll(() => {
      copy = path.join(dir, 'compose-scale');
      cpSync(repo('compose'), copy, { recursive: true, filter: (src) => path.basename(src) !== '.env' });
      expect(run('bash', [path.join(copy, 'run_microservices.sh'), 'init'], { env: cleanEnv() }).status).toBe(0);
      bin = pathWith([]);
      // Answers every call and records each docker invocation, one line of arguments.
      writeFileSync(path.join(bin, 'docker'), `#!/bin/bash\nprintf '%s\\n' "$*" >>"${log()}"\nexit 0\n`);
      chmodSync(path.join(bin, 'docker'), 0o755);
    });
    const scale = (...args: string[]) => {
      writeFileSync(log(), '');
      const result = run('/bin/bash', [path.join(copy, 'run_microservices.sh'), 'scale', ...args], { env: { PATH: bin, HOME: dir } });
      const ups = readFileSync(log(), 'utf8').split('\n').filter((line) => / up /.test(line));
      return { ...result, ups };
    };

    it('scale N scales the plain worker service', () => {
      const result = scale('4');
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.ups).toHaveLength(1);
      expect(result.ups[0]).toMatch(/ up -d --no-recreate --scale worker=4 worker$/);
    });

    it('refuses worker groups while MODELS_FILE is empty', () => {
      const result = scale('chat=3', 'embed=1');
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('MODELS_FILE');
      expect(result.ups).toEqual([]);
    });

    it('scale chat=3 embed=1 scales worker-chat to 3 and worker-embed to 1 under the models profile', () => {
      const env = path.join(copy, '.env');
      writeFileSync(env, readFileSync(env, 'utf8').replace(/^MODELS_FILE=.*$/m, 'MODELS_FILE=/etc/llmo/models.yml'));
      const result = scale('chat=3', 'embed=1');
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.ups).toHaveLength(1);
      expect(result.ups[0]).toMatch(/ --profile models up -d --no-recreate --scale worker-chat=3 --scale worker-embed=1 worker-chat worker-embed$/);
      expect(result.ups[0]).toContain(`-f ${path.join(copy, 'docker-compose.yml')}`);
    });
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
