import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema } from '../../core/config.ts';
import { cleanEnv, readEnvFile, repo, requireTool, run } from './tools.ts';

interface Service {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | null>;
  ports?: unknown[];
  labels?: Record<string, string>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  volumes?: string[];
  mem_limit?: string | number;
  stop_grace_period?: string;
  scale?: number;
  profiles?: string[];
  networks?: Record<string, { aliases?: string[] } | null>;
}

interface ModelsFile {
  models: { id: string; source: string; aliases?: string[]; kind?: string; context_size?: number }[];
}

/** Application settings that compose sets itself instead of reading them from .env. */
const SET_BY_COMPOSE = new Set(['HOST', 'PORT', 'WORKER_METRICS_PORT', 'DASHBOARD_PORT', 'MODELS_DIR', 'FILES_DIR', 'REDIS_URL', 'SHUTDOWN_GRACE_MS']);
const APP_SERVICES = ['api', 'worker', 'dashboard'] as const;

/** Seconds in a compose duration such as `150s`, `2m30s` or `1m`. */
function seconds(duration: string): number {
  let total = 0;
  for (const [, value, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(h|m|s|ms)/g)) {
    total += Number(value) * { h: 3600, m: 60, s: 1, ms: 0.001 }[unit as 'h' | 'm' | 's' | 'ms'];
  }
  return total;
}

let services: Record<string, Service>;
let envExample: Map<string, string>;

beforeAll(() => {
  requireTool('docker-compose', 'docker-compose');
  const result = run('docker-compose', ['--env-file', '.env.example', '-f', 'docker-compose.yml', 'config'], {
    cwd: repo('compose'),
    env: cleanEnv(),
  });
  if (result.status !== 0) throw new Error(`docker-compose config rejected the stack:\n${result.stderr}`);
  services = (parse(result.stdout) as { services: Record<string, Service> }).services;
  envExample = readEnvFile(repo('compose', '.env.example'));
});

const service = (name: string): Service => {
  const found = services[name];
  if (!found) throw new Error(`no service ${name} in the resolved configuration`);
  return found;
};
const command = (s: Service): string => (Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? ''));

describe('compose/docker-compose.yml resolved by docker-compose config with .env.example', () => {
  it('has every service the monitoring configuration scrapes', () => {
    for (const name of ['traefik', 'api', 'worker', 'dashboard', 'redis', 'redis-exporter', 'prometheus', 'grafana', 'node-exporter', 'cadvisor']) {
      expect(services, name).toHaveProperty(name);
    }
  });

  it('pins every image to a version', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, name).toMatch(/^[^:]+(?::\d+)?\/?[^:]*:[^:]+$/);
      const tag = s.image!.slice(s.image!.lastIndexOf(':') + 1);
      expect(tag, `${name} uses ${s.image}`).not.toMatch(/^(latest|stable|main|edge)$/);
      expect(tag, `${name} uses ${s.image}`).toMatch(/\d/);
    }
  });

  it('gives every service a health check', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.healthcheck?.test, name).toBeDefined();
      expect(s.healthcheck?.disable, name).not.toBe(true);
    }
  });

  it('routes /api and /v1 to the api replicas with load-balancer health checks, on plain and TLS entry points', () => {
    const labels = service('api').labels ?? {};
    expect(labels['traefik.enable']).toBe('true');
    expect(labels['traefik.http.routers.api.rule']).toBe('PathPrefix(`/api`) || PathPrefix(`/v1`)');
    expect(labels['traefik.http.routers.api.entrypoints']).toBe('web');
    expect(labels['traefik.http.routers.api-secure.rule']).toBe(labels['traefik.http.routers.api.rule']);
    expect(labels['traefik.http.routers.api-secure.entrypoints']).toBe('websecure');
    expect(labels['traefik.http.routers.api-secure.tls']).toBe('true');
    expect(labels['traefik.http.services.api.loadbalancer.server.port']).toBe('8080');
    expect(labels['traefik.http.services.api.loadbalancer.healthcheck.path']).toBe('/api/health');
    expect(service('api').scale).toBeGreaterThanOrEqual(2);
    expect(service('api').ports ?? []).toEqual([]);
  });

  it('routes /admin to the dashboard, which demands credentials from .env', () => {
    const dashboard = service('dashboard');
    expect(dashboard.labels?.['traefik.http.routers.dashboard.rule']).toBe('PathPrefix(`/admin`)');
    expect(dashboard.labels?.['traefik.http.services.dashboard.loadbalancer.server.port']).toBe('8081');
    expect(dashboard.environment?.DASHBOARD_PASSWORD).toBe(envExample.get('DASHBOARD_PASSWORD'));
    expect(dashboard.ports ?? []).toEqual([]);
  });

  it('exposes Traefik metrics on :8082 and its dashboard on :8080 only on loopback and behind basic auth', () => {
    const traefik = service('traefik');
    expect(traefik.environment?.TRAEFIK_ENTRYPOINTS_METRICS_ADDRESS).toBe(':8082');
    expect(traefik.environment?.TRAEFIK_METRICS_PROMETHEUS_ENTRYPOINT).toBe('metrics');
    expect(traefik.environment?.TRAEFIK_ENTRYPOINTS_TRAEFIK_ADDRESS).toBe(':8080');
    expect(traefik.environment?.TRAEFIK_API_INSECURE).toBeUndefined();
    expect(traefik.environment?.TRAEFIK_PROVIDERS_DOCKER_EXPOSEDBYDEFAULT).toBe('false');
    expect(traefik.ports).toContain('127.0.0.1:8080:8080/tcp');
    const dynamic = parse(readFileSync(repo('compose', 'traefik', 'dynamic', 'dashboard.yml'), 'utf8'));
    const router = dynamic.http.routers['traefik-dashboard'];
    expect(router.service).toBe('api@internal');
    expect(router.entryPoints).toEqual(['traefik']);
    expect(router.middlewares).toEqual(['traefik-dashboard-auth']);
    expect(dynamic.http.middlewares['traefik-dashboard-auth'].basicAuth.users).toEqual(['{{ env "DASHBOARD_HTPASSWD" }}']);
    expect(traefik.environment?.DASHBOARD_HTPASSWD).toBeTruthy();
  });

  it('runs Redis with AOF every second, noeviction and a password, unpublished', () => {
    const redis = service('redis');
    const line = command(redis);
    expect(line).toContain('--appendonly yes');
    expect(line).toContain('--appendfsync everysec');
    expect(line).toContain('--maxmemory-policy noeviction');
    expect(line).toMatch(/--requirepass "\$\$REDISCLI_AUTH"/);
    expect(redis.environment?.REDISCLI_AUTH).toBe(envExample.get('REDIS_PASSWORD'));
    expect(redis.ports).toBeUndefined();
    expect(redis.volumes?.some((v) => v.endsWith(':/data:rw') || v.endsWith(':/data'))).toBe(true);
    for (const name of APP_SERVICES) {
      expect(service(name).environment?.REDIS_URL).toBe(`redis://:${envExample.get('REDIS_PASSWORD')}@redis:6379`);
    }
  });

  it('offers a sentinel profile: a replica of redis and three sentinels with a quorum of two, none published', () => {
    const replica = service('redis-replica');
    expect(replica.profiles).toEqual(['sentinel']);
    expect(command(replica)).toContain('--replicaof redis 6379');
    expect(command(replica)).toMatch(/--masterauth "\$\$REDISCLI_AUTH"/);
    expect(command(replica)).toContain('--maxmemory-policy noeviction');
    // The primary may become a replica after a failover: it needs the password of the new primary.
    expect(command(service('redis'))).toMatch(/--masterauth "\$\$REDISCLI_AUTH"/);
    for (const name of ['sentinel-1', 'sentinel-2', 'sentinel-3']) {
      const sentinel = service(name);
      expect(sentinel.profiles, name).toEqual(['sentinel']);
      expect(command(sentinel), name).toContain(`sentinel monitor ${envExample.get('REDIS_SENTINEL_NAME') || 'llmo'} redis 6379 2`);
      expect(sentinel.environment?.SENTINEL_HOSTNAME, name).toBe(name);
      expect(sentinel.ports, name).toBeUndefined();
    }
    expect(replica.ports).toBeUndefined();
    for (const name of APP_SERVICES) {
      for (const key of ['REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_MIN_REPLICAS_ACK', 'REDIS_REPLICA_ACK_TIMEOUT_MS']) {
        expect(service(name).environment, `${key} in ${name}`).toHaveProperty(key);
      }
    }
  });

  it('keeps Prometheus unpublished and mounts the monitoring configuration into it and Grafana', () => {
    expect(service('prometheus').ports).toBeUndefined();
    expect(service('prometheus').volumes).toContain(`${repo('monitoring', 'prometheus')}:/etc/prometheus:ro`);
    expect(service('grafana').volumes?.some((v) => v.startsWith(repo('monitoring', 'grafana')))).toBe(true);
    expect(service('grafana').ports).toEqual([{ published: 3000, target: 3000 }]);
    expect(service('grafana').environment?.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
  });

  it('scales workers with a memory limit, the shared models volume and a stop grace longer than their drain', () => {
    const worker = service('worker');
    expect(worker.scale).toBeGreaterThanOrEqual(1);
    expect(worker.mem_limit).toBeTruthy();
    expect(worker.volumes).toContain('models:/models:rw');
    expect(worker.environment?.MODELS_DIR).toBe('/models');
    expect(worker.environment?.WORKER_METRICS_PORT).toBe('9464');
    expect(worker.ports).toBeUndefined();
    const graceMs = Number(worker.environment?.SHUTDOWN_GRACE_MS);
    expect(graceMs).toBeGreaterThanOrEqual(60_000);
    expect(seconds(worker.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(graceMs + 10_000);
  });

  it('mounts one shared files volume at FILES_DIR in every api replica', () => {
    const api = service('api');
    const filesDir = api.environment?.FILES_DIR;
    expect(filesDir).toMatch(/^\/\w+/);
    expect(envExample.get('FILES_VOLUME')).toBe('files');
    // A named volume (docker-compose config refuses one the file does not declare).
    expect(api.volumes).toContain(`files:${filesDir}:rw`);
  });

  it('serves every scrape target of monitoring/prometheus/prometheus.yml on the port Prometheus expects', () => {
    const prometheus = parse(readFileSync(repo('monitoring', 'prometheus', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    // Where each service listens for its metrics, as this stack configures it.
    const metricsPort: Record<string, number> = {
      api: Number(service('api').environment?.PORT),
      worker: Number(service('worker').environment?.WORKER_METRICS_PORT),
      dashboard: Number(service('dashboard').environment?.DASHBOARD_PORT),
      traefik: Number(String(service('traefik').environment?.TRAEFIK_ENTRYPOINTS_METRICS_ADDRESS).replace(':', '')),
      'node-exporter': 9100,
      cadvisor: 8080,
      'redis-exporter': 9121,
    };
    const targets: [string, number][] = [];
    for (const job of prometheus.scrape_configs) {
      for (const sc of job.static_configs ?? []) {
        for (const target of sc.targets) {
          const [host, port] = target.split(':');
          if (host !== 'localhost') targets.push([host!, Number(port)]);
        }
      }
      for (const dns of job.dns_sd_configs ?? []) for (const name of dns.names) targets.push([name, dns.port]);
    }
    expect(targets.length).toBeGreaterThanOrEqual(7);
    for (const [host, port] of targets) {
      expect(services, `scrape target ${host}`).toHaveProperty(host);
      expect(metricsPort[host], `port of ${host}`).toBe(port);
    }
  });

  it('binds the application to all interfaces inside its containers', () => {
    for (const name of APP_SERVICES) expect(service(name).environment?.HOST, name).toBe('0.0.0.0');
  });
});

describe('worker groups (profile models)', () => {
  const MODELS_MOUNT = '/etc/llmo/models.yml';
  const groups = (): [string, Service][] => Object.entries(services).filter(([name]) => name.startsWith('worker-'));
  const modelsFile = (): ModelsFile => parse(readFileSync(repo('compose', 'models.example.yml'), 'utf8')) as ModelsFile;

  it('runs a chat group and an embed group, only under the models profile', () => {
    expect(groups().map(([name]) => name).sort()).toEqual(['worker-chat', 'worker-embed']);
    for (const [name, s] of groups()) expect(s.profiles, name).toEqual(['models']);
    expect(service('worker').profiles).toBeUndefined();
  });

  it('shares the worker definition: command, health check, models volume, stop grace and metrics port', () => {
    const worker = service('worker');
    for (const [name, s] of groups()) {
      expect(s.command, name).toEqual(worker.command);
      expect(s.image, name).toBe(worker.image);
      expect(s.healthcheck, name).toEqual(worker.healthcheck);
      expect(s.volumes, name).toEqual(worker.volumes);
      expect(s.stop_grace_period, name).toBe(worker.stop_grace_period);
      expect(s.mem_limit, name).toBeTruthy();
      expect(s.scale, name).toBeGreaterThanOrEqual(1);
      const { WORKER_MODELS: _own, ...env } = s.environment ?? {};
      const { WORKER_MODELS: _shared, ...workerEnv } = worker.environment ?? {};
      expect(env, name).toEqual(workerEnv);
    }
  });

  it('gives each group its own models, all of them ids of compose/models.example.yml, every model served by a group', () => {
    const ids = modelsFile().models.map((m) => m.id);
    expect(service('worker-chat').environment?.WORKER_MODELS).toBe('chat');
    expect(service('worker-embed').environment?.WORKER_MODELS).toBe('embed');
    const served = new Set<string>();
    for (const [name, s] of groups()) {
      for (const id of String(s.environment?.WORKER_MODELS).split(',')) {
        expect(ids, `${name} serves ${id}`).toContain(id);
        served.add(id);
      }
    }
    expect([...served].sort()).toEqual([...ids].sort());
  });

  it('puts every group in the `worker` DNS name that Prometheus scrapes', () => {
    for (const [name, s] of groups()) expect(s.networks?.default?.aliases, name).toContain('worker');
  });

  it('mounts the models file read-only where MODELS_FILE points, in every role', () => {
    for (const name of [...APP_SERVICES, 'worker-chat', 'worker-embed']) {
      expect(service(name).volumes, name).toContain(`${repo('compose', 'models.example.yml')}:${MODELS_MOUNT}:ro`);
      expect(service(name).environment, name).toHaveProperty('MODELS_FILE');
    }
    expect(envExample.get('MODELS_FILE')).toBe('');
    expect(envExample.get('MODELS_FILE_SOURCE')).toBe('./models.example.yml');
    expect(readFileSync(repo('compose', '.env.example'), 'utf8')).toContain(`MODELS_FILE=${MODELS_MOUNT}`);
  });

  it('passes the multi-model settings to every role', () => {
    for (const name of APP_SERVICES) {
      for (const key of ['MODELS_FILE', 'WORKER_MODELS', 'WORKER_MEMORY_BUDGET', 'MODEL_SWITCH_AFTER_MS']) {
        expect(service(name).environment, `${key} in ${name}`).toHaveProperty(key);
        expect(envExample.has(key), `${key} in .env.example`).toBe(true);
      }
    }
    expect(envExample.get('MODEL_SWITCH_AFTER_MS')).toBe('2000');
  });
});

describe('compose/models.example.yml', () => {
  const file = (): ModelsFile => parse(readFileSync(repo('compose', 'models.example.yml'), 'utf8')) as ModelsFile;

  it('lists models with unique ids of the allowed characters, from sources the worker resolves', () => {
    const { models } = file();
    expect(models.length).toBeGreaterThanOrEqual(2);
    expect(new Set(models.map((m) => m.id)).size).toBe(models.length);
    for (const m of models) {
      expect(m.id).toMatch(/^[A-Za-z0-9_.-]+$/);
      expect(m.source, m.id).toMatch(/^(hf:[^/]+\/[^/]+\/.+\.gguf|https:\/\/.+\.gguf|builtin:tiny|synth:.+|\/.+\.gguf)$/);
      expect(['generate', 'embedding', undefined], m.id).toContain(m.kind);
    }
  });

  it('serves Qwen2.5 0.5B Instruct Q8_0 as chat (alias gpt-4o-mini) and a Q8_0 embedding model as embed', () => {
    const byId = new Map(file().models.map((m) => [m.id, m]));
    expect(byId.get('chat')?.source).toBe('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf');
    expect(byId.get('chat')?.aliases).toEqual(['gpt-4o-mini']);
    expect(byId.get('chat')?.kind ?? 'generate').toBe('generate');
    expect(byId.get('embed')?.kind).toBe('embedding');
    expect(byId.get('embed')?.source).toMatch(/q8_0\.gguf$/i);
  });
});

describe('compose/.env.example', () => {
  const keys = Object.keys(configSchema.shape) as (keyof typeof configSchema.shape)[];

  it('lists every application setting that compose does not set itself', () => {
    const missing = keys.filter((key) => !SET_BY_COMPOSE.has(key) && !envExample.has(key));
    expect(missing, 'add these to compose/.env.example and the x-app-env block of docker-compose.yml').toEqual([]);
  });

  it('passes every application setting it lists to the containers that read it', () => {
    for (const key of keys.filter((k) => envExample.has(k))) {
      // Bull Board's settings reach only the dashboard; everything else reaches every role.
      const readers = key.startsWith('DASHBOARD_') ? ['dashboard'] : APP_SERVICES;
      for (const name of readers) {
        expect(service(name).environment, `${key} in ${name}`).toHaveProperty(key);
      }
    }
  });

  it('shows the built-in default wherever it gives an application setting a value', () => {
    for (const key of keys) {
      const example = envExample.get(key);
      const parsed = configSchema.shape[key].safeParse(undefined);
      if (!example || !parsed.success || parsed.data === undefined || typeof parsed.data === 'object') continue;
      expect(example, key).toBe(String(parsed.data));
    }
  });

  it('holds only placeholder secrets, which run_microservices.sh refuses to start with', () => {
    for (const key of ['REDIS_PASSWORD', 'DASHBOARD_PASSWORD', 'GRAFANA_ADMIN_PASSWORD', 'TRAEFIK_DASHBOARD_USERS']) {
      expect(envExample.get(key), key).toMatch(/change[.-]me/);
    }
  });
});
