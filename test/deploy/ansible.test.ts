import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cleanEnv, readEnvFile, repo, requireTool, run } from './tools.ts';

const ansibleDir = repo('ansible');
const ansibleEnv = (extra: Record<string, string> = {}) =>
  cleanEnv({ ANSIBLE_CONFIG: path.join(ansibleDir, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'false', ...extra });

describe('ansible/playbooks/deploy_microservices.yml', () => {
  it('passes ansible-playbook --syntax-check', () => {
    requireTool('ansible-playbook', 'ansible');
    const result = run('ansible-playbook', ['-i', 'inventory.example.yml', 'playbooks/deploy_microservices.yml', '--syntax-check'], {
      cwd: ansibleDir,
      env: ansibleEnv(),
    });
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.status).toBe(0);
  });

  it('passes ansible-lint with the production profile', () => {
    requireTool('ansible-lint', 'ansible-lint');
    const result = run('ansible-lint', ['--nocolor'], { cwd: ansibleDir, env: ansibleEnv() });
    const output = result.stdout + result.stderr;
    expect(output, output).toMatch(/Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
    expect(result.status).toBe(0);
  });
});

describe('ansible/inventory.example.yml', () => {
  const vars = () => parse(readFileSync(path.join(ansibleDir, 'inventory.example.yml'), 'utf8')).llmo_hosts.vars;

  it('runs worker groups that the compose file defines, each of models it lists', () => {
    const { llmo_models: models, llmo_worker_groups: groups } = vars();
    const compose = parse(readFileSync(repo('compose', 'docker-compose.yml'), 'utf8')).services as Record<string, unknown>;
    const ids = models.map((m: { id: string }) => m.id);
    expect(Object.keys(groups).length).toBeGreaterThanOrEqual(2);
    for (const [name, group] of Object.entries<{ models: string[]; replicas: number }>(groups)) {
      expect(compose, name).toHaveProperty(`worker-${name}`);
      expect(group.models.length, name).toBeGreaterThan(0);
      for (const id of group.models) expect(ids, `${name} serves ${id}`).toContain(id);
      expect(Number.isInteger(group.replicas), name).toBe(true);
    }
  });

  it('lists the models of compose/models.example.yml', () => {
    const example = parse(readFileSync(repo('compose', 'models.example.yml'), 'utf8')).models;
    expect(vars().llmo_models.map((m: { id: string; source: string }) => [m.id, m.source])).toEqual(example.map((m: { id: string; source: string }) => [m.id, m.source]));
  });
});

/**
 * The role's validation and file tasks (directories, compose files, monitoring, .env), run for
 * real into a temporary directory by a throwaway play that imports them from the role. Only the
 * tasks that change the machine itself (user, sysctl, docker compose up) are left out, and the
 * monitoring restart handler runs `true` instead of docker compose.
 */
describe('the llmo_stack role installs the stack files', () => {
  let dir: string;
  let home: string;
  const secrets = {
    llmo_redis_password: 'R3disPassw0rdR3disPassw0rd',
    llmo_api_keys: ['key-one-0123456789abcdef', `sha256:${'ab'.repeat(32)}`],
    llmo_dashboard_password: 'board password with spaces',
    llmo_grafana_admin_password: 'grafana-admin-0123',
    llmo_traefik_dashboard_users: 'admin:$2y$05$abcdefghijklmnopqrstuu5Y0h0aU6sQ1rL4m1GJwUQ0H3qQvN5Z6',
  };
  const inventory = { llmo_image: 'registry.example.com/llmo', llmo_image_version: '1.2.3', llmo_env: { WORKER_REPLICAS: 3, API_PORT: 8088 } };

  beforeAll(() => {
    requireTool('ansible-playbook', 'ansible');
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-ansible-'));
    home = path.join(dir, 'opt');
    const role = path.join(ansibleDir, 'roles', 'llmo_stack');
    writeFileSync(
      path.join(dir, 'files.yml'),
      [
        '- name: Install the stack files',
        '  hosts: localhost',
        '  connection: local',
        '  gather_facts: false',
        '  tasks:',
        '    - name: Validate',
        '      ansible.builtin.import_role:',
        `        name: ${role}`,
        '        tasks_from: validate',
        '    - name: Files',
        '      ansible.builtin.import_role:',
        `        name: ${role}`,
        '        tasks_from: files',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const play = (vars: Record<string, unknown>, ...flags: string[]) => {
    writeFileSync(path.join(dir, 'vars.json'), JSON.stringify({ llmo_source_dir: repo(), llmo_home: home, llmo_user: os.userInfo().username, llmo_compose: ['true'], ...vars }));
    return run('ansible-playbook', ['-i', 'localhost,', path.join(dir, 'files.yml'), '-e', `@${path.join(dir, 'vars.json')}`, ...flags], {
      cwd: dir,
      env: ansibleEnv(),
    });
  };
  const changed = (output: string) => /localhost\s+: ok=\d+\s+changed=(\d+)/.exec(output)?.[1];
  const envFile = () => path.join(home, 'compose', '.env');

  it('lays out compose/ and monitoring/ as the compose file expects them', () => {
    const result = play({ ...secrets, ...inventory });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    for (const file of ['compose/docker-compose.yml', 'compose/run_microservices.sh', 'compose/traefik/dynamic/dashboard.yml', 'monitoring/prometheus/prometheus.yml']) {
      expect(existsSync(path.join(home, file)), file).toBe(true);
    }
    expect(statSync(path.join(home, 'compose', 'run_microservices.sh')).mode & 0o777).toBe(0o750);
  }, 180_000);

  it('writes every key of .env.example, the inventory overrides and the vault secrets, mode 600', () => {
    const env = readEnvFile(envFile());
    const example = readEnvFile(repo('compose', '.env.example'));
    expect([...env.keys()].sort()).toEqual([...example.keys()].sort());
    expect(env.get('WORKER_REPLICAS')).toBe('3');
    expect(env.get('API_PORT')).toBe('8088');
    expect(env.get('APP_IMAGE')).toBe('registry.example.com/llmo');
    expect(env.get('REDIS_PASSWORD')).toBe(secrets.llmo_redis_password);
    expect(env.get('API_KEYS')).toBe(secrets.llmo_api_keys.join(','));
    expect(env.get('TRAEFIK_DASHBOARD_USERS')).toBe(secrets.llmo_traefik_dashboard_users);
    expect(env.get('MAX_QUEUE_DEPTH')).toBe(example.get('MAX_QUEUE_DEPTH'));
    expect(statSync(envFile()).mode & 0o777).toBe(0o600);
  });

  it('is accepted by docker-compose on the installed layout, which resolves the secrets as written', () => {
    requireTool('docker-compose', 'docker-compose');
    const result = run('docker-compose', ['config'], { cwd: path.join(home, 'compose'), env: cleanEnv() });
    expect(result.status, result.stderr).toBe(0);
    const services = parse(result.stdout).services;
    expect(services.worker.scale).toBe(3);
    expect(services.api.image).toBe('registry.example.com/llmo:1.2.3');
    expect(services.api.environment.REDIS_URL).toBe(`redis://:${secrets.llmo_redis_password}@redis:6379`);
    expect(services.dashboard.environment.DASHBOARD_PASSWORD).toBe(secrets.llmo_dashboard_password);
    // docker-compose config prints `$` as `$$`; the container receives single dollars.
    expect(services.traefik.environment.DASHBOARD_HTPASSWD.replaceAll('$$', '$')).toBe(secrets.llmo_traefik_dashboard_users);
    expect(services.traefik.ports).toContainEqual({ published: 8088, target: 80 });
    expect(services.prometheus.volumes).toContain(`${path.join(home, 'monitoring', 'prometheus')}:/etc/prometheus:ro`);
  });

  it('changes nothing when run again with the same values', () => {
    const before = readFileSync(envFile(), 'utf8');
    const result = play({ ...secrets, ...inventory });
    expect(result.status).toBe(0);
    expect(changed(result.stdout)).toBe('0');
    expect(readFileSync(envFile(), 'utf8')).toBe(before);
  }, 180_000);

  it('reports a change in --check mode without making it', () => {
    const before = readFileSync(envFile(), 'utf8');
    const result = play({ ...secrets, ...inventory, llmo_env: { WORKER_REPLICAS: 5, API_PORT: 8088 } }, '--check');
    expect(result.status, result.stdout).toBe(0);
    expect(changed(result.stdout)).toBe('1');
    expect(readFileSync(envFile(), 'utf8')).toBe(before);
  }, 180_000);

  it('refuses to run without a secret, naming the variable', () => {
    const { llmo_grafana_admin_password: _omitted, ...rest } = secrets;
    const result = play({ ...rest, ...inventory });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain('llmo_grafana_admin_password is missing, a placeholder, or malformed');
  }, 180_000);

  it('refuses the placeholders of vault.example.yml', () => {
    const example = parse(readFileSync(path.join(ansibleDir, 'vault.example.yml'), 'utf8'));
    const result = play({ ...example, ...inventory });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain('llmo_redis_password is missing, a placeholder, or malformed');
  }, 180_000);

  it('mounts llmo_files_dir, a shared directory of the host, into the api containers at FILES_DIR', () => {
    const shared = path.join(dir, 'shared-files');
    mkdirSync(shared);
    const result = play({ ...secrets, ...inventory, llmo_files_dir: shared, llmo_app_uid: os.userInfo().uid });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(readEnvFile(envFile()).get('FILES_VOLUME')).toBe(shared);
    requireTool('docker-compose', 'docker-compose');
    const config = run('docker-compose', ['config'], { cwd: path.join(home, 'compose'), env: cleanEnv() });
    expect(config.status, config.stderr).toBe(0);
    const api = parse(config.stdout).services.api;
    expect(api.volumes).toContain(`${shared}:${api.environment.FILES_DIR}:rw`);
  }, 180_000);

  describe('with several models and worker groups', () => {
    const models = [
      { id: 'chat', source: 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf', aliases: ['gpt-4o-mini'] },
      { id: 'embed', source: 'hf:nomic-ai/nomic-embed-text-v1.5-GGUF/nomic-embed-text-v1.5.Q8_0.gguf', kind: 'embedding' },
    ];
    const groups = { chat: { models: ['chat'], replicas: 3, memory_limit: '3g' }, embed: { models: ['embed'], replicas: 1 } };

    it('writes the models file and runs each group as its compose worker service, the plain worker at zero', () => {
      const result = play({ ...secrets, ...inventory, llmo_env: { API_PORT: 8088 }, llmo_models: models, llmo_worker_groups: groups });
      expect(result.status, result.stdout + result.stderr).toBe(0);
      const written = parse(readFileSync(path.join(home, 'compose', 'models.yml'), 'utf8'));
      expect(written).toEqual({ models });
      const env = readEnvFile(envFile());
      expect(env.get('COMPOSE_PROFILES')).toBe('models');
      expect(env.get('MODELS_FILE')).toBe('/etc/llmo/models.yml');
      expect(env.get('MODELS_FILE_SOURCE')).toBe('./models.yml');
      requireTool('docker-compose', 'docker-compose');
      const config = run('docker-compose', ['config'], { cwd: path.join(home, 'compose'), env: cleanEnv() });
      expect(config.status, config.stderr).toBe(0);
      const services = parse(config.stdout).services;
      expect(services['worker-chat']).toMatchObject({ scale: 3, mem_limit: '3g' });
      expect(services['worker-chat'].environment.WORKER_MODELS).toBe('chat');
      expect(services['worker-embed'].scale).toBe(1);
      expect(services['worker-embed'].environment.WORKER_MODELS).toBe('embed');
      expect(services.worker.scale).toBe(0);
      for (const name of ['api', 'dashboard', 'worker-chat', 'worker-embed']) {
        expect(services[name].environment.MODELS_FILE, name).toBe('/etc/llmo/models.yml');
        expect(services[name].volumes, name).toContain(`${path.join(home, 'compose', 'models.yml')}:/etc/llmo/models.yml:ro`);
      }
    }, 180_000);

    it('runs no container of a group the inventory leaves out', () => {
      const result = play({ ...secrets, ...inventory, llmo_models: models, llmo_worker_groups: { chat: groups.chat } });
      expect(result.status, result.stdout + result.stderr).toBe(0);
      const env = readEnvFile(envFile());
      expect(env.get('WORKER_CHAT_REPLICAS')).toBe('3');
      expect(env.get('WORKER_EMBED_REPLICAS')).toBe('0');
      // The inventory's own WORKER_REPLICAS wins over the default of zero.
      expect(env.get('WORKER_REPLICAS')).toBe('3');
    }, 180_000);

    it('refuses a group that the compose file does not define, naming the ones it does', () => {
      const result = play({ ...secrets, ...inventory, llmo_models: models, llmo_worker_groups: { gpu: { models: ['chat'] } } });
      expect(result.status).not.toBe(0);
      expect(result.stdout.replace(/\s+/g, ' ')).toContain('worker group gpu must be one of the worker-<name> services of compose/docker-compose.yml (chat, embed)');
    }, 180_000);

    it('refuses a group that names a model llmo_models does not list', () => {
      const result = play({ ...secrets, ...inventory, llmo_models: models, llmo_worker_groups: { chat: { models: ['chat', 'vision'] } } });
      expect(result.status).not.toBe(0);
      expect(result.stdout.replace(/\s+/g, ' ')).toContain('worker group chat must be one of');
    }, 180_000);

    it('refuses models with duplicate ids', () => {
      const result = play({ ...secrets, ...inventory, llmo_models: [models[0], { ...models[1], id: 'chat' }] });
      expect(result.status).not.toBe(0);
      expect(result.stdout).toContain('llmo_models must list models with a source and unique ids');
    }, 180_000);
  });

  it('refuses an llmo_files_dir that is not there, rather than let Docker create a local one', () => {
    const result = play({ ...secrets, ...inventory, llmo_files_dir: path.join(dir, 'not-mounted') });
    expect(result.status).not.toBe(0);
    // The YAML callback folds long messages over several lines.
    expect(result.stdout.replace(/\s+/g, ' ')).toContain('mount the shared file system there first');
  }, 180_000);
});
