import { readFileSync } from 'node:fs';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { isOpenPath } from '../../api/request-guard/public-paths.ts';
import { configSchema, loadConfig, type Config } from '../../core/config.ts';
import { SHUTDOWN_OVERRUN_MS } from '../../core/lifecycle.ts';
import { METRICS, QUEUE_STATES } from '../../core/metrics/names.ts';
import { startMetricsServer, type MetricsServer } from '../../core/metrics/server.ts';
import { cleanEnv, repo, requireTool, run } from './tools.ts';

/** A rendered Kubernetes object; only the fields these checks read are typed. */
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

/**
 * The schema of every kind the manifests may contain: the kubernetes-models class that validates
 * it, and its module, whose TypeScript declarations list the fields the kind has. A kind missing
 * here fails the check, never skips it.
 */
const MODELS: Record<string, { model: new (data: any) => { validate(): void }; module: string }> = {
  'v1/ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap' },
  'v1/Namespace': { model: Namespace, module: 'kubernetes-models/v1/Namespace' },
  'v1/PersistentVolumeClaim': { model: PersistentVolumeClaim, module: 'kubernetes-models/v1/PersistentVolumeClaim' },
  'v1/Secret': { model: Secret, module: 'kubernetes-models/v1/Secret' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1/Service' },
  'apps/v1/Deployment': { model: Deployment, module: 'kubernetes-models/apps/v1/Deployment' },
  'networking.k8s.io/v1/Ingress': { model: Ingress, module: 'kubernetes-models/networking.k8s.io/v1/Ingress' },
  'networking.k8s.io/v1/NetworkPolicy': { model: NetworkPolicy, module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, module: 'kubernetes-models/policy/v1/PodDisruptionBudget' },
  'keda.sh/v1alpha1/ScaledObject': { model: ScaledObject, module: '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject' },
  'keda.sh/v1alpha1/TriggerAuthentication': { model: TriggerAuthentication, module: '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication' },
};

const declarations = (module: string) => repo('node_modules', `${module}.d.ts`);
let program: ts.Program | undefined;

/**
 * Fields the kind does not have (a misspelt `livenesProbe`, a KEDA option in the wrong place): the
 * schemas accept unknown fields, and Kubernetes drops them with at most a warning, so the typed
 * declarations of the same models are walked instead. Maps (labels, data, resource quantities,
 * trigger metadata) take any key.
 */
function unknownFields(object: K8sObject, module: string, where: string): string[] {
  program ??= ts.createProgram(Object.values(MODELS).map((m) => declarations(m.module)), {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(declarations(module));
  const moduleSymbol = file && checker.getSymbolAtLocation(file);
  const declared = moduleSymbol && checker.getExportsOfModule(moduleSymbol).find((s) => s.name === `I${object.kind}`);
  if (!declared) return [`${where}: no declaration I${object.kind} in ${module}`];
  const problems: string[] = [];
  const walk = (value: unknown, type: ts.Type, path: string) => {
    if (value === null || typeof value !== 'object') return;
    type = checker.getNonNullableType(type);
    if (Array.isArray(value)) {
      const element = checker.isArrayType(type) ? checker.getTypeArguments(type as ts.TypeReference)[0] : undefined;
      if (element) value.forEach((item, i) => walk(item, element, `${path}[${i}]`));
      return;
    }
    const objects = type.isUnion() ? type.types.filter((t) => t.getFlags() & ts.TypeFlags.Object) : [type];
    const shape = objects.length === 1 ? objects[0]! : undefined;
    if (!shape || checker.getIndexInfosOfType(shape).length > 0 || checker.getPropertiesOfType(shape).length === 0) return;
    for (const [key, field] of Object.entries(value)) {
      const property = shape.getProperty(key);
      if (property) walk(field, checker.getTypeOfSymbol(property), `${path}.${key}`);
      else problems.push(`${where}: unknown field ${path}.${key}`);
    }
  };
  walk(object, checker.getDeclaredTypeOfSymbol(declared), object.kind);
  return problems;
}

/** Schema problems of each object, `Kind/name: message`; an empty list when all are valid. */
function schemaProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const where = `${object.kind}/${object.metadata?.name}`;
    const known = MODELS[`${object.apiVersion}/${object.kind}`];
    if (!known) {
      problems.push(`${where}: no schema for ${object.apiVersion} ${object.kind} (add its kubernetes-models class to MODELS)`);
      continue;
    }
    try {
      new known.model(structuredClone(object)).validate();
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
    }
    problems.push(...unknownFields(object, known.module, where));
  }
  return problems;
}

function render(overlay: string): K8sObject[] {
  const result = run('kubectl', ['kustomize', repo('deploy', 'kubernetes', 'overlays', overlay)], { env: cleanEnv() });
  if (result.status !== 0) throw new Error(`kubectl kustomize rejected overlays/${overlay}:\n${result.stderr}`);
  return parseAllDocuments(result.stdout).map((document) => {
    if (document.errors.length > 0) throw new Error(`overlays/${overlay}: ${document.errors[0]!.message}`);
    return document.toJS() as K8sObject;
  });
}

/** Paths an Express app of the project serves with `app.get('<path>', …)`. */
function expressGetRoutes(file: string): Set<string> {
  return new Set([...readFileSync(repo(file), 'utf8').matchAll(/\bapp\.get\(\s*'([^']+)'/g)].map((m) => m[1]!));
}

/** `500m` → 0.5, `2` → 2. */
const cpu = (quantity: string | number): number => (String(quantity).endsWith('m') ? Number(String(quantity).slice(0, -1)) / 1000 : Number(quantity));
/** `512Mi` → bytes. */
function memory(quantity: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(quantity));
  if (!match) throw new Error(`not a memory quantity: ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[match[2] as 'Ki'] ?? 1;
  return Number(match[1]) * unit;
}

/** What Kubernetes exposes for `resourceFieldRef` of `limits.cpu` with divisor 1: the limit rounded up. */
const cpuLimitAsInteger = (container: any) => Math.ceil(cpu(container.resources.limits.cpu));

/** Secret values stand in for the checks: the manifests name them, the operator creates them. */
const SECRET_STAND_INS: Record<string, string> = {
  REDIS_URL: 'redis://:stand-in@redis.invalid:6379',
  API_KEYS: `checks=${'k'.repeat(24)}`,
  DASHBOARD_PASSWORD: 'stand-in',
};

const APP_ROLES = ['api', 'worker', 'dashboard'] as const;
type Role = (typeof APP_ROLES)[number];
const isAppImage = (image: string) => /(^|\/)llm-orchestrator(:|$)/.test(image);

class Rendered {
  constructor(
    readonly overlay: string,
    readonly objects: K8sObject[],
  ) {}

  all(kind: string): K8sObject[] {
    return this.objects.filter((o) => o.kind === kind);
  }

  one(kind: string, name: string): K8sObject {
    const found = this.objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`overlays/${this.overlay} renders no ${kind}/${name}`);
    return found;
  }

  /** The Deployment of an application role, found by its component label. */
  role(role: Role): K8sObject {
    const found = this.all('Deployment').filter((d) => d.spec.template.metadata.labels?.['app.kubernetes.io/component'] === role);
    expect(found, `one Deployment for ${role}`).toHaveLength(1);
    return found[0]!;
  }

  container(role: Role): any {
    const containers = this.role(role).spec.template.spec.containers;
    expect(containers, `${role} runs one container`).toHaveLength(1);
    return containers[0];
  }

  get configMap(): Record<string, string> {
    return this.one('ConfigMap', 'llmo-config').data ?? {};
  }

  /** The environment a container starts with: its ConfigMaps, then its own variables (secrets by stand-ins). */
  environment(container: any): Record<string, string> {
    const env: Record<string, string> = {};
    for (const source of container.envFrom ?? []) Object.assign(env, this.one('ConfigMap', source.configMapRef.name).data);
    for (const variable of container.env ?? []) {
      if (variable.value !== undefined) env[variable.name] = String(variable.value);
      else if (variable.valueFrom?.secretKeyRef) env[variable.name] = SECRET_STAND_INS[variable.valueFrom.secretKeyRef.key] ?? 'stand-in';
      else if (variable.valueFrom?.resourceFieldRef?.resource === 'limits.cpu') env[variable.name] = String(cpuLimitAsInteger(container));
      else throw new Error(`${variable.name}: a source these checks do not know`);
    }
    return env;
  }

  /** The configuration the application parses from that environment. */
  config(role: Role): Config {
    return loadConfig(this.environment(this.container(role)));
  }

  containerPort(container: any, port: string | number): number {
    if (typeof port === 'number') return port;
    const found = (container.ports ?? []).find((p: any) => p.name === port);
    if (!found) throw new Error(`${container.name} has no port named ${port}`);
    return found.containerPort;
  }
}

const OVERLAYS = ['dev', 'prod'] as const;
const rendered = {} as Record<(typeof OVERLAYS)[number], Rendered>;
let workerServer: MetricsServer;

beforeAll(async () => {
  requireTool('kubectl', 'kubernetes-client');
  for (const overlay of OVERLAYS) rendered[overlay] = new Rendered(overlay, render(overlay));
  // The worker's real health and metrics server, to ask it what the probes will ask.
  workerServer = await startMetricsServer({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await workerServer?.close();
});

describe('the schema check', () => {
  it('catches a field of the wrong type, a misspelt field and a kind it has no schema for', () => {
    const objects = structuredClone(rendered.dev.objects);
    const api = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'llmo-api')!;
    api.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    api.spec.template.spec.containers[0].livenesProbe = api.spec.template.spec.containers[0].livenessProbe;
    const scaler = objects.find((o) => o.kind === 'ScaledObject')!;
    scaler.spec.advanced.horizontalPodAutoscalerConfig.behaviour = scaler.spec.advanced.horizontalPodAutoscalerConfig.behavior;
    objects.push({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'llmo' } });
    expect(schemaProblems(objects)).toEqual([
      expect.stringMatching(/^Deployment\/llmo-api: .*containerPort must be integer/),
      'Deployment/llmo-api: unknown field Deployment.spec.template.spec.containers[0].livenesProbe',
      'ScaledObject/llmo-worker: unknown field ScaledObject.spec.advanced.horizontalPodAutoscalerConfig.behaviour',
      expect.stringMatching(/^PodMonitor\/llmo: no schema for monitoring\.coreos\.com\/v1 PodMonitor/),
    ]);
  });
});

describe.each(OVERLAYS)('deploy/kubernetes/overlays/%s rendered by kubectl kustomize', (overlay) => {
  const k = () => rendered[overlay];
  const namespace = overlay === 'prod' ? 'llmo' : 'llmo-dev';

  it('validates every object against the Kubernetes and KEDA schemas', () => {
    expect(k().objects.length).toBeGreaterThan(10);
    expect(schemaProblems(k().objects)).toEqual([]);
  });

  it('puts everything in its namespace, and carries no secret values', () => {
    for (const object of k().objects) expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe(namespace);
    expect(k().all('Secret')).toEqual([]);
    expect(JSON.stringify(k().objects)).not.toMatch(/redis:\/\/:[^@"]+@|rediss:\/\//);
  });

  it('references the Secret llmo-secrets only for keys the documented command creates', () => {
    const docs = readFileSync(repo('docs', 'deploy.md'), 'utf8');
    const created = new Set([...docs.matchAll(/--from-literal=([A-Z_]+)=/g)].map((m) => m[1]!));
    const referenced = k()
      .all('Deployment')
      .flatMap((d) => d.spec.template.spec.containers.flatMap((c: any) => c.env ?? []))
      .filter((v: any) => v.valueFrom?.secretKeyRef);
    expect(referenced.length).toBeGreaterThan(0);
    for (const variable of referenced) {
      expect(variable.valueFrom.secretKeyRef.name).toBe('llmo-secrets');
      expect(variable.valueFrom.secretKeyRef.optional, variable.name).not.toBe(true);
      expect(created, `docs/deploy.md creates ${variable.valueFrom.secretKeyRef.key}`).toContain(variable.valueFrom.secretKeyRef.key);
    }
    for (const role of APP_ROLES) {
      expect(k().container(role).env.find((v: any) => v.name === 'REDIS_URL')?.valueFrom?.secretKeyRef?.key, role).toBe('REDIS_URL');
    }
  });

  it('sets only real settings of core/config.ts in the application, with values it accepts', () => {
    const settings = new Set(Object.keys(configSchema.shape));
    for (const key of Object.keys(k().configMap)) expect(settings, `ConfigMap key ${key}`).toContain(key);
    for (const role of APP_ROLES) {
      const container = k().container(role);
      expect(isAppImage(container.image), container.image).toBe(true);
      for (const variable of container.env ?? []) expect(settings, `${role}: ${variable.name}`).toContain(variable.name);
      expect(() => k().config(role), role).not.toThrow();
    }
  });

  it('opens each role on the port its configuration gives it, and the Services and scrape annotations use it', () => {
    const expected: Record<Role, (c: Config) => number> = { api: (c) => c.PORT, worker: (c) => c.WORKER_METRICS_PORT, dashboard: (c) => c.DASHBOARD_PORT };
    for (const role of APP_ROLES) {
      const container = k().container(role);
      const port = expected[role](k().config(role));
      expect(container.ports.map((p: any) => p.containerPort), role).toEqual([port]);
      expect(k().config(role).HOST, `${role} listens on the pod's address`).toBe('0.0.0.0');
      const template = k().role(role).spec.template;
      expect(template.metadata.annotations?.['prometheus.io/port'], role).toBe(String(port));
      expect(template.metadata.annotations?.['prometheus.io/scrape'], role).toBe('true');
      const services = k().all('Service').filter((s) => Object.entries(s.spec.selector ?? {}).every(([key, value]) => template.metadata.labels[key] === value));
      expect(services, `a Service selects ${role}`).toHaveLength(1);
      for (const servicePort of services[0]!.spec.ports) expect(k().containerPort(container, servicePort.targetPort), role).toBe(port);
    }
  });

  it('probes the API on routes api/app.ts mounts, open without an API key: liveness /api/health', () => {
    const routes = expressGetRoutes('api/app.ts');
    const container = k().container('api');
    const config = k().config('api');
    expect(container.livenessProbe.httpGet.path).toBe('/api/health');
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      expect(routes).toContain(probe.httpGet.path);
      expect(isOpenPath(probe.httpGet.path, config), `${probe.httpGet.path} needs no key`).toBe(true);
      expect(k().containerPort(container, probe.httpGet.port)).toBe(config.PORT);
    }
    expect(routes).toContain(k().role('api').spec.template.metadata.annotations['prometheus.io/path']);
    expect(isOpenPath('/metrics', config), 'Prometheus scrapes /metrics without a key').toBe(true);
  });

  it('keeps an API replica ready while no worker runs: readiness is not /api/ready when workers scale to zero', () => {
    // /api/ready answers 503 until a worker reports. As readiness it would take every API replica
    // out of the Service while workers are at zero, and no job could arrive to wake one.
    const scaler = k().one('ScaledObject', 'llmo-worker');
    expect(scaler.spec.minReplicaCount).toBe(0);
    expect(k().container('api').readinessProbe.httpGet.path).not.toBe('/api/ready');
  });

  it("probes workers on their health server's /health, which the real server answers", async () => {
    const container = k().container('worker');
    const config = k().config('worker');
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      expect(k().containerPort(container, probe.httpGet.port)).toBe(config.WORKER_METRICS_PORT);
      const response = await fetch(`http://127.0.0.1:${workerServer.port}${probe.httpGet.path}`);
      expect(response.status, probe.httpGet.path).toBe(200);
    }
    const scraped = await fetch(`http://127.0.0.1:${workerServer.port}${k().role('worker').spec.template.metadata.annotations['prometheus.io/path']}`);
    expect(scraped.status).toBe(200);
    // The check can fail: a path the server does not serve is refused.
    expect((await fetch(`http://127.0.0.1:${workerServer.port}/api/health`)).status).toBe(404);
  });

  it('probes the dashboard on a route dashboard/app.ts mounts', () => {
    const routes = expressGetRoutes('dashboard/app.ts');
    const container = k().container('dashboard');
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      expect(routes).toContain(probe.httpGet.path);
      expect(k().containerPort(container, probe.httpGet.port)).toBe(k().config('dashboard').DASHBOARD_PORT);
    }
  });

  it('runs no container as root, with no privilege escalation, no capabilities and a read-only root', () => {
    for (const deployment of k().all('Deployment')) {
      const pod = deployment.spec.template.spec;
      const name = deployment.metadata.name;
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
      expect(pod.securityContext?.runAsUser, name).toBeGreaterThan(0);
      expect(pod.securityContext?.seccompProfile?.type, name).toBe('RuntimeDefault');
      expect(pod.automountServiceAccountToken, name).toBe(false);
      expect(pod.hostNetwork ?? false, name).toBe(false);
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const where = `${name}/${container.name}`;
        expect(container.securityContext?.runAsUser ?? pod.securityContext.runAsUser, where).toBeGreaterThan(0);
        expect(container.securityContext?.runAsNonRoot ?? true, where).toBe(true);
        expect(container.securityContext?.privileged ?? false, where).toBe(false);
        expect(container.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(container.securityContext?.capabilities?.drop, where).toEqual(['ALL']);
        expect(container.securityContext?.capabilities?.add ?? [], where).toEqual([]);
        expect(container.securityContext?.readOnlyRootFilesystem, where).toBe(true);
      }
    }
    // The image's own user, which owns /models and /files in the image (Dockerfile: USER node).
    for (const role of APP_ROLES) expect(k().role(role).spec.template.spec.securityContext.runAsUser, role).toBe(1000);
  });

  it('gives every directory the application writes a volume, since the root file system is read-only', () => {
    const mounts = (role: Role) => new Map<string, any>(k().container(role).volumeMounts.map((m: any) => [m.mountPath, m]));
    for (const role of APP_ROLES) expect(mounts(role).has('/tmp'), `${role} /tmp`).toBe(true);
    expect(mounts('worker').get(k().config('worker').MODELS_DIR)?.readOnly ?? false, 'workers write MODELS_DIR').toBe(false);
    expect(mounts('api').get(k().config('api').FILES_DIR)?.readOnly ?? false, 'the API writes FILES_DIR').toBe(false);
  });

  it('orders grace periods: the pod outlives preStop, SHUTDOWN_GRACE_MS and the overrun, with room to spare', () => {
    const preStopMs = (container: any) => {
      const command: string[] = container.lifecycle?.preStop?.exec?.command ?? [];
      return command[0] === 'sleep' ? Number(command[1]) * 1000 : 0;
    };
    for (const role of ['api', 'worker'] as const) {
      const pod = k().role(role).spec.template.spec;
      const graceMs = k().config(role).SHUTDOWN_GRACE_MS;
      // The same margin as compose's stop_grace_period check: the hand-back must not race SIGKILL.
      expect(pod.terminationGracePeriodSeconds * 1000, role).toBeGreaterThan(preStopMs(k().container(role)) + graceMs + SHUTDOWN_OVERRUN_MS + 10_000);
    }
    expect(k().config('worker').SHUTDOWN_GRACE_MS, 'long generations get time to finish').toBeGreaterThanOrEqual(60_000);
    // The dashboard drains nothing (dashboard/main.ts stops with graceMs 0): only the overrun.
    expect(k().role('dashboard').spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(SHUTDOWN_OVERRUN_MS);
    // The API stops taking requests only after the endpoints dropped it.
    expect(preStopMs(k().container('api'))).toBeGreaterThan(0);
  });

  it('rolls API and workers out without losing capacity', () => {
    for (const role of ['api', 'worker'] as const) {
      expect(k().role(role).spec.strategy.rollingUpdate.maxUnavailable, role).toBe(0);
    }
    expect(k().role('worker').spec.replicas, 'KEDA owns the number of workers').toBeUndefined();
    // A new worker loads its model after /health first answers: give it time before an old one stops.
    expect(k().role('worker').spec.minReadySeconds).toBeGreaterThanOrEqual(30);
  });

  it('gives every container requests and limits of CPU and memory, requests within limits', () => {
    for (const deployment of k().all('Deployment')) {
      for (const container of deployment.spec.template.spec.containers) {
        const where = `${deployment.metadata.name}/${container.name}`;
        const { requests, limits } = container.resources ?? {};
        expect(cpu(requests.cpu), where).toBeGreaterThan(0);
        expect(cpu(requests.cpu), where).toBeLessThanOrEqual(cpu(limits.cpu));
        expect(memory(requests.memory), where).toBeGreaterThan(0);
        expect(memory(requests.memory), where).toBeLessThanOrEqual(memory(limits.memory));
      }
    }
  });

  it('sizes the inference threads of a worker from its CPU limit, never more threads than it', () => {
    const container = k().container('worker');
    const contexts = container.env.find((v: any) => v.name === 'CONTEXTS_PER_THREAD');
    expect(contexts.valueFrom.resourceFieldRef).toMatchObject({ containerName: container.name, resource: 'limits.cpu' });
    const config = k().config('worker');
    const threads = (config.POOL_THREADS ?? 1) * (config.CONTEXTS_PER_THREAD ?? 1) * (config.LLAMA_THREADS ?? 1);
    expect(threads).toBeLessThanOrEqual(cpuLimitAsInteger(container));
  });

  it('mounts the models volume where workers keep models, and the shared files volume at FILES_DIR in the API', () => {
    const claimOf = (role: Role, mountPath: string) => {
      const pod = k().role(role).spec.template.spec;
      const mount = k().container(role).volumeMounts.find((m: any) => m.mountPath === mountPath);
      expect(mount, `${role} mounts ${mountPath}`).toBeDefined();
      const claim = pod.volumes.find((v: any) => v.name === mount.name)?.persistentVolumeClaim?.claimName;
      expect(claim, `${role} ${mountPath} is a PersistentVolumeClaim`).toBeDefined();
      return { mount, claim: k().one('PersistentVolumeClaim', claim) };
    };
    const workerModels = claimOf('worker', k().config('worker').MODELS_DIR);
    const apiModels = claimOf('api', k().config('api').MODELS_DIR);
    expect(apiModels.claim).toBe(workerModels.claim);
    expect(apiModels.mount.readOnly, 'the API only reads the vocabulary').toBe(true);
    const files = claimOf('api', k().config('api').FILES_DIR);
    expect(files.claim).not.toBe(workerModels.claim);
    expect(k().config('api').FILES_DIR).not.toBe(configSchema.shape.FILES_DIR.parse(undefined));
    // Several pods on several nodes mount each of them at once.
    const shared = overlay === 'prod' ? ['ReadWriteMany'] : ['ReadWriteOnce'];
    for (const claim of [workerModels.claim, files.claim]) expect(claim.spec.accessModes, claim.metadata.name).toEqual(shared);
  });

  it('routes /api and /v1 to the API and /admin to the dashboard, and never /metrics', () => {
    const ingresses = k().all('Ingress');
    expect(ingresses).toHaveLength(1);
    const paths = ingresses[0]!.spec.rules.flatMap((rule: any) => rule.http.paths);
    const backendOf = (path: string) => paths.find((p: any) => p.path === path)?.backend.service;
    for (const [path, role] of [['/api', 'api'], ['/v1', 'api'], ['/admin', 'dashboard']] as const) {
      const backend = backendOf(path);
      expect(backend, path).toBeDefined();
      const service = k().one('Service', backend.name);
      expect(service.spec.selector['app.kubernetes.io/component'], path).toBe(role);
      expect(service.spec.ports.map((p: any) => p.name), path).toContain(backend.port.name);
    }
    expect(paths.map((p: any) => p.path)).not.toContain('/metrics');
    expect(paths.every((p: any) => p.pathType === 'Prefix')).toBe(true);
  });

  it('limits voluntary disruptions of API and workers to one pod at a time, never blocking a drain', () => {
    for (const role of ['api', 'worker'] as const) {
      const labels = k().role(role).spec.template.metadata.labels;
      const budgets = k()
        .all('PodDisruptionBudget')
        .filter((b) => Object.entries(b.spec.selector.matchLabels).every(([key, value]) => labels[key] === value));
      expect(budgets, role).toHaveLength(1);
      expect(budgets[0]!.spec.maxUnavailable, role).toBe(1);
      expect(budgets[0]!.spec.minAvailable, role).toBeUndefined();
    }
  });

  it('pins every image to a version', () => {
    for (const deployment of k().all('Deployment')) {
      for (const container of deployment.spec.template.spec.containers) {
        const tag = /:([^:/]+)$/.exec(container.image)?.[1];
        expect(tag, container.image).toMatch(/\d/);
        expect(tag, container.image).not.toMatch(/^(latest|stable|main|edge)$/);
      }
    }
  });

  describe('the worker ScaledObject', () => {
    const scaler = () => k().one('ScaledObject', 'llmo-worker');
    const trigger = () => scaler().spec.triggers[0];

    it('targets the worker Deployment and scales it from zero, woken by any job', () => {
      expect(scaler().spec.triggers).toHaveLength(1);
      expect(scaler().spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: k().role('worker').metadata.name });
      expect(scaler().spec.minReplicaCount).toBe(0);
      expect(scaler().spec.maxReplicaCount).toBeGreaterThan(0);
      expect(Number(trigger().metadata.activationThreshold)).toBe(0);
      expect(scaler().spec.fallback.replicas).toBeGreaterThan(0);
      expect(trigger().metadata.ignoreNullValues).toBe('false');
    });

    it('queries the queue counts the API and the dashboard export, for this queue and namespace, without double counting', () => {
      expect(trigger().type).toBe('prometheus');
      expect(trigger().metricType).toBe('AverageValue');
      const query: string = trigger().metadata.query;
      const selector = /(\w+)\{([^}]*)\}/.exec(query);
      expect(selector, query).not.toBeNull();
      const definition = Object.values(METRICS).find((m) => m.name === selector![1]);
      expect(definition, `${selector![1]} is in core/metrics/names.ts`).toBeDefined();
      expect(definition!.name).toBe(METRICS.queueJobs.name);
      const matchers = Object.fromEntries([...selector![2]!.matchAll(/(\w+)=~?"([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      expect(matchers.queue).toBe(k().configMap.QUEUE_NAME);
      expect(matchers.namespace).toBe(namespace);
      const states = matchers.state!.split('|');
      for (const state of states) expect(QUEUE_STATES as readonly string[]).toContain(state);
      // Ready (waiting, prioritized), held or backing off (delayed), and running (active).
      expect([...states].sort()).toEqual(['active', 'delayed', 'prioritized', 'waiting']);
      // Each exporting replica reports the same counts: one copy per state, then the sum.
      expect(query).toMatch(/^sum\(max by \(state\) \(/);
      // Every exporting role runs here and is scraped.
      for (const role of definition!.exportedBy) {
        expect(k().role(role as Role).spec.template.metadata.annotations['prometheus.io/scrape'], role).toBe('true');
      }
      expect(trigger().metadata.serverAddress).toMatch(/^https?:\/\/[\w.-]+:\d+$/);
    });

    it('asks one worker per batch of jobs it can hold at once: its BullMQ concurrency', () => {
      const config = k().config('worker');
      const concurrency =
        (config.POOL_THREADS ?? 1) * ((config.CONTEXTS_PER_THREAD ?? 1) * (config.SEQUENCES_PER_THREAD ?? 1) + config.PREFETCH_PER_THREAD);
      expect(Number(trigger().metadata.threshold)).toBe(concurrency);
    });
  });
});

describe('overlays/dev', () => {
  it('runs one API replica and its own Redis with AOF and noeviction, which the Secret URL points at', () => {
    const dev = rendered.dev;
    expect(dev.role('api').spec.replicas).toBe(1);
    const redis = dev.one('Deployment', 'llmo-redis');
    const command = redis.spec.template.spec.containers[0].command.join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(command).toContain('--requirepass "$REDISCLI_AUTH"');
    expect(dev.one('Service', 'llmo-redis').spec.ports[0].port).toBe(6379);
    const docs = readFileSync(repo('docs', 'deploy.md'), 'utf8');
    expect(docs.includes('REDIS_URL=redis://:$REDIS_PASSWORD@llmo-redis:6379'), 'docs/deploy.md creates REDIS_URL for the dev Redis').toBe(true);
  });
});

describe('overlays/prod', () => {
  it('runs no Redis of its own, several API replicas and larger pods than dev, with TLS', () => {
    const prod = rendered.prod;
    expect(prod.all('Deployment').map((d) => d.metadata.name).sort()).toEqual(['llmo-api', 'llmo-dashboard', 'llmo-worker']);
    expect(prod.role('api').spec.replicas).toBeGreaterThanOrEqual(3);
    for (const role of ['api', 'worker'] as const) {
      const limits = (k: Rendered) => k.container(role).resources.limits;
      expect(cpu(limits(prod).cpu), role).toBeGreaterThan(cpu(limits(rendered.dev).cpu));
      expect(memory(limits(prod).memory), role).toBeGreaterThan(memory(limits(rendered.dev).memory));
    }
    const ingress = prod.one('Ingress', 'llmo');
    expect(ingress.spec.tls[0].hosts).toContain(ingress.spec.rules[0].host);
  });
});
