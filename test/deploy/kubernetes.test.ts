import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { loadCatalogue, modelConfig, parseModelsFile, workerModels, type Catalogue, type CatalogueModel } from '../../core/model/catalogue.ts';
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

type Role = 'api' | 'worker' | 'dashboard';
/** The roles that run as one Deployment; workers run as one Deployment per worker group. */
type SingleRole = Exclude<Role, 'worker'>;
const isAppImage = (image: string) => /(^|\/)llm-orchestrator(:|$)/.test(image);
/** A worker Deployment is one whose container runs the worker's entry point, whatever its group is called. */
const runsWorker = (deployment: K8sObject) =>
  deployment.spec.template.spec.containers.some((c: any) => (c.command ?? []).includes('dist/worker/main.js'));

/** One pod template of the application: its role, Deployment and only container. */
interface AppPod {
  role: Role;
  deployment: K8sObject;
  container: any;
  name: string;
}

/** A scratch directory for the models files the checks hand to core/model/catalogue.ts. */
let scratch: string;

/** BullMQ jobs one worker of these settings holds at once (worker/main.ts): the scaler's threshold. */
const concurrency = (config: Config) =>
  (config.POOL_THREADS ?? 1) * ((config.CONTEXTS_PER_THREAD ?? 1) * (config.SEQUENCES_PER_THREAD ?? 1) + config.PREFETCH_PER_THREAD);

/** The label matchers of the one selector of a PromQL query: `{ name: { op, value } }`. */
function queryMatchers(query: string): { metric: string; matchers: Record<string, { op: string; value: string }> } | undefined {
  const selector = /(\w+)\{([^}]*)\}/.exec(query);
  if (!selector) return undefined;
  const matchers = Object.fromEntries([...selector[2]!.matchAll(/(\w+)\s*(=~|!=|!~|=)\s*"([^"]*)"/g)].map((m) => [m[1]!, { op: m[2]!, value: m[3]! }]));
  return { metric: selector[1]!, matchers };
}

/** The model ids a `model="a"` or `model=~"a|b"` matcher selects; undefined for any other matcher. */
function selectedModels(matcher: { op: string; value: string } | undefined): string[] | undefined {
  if (!matcher) return undefined;
  if (matcher.op === '=') return [matcher.value];
  if (matcher.op === '=~') return matcher.value.split('|');
  return undefined;
}

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

  /** The Deployment of the API or the dashboard, found by its component label. */
  role(role: SingleRole): K8sObject {
    const found = this.all('Deployment').filter((d) => d.spec.template.metadata.labels?.['app.kubernetes.io/component'] === role);
    expect(found, `one Deployment for ${role}`).toHaveLength(1);
    return found[0]!;
  }

  /** Every worker Deployment: one per worker group (one in all, without groups). */
  workers(): K8sObject[] {
    const found = this.all('Deployment').filter(runsWorker);
    expect(found.length, 'at least one worker Deployment').toBeGreaterThan(0);
    return found;
  }

  /** The API, the dashboard and every worker group. */
  pods(): AppPod[] {
    const deployments: [Role, K8sObject][] = [
      ['api', this.role('api')],
      ['dashboard', this.role('dashboard')],
      ...this.workers().map((d): [Role, K8sObject] => ['worker', d]),
    ];
    return deployments.map(([role, deployment]) => ({ role, deployment, container: this.containerOf(deployment), name: deployment.metadata.name }));
  }

  containerOf(deployment: K8sObject): any {
    const containers = deployment.spec.template.spec.containers;
    expect(containers, `${deployment.metadata.name} runs one container`).toHaveLength(1);
    return containers[0];
  }

  container(role: SingleRole): any {
    return this.containerOf(this.role(role));
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
  config(role: SingleRole): Config {
    return this.configOf(this.role(role));
  }

  configOf(deployment: K8sObject): Config {
    return loadConfig(this.environment(this.containerOf(deployment)));
  }

  /**
   * Where the pod finds the file MODELS_FILE names: the mount that holds that path, the ConfigMap
   * behind it and the file's text. Throws when the path is on no mount or the ConfigMap lacks the file.
   */
  modelsFile(deployment: K8sObject): { mount: any; configMap: string; text: string } {
    const path = this.configOf(deployment).MODELS_FILE;
    const name = deployment.metadata.name;
    if (path === undefined) throw new Error(`${name}: MODELS_FILE is not set`);
    const mounts: any[] = this.containerOf(deployment).volumeMounts ?? [];
    const holding = mounts
      .filter((m) => (m.subPath ? m.mountPath === path : path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`)))
      .sort((a, b) => b.mountPath.length - a.mountPath.length);
    const mount = holding[0];
    if (!mount) throw new Error(`${name}: nothing is mounted at MODELS_FILE ${path}`);
    const volume = deployment.spec.template.spec.volumes.find((v: any) => v.name === mount.name);
    if (!volume?.configMap) throw new Error(`${name}: ${mount.mountPath} is not a ConfigMap volume`);
    const file = mount.subPath ?? path.slice(mount.mountPath.replace(/\/$/, '').length + 1);
    const items: any[] | undefined = volume.configMap.items;
    const key = items ? items.find((i) => i.path === file)?.key : file;
    const text = key === undefined ? undefined : this.one('ConfigMap', volume.configMap.name).data?.[key];
    if (text === undefined) throw new Error(`${name}: ConfigMap ${volume.configMap.name} has no ${file} for MODELS_FILE ${path}`);
    return { mount, configMap: volume.configMap.name, text };
  }

  /**
   * The catalogue a process of this Deployment loads (core/model/catalogue.ts), from the models
   * file its pod sees: throws as the process would stop, e.g. on a WORKER_MODELS id the file lacks.
   */
  catalogue(deployment: K8sObject): Catalogue {
    const config = this.configOf(deployment);
    if (config.MODELS_FILE === undefined) return loadCatalogue(config);
    const file = join(scratch, `${this.overlay}-${deployment.metadata.name}.yml`);
    writeFileSync(file, this.modelsFile(deployment).text);
    return loadCatalogue({ ...config, MODELS_FILE: file });
  }

  /** The models a worker Deployment serves, each with its own settings (the file's, over the environment's). */
  served(deployment: K8sObject): { model: CatalogueModel; config: Config }[] {
    const config = this.configOf(deployment);
    return workerModels(config, this.catalogue(deployment)).map((model) => ({ model, config: modelConfig(config, model) }));
  }

  /** The one ScaledObject that scales this Deployment. */
  scalerOf(deployment: K8sObject): K8sObject {
    const found = this.all('ScaledObject').filter((s) => s.spec.scaleTargetRef?.name === deployment.metadata.name);
    expect(found, `one ScaledObject scales ${deployment.metadata.name}`).toHaveLength(1);
    return found[0]!;
  }

  containerPort(container: any, port: string | number): number {
    if (typeof port === 'number') return port;
    const found = (container.ports ?? []).find((p: any) => p.name === port);
    if (!found) throw new Error(`${container.name} has no port named ${port}`);
    return found.containerPort;
  }
}

const OVERLAYS = ['dev', 'prod', 'models'] as const;
type Overlay = (typeof OVERLAYS)[number];
const rendered = {} as Record<Overlay, Rendered>;
/** Each overlay's namespace, and the access mode of its shared volumes (dev: single-node clusters). */
const NAMESPACES: Record<Overlay, string> = { dev: 'llmo-dev', prod: 'llmo', models: 'llmo' };
const SHARED_ACCESS: Record<Overlay, string> = { dev: 'ReadWriteOnce', prod: 'ReadWriteMany', models: 'ReadWriteMany' };
let workerServer: MetricsServer;

beforeAll(async () => {
  requireTool('kubectl', 'kubernetes-client');
  scratch = mkdtempSync(join(tmpdir(), 'llmo-k8s-'));
  for (const overlay of OVERLAYS) rendered[overlay] = new Rendered(overlay, render(overlay));
  // The worker's real health and metrics server, to ask it what the probes will ask.
  workerServer = await startMetricsServer({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await workerServer?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
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
  const namespace = NAMESPACES[overlay];

  it('validates every object against the Kubernetes and KEDA schemas', () => {
    expect(k().objects.length).toBeGreaterThan(10);
    expect(schemaProblems(k().objects)).toEqual([]);
  });

  it('puts everything in its namespace, and carries no secret values', () => {
    for (const object of k().objects) expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe(namespace);
    expect(k().all('Secret')).toEqual([]);
    expect(JSON.stringify(k().objects)).not.toMatch(/redis:\/\/:[^@"]+@|rediss:\/\//);
  });

  it('runs every application Deployment as the API, the dashboard or a worker group, no two selecting the same pods', () => {
    const app = k()
      .all('Deployment')
      .filter((d) => d.spec.template.spec.containers.some((c: any) => isAppImage(c.image)));
    expect(k().pods().map((p) => p.name).sort()).toEqual(app.map((d) => d.metadata.name).sort());
    for (const pod of k().pods()) {
      expect(pod.deployment.spec.template.metadata.labels['app.kubernetes.io/component'], pod.name).toMatch(pod.role === 'worker' ? /^worker(-|$)/ : new RegExp(`^${pod.role}$`));
    }
    // Overlapping selectors make Deployments (and the scale their HPA reads) count each other's pods.
    for (const deployment of k().all('Deployment')) {
      const selector = Object.entries(deployment.spec.selector.matchLabels);
      const selected = k()
        .all('Deployment')
        .filter((other) => selector.every(([key, value]) => other.spec.template.metadata.labels[key] === value));
      expect(selected.map((d) => d.metadata.name), deployment.metadata.name).toEqual([deployment.metadata.name]);
    }
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
    for (const pod of k().pods()) {
      expect(pod.container.env.find((v: any) => v.name === 'REDIS_URL')?.valueFrom?.secretKeyRef?.key, pod.name).toBe('REDIS_URL');
    }
  });

  it('sets only real settings of core/config.ts in the application, with values it accepts', () => {
    const settings = new Set(Object.keys(configSchema.shape));
    for (const key of Object.keys(k().configMap)) expect(settings, `ConfigMap key ${key}`).toContain(key);
    for (const { deployment, container, name } of k().pods()) {
      expect(isAppImage(container.image), container.image).toBe(true);
      for (const variable of container.env ?? []) expect(settings, `${name}: ${variable.name}`).toContain(variable.name);
      expect(() => k().configOf(deployment), name).not.toThrow();
      // The models it serves and routes to load as the process would load them (the models file included).
      expect(() => k().catalogue(deployment), name).not.toThrow();
    }
  });

  it('opens each role on the port its configuration gives it, and the Services and scrape annotations use it', () => {
    const expected: Record<Role, (c: Config) => number> = { api: (c) => c.PORT, worker: (c) => c.WORKER_METRICS_PORT, dashboard: (c) => c.DASHBOARD_PORT };
    for (const { role, deployment, container, name } of k().pods()) {
      const config = k().configOf(deployment);
      const port = expected[role](config);
      expect(container.ports.map((p: any) => p.containerPort), name).toEqual([port]);
      expect(config.HOST, `${name} listens on the pod's address`).toBe('0.0.0.0');
      const template = deployment.spec.template;
      expect(template.metadata.annotations?.['prometheus.io/port'], name).toBe(String(port));
      expect(template.metadata.annotations?.['prometheus.io/scrape'], name).toBe('true');
      const services = k().all('Service').filter((s) => Object.entries(s.spec.selector ?? {}).every(([key, value]) => template.metadata.labels[key] === value));
      expect(services, `a Service selects ${name}`).toHaveLength(1);
      for (const servicePort of services[0]!.spec.ports) expect(k().containerPort(container, servicePort.targetPort), name).toBe(port);
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
    const scalers = k().workers().map((worker) => k().scalerOf(worker));
    expect(scalers.some((scaler) => scaler.spec.minReplicaCount === 0)).toBe(true);
    expect(k().container('api').readinessProbe.httpGet.path).not.toBe('/api/ready');
  });

  it("probes workers on their health server's /health, which the real server answers", async () => {
    for (const worker of k().workers()) {
      const container = k().containerOf(worker);
      const config = k().configOf(worker);
      for (const probe of [container.livenessProbe, container.readinessProbe]) {
        expect(k().containerPort(container, probe.httpGet.port), worker.metadata.name).toBe(config.WORKER_METRICS_PORT);
        const response = await fetch(`http://127.0.0.1:${workerServer.port}${probe.httpGet.path}`);
        expect(response.status, `${worker.metadata.name} ${probe.httpGet.path}`).toBe(200);
      }
      const scraped = await fetch(`http://127.0.0.1:${workerServer.port}${worker.spec.template.metadata.annotations['prometheus.io/path']}`);
      expect(scraped.status, worker.metadata.name).toBe(200);
    }
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
    for (const { deployment, name } of k().pods()) expect(deployment.spec.template.spec.securityContext.runAsUser, name).toBe(1000);
  });

  it('gives every directory the application writes a volume, since the root file system is read-only', () => {
    const mounts = (deployment: K8sObject) => new Map<string, any>(k().containerOf(deployment).volumeMounts.map((m: any) => [m.mountPath, m]));
    for (const { deployment, name } of k().pods()) expect(mounts(deployment).has('/tmp'), `${name} /tmp`).toBe(true);
    for (const worker of k().workers()) {
      expect(mounts(worker).get(k().configOf(worker).MODELS_DIR)?.readOnly ?? false, `${worker.metadata.name} writes MODELS_DIR`).toBe(false);
    }
    expect(mounts(k().role('api')).get(k().config('api').FILES_DIR)?.readOnly ?? false, 'the API writes FILES_DIR').toBe(false);
  });

  it('orders grace periods: the pod outlives preStop, SHUTDOWN_GRACE_MS and the overrun, with room to spare', () => {
    const preStopMs = (container: any) => {
      const command: string[] = container.lifecycle?.preStop?.exec?.command ?? [];
      return command[0] === 'sleep' ? Number(command[1]) * 1000 : 0;
    };
    for (const deployment of [k().role('api'), ...k().workers()]) {
      const pod = deployment.spec.template.spec;
      const graceMs = k().configOf(deployment).SHUTDOWN_GRACE_MS;
      // The same margin as compose's stop_grace_period check: the hand-back must not race SIGKILL.
      const needed = preStopMs(k().containerOf(deployment)) + graceMs + SHUTDOWN_OVERRUN_MS + 10_000;
      expect(pod.terminationGracePeriodSeconds * 1000, deployment.metadata.name).toBeGreaterThan(needed);
    }
    for (const worker of k().workers()) {
      expect(k().configOf(worker).SHUTDOWN_GRACE_MS, `${worker.metadata.name}: long generations get time to finish`).toBeGreaterThanOrEqual(60_000);
    }
    // The dashboard drains nothing (dashboard/main.ts stops with graceMs 0): only the overrun.
    expect(k().role('dashboard').spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(SHUTDOWN_OVERRUN_MS);
    // The API stops taking requests only after the endpoints dropped it.
    expect(preStopMs(k().container('api'))).toBeGreaterThan(0);
  });

  it('rolls API and workers out without losing capacity', () => {
    for (const deployment of [k().role('api'), ...k().workers()]) {
      expect(deployment.spec.strategy.rollingUpdate.maxUnavailable, deployment.metadata.name).toBe(0);
    }
    for (const worker of k().workers()) {
      expect(worker.spec.replicas, `KEDA owns the number of ${worker.metadata.name}`).toBeUndefined();
      // A new worker loads its model after /health first answers: give it time before an old one stops.
      expect(worker.spec.minReadySeconds, worker.metadata.name).toBeGreaterThanOrEqual(30);
    }
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
    for (const worker of k().workers()) {
      const container = k().containerOf(worker);
      const contexts = container.env.find((v: any) => v.name === 'CONTEXTS_PER_THREAD');
      expect(contexts.valueFrom.resourceFieldRef, worker.metadata.name).toMatchObject({ containerName: container.name, resource: 'limits.cpu' });
      // Each model it serves with its own settings (a models file's override the environment's);
      // models loaded together run side by side, so their threads add up.
      const served = k().served(worker);
      expect(served.length, worker.metadata.name).toBeGreaterThan(0);
      const threads = served.reduce((sum, { config }) => sum + (config.POOL_THREADS ?? 1) * (config.CONTEXTS_PER_THREAD ?? 1) * (config.LLAMA_THREADS ?? 1), 0);
      expect(threads, worker.metadata.name).toBeLessThanOrEqual(cpuLimitAsInteger(container));
    }
  });

  it('mounts the models volume where workers keep models, and the shared files volume at FILES_DIR in the API', () => {
    const claimOf = (deployment: K8sObject, mountPath: string) => {
      const name = deployment.metadata.name;
      const mount = k().containerOf(deployment).volumeMounts.find((m: any) => m.mountPath === mountPath);
      expect(mount, `${name} mounts ${mountPath}`).toBeDefined();
      const claim = deployment.spec.template.spec.volumes.find((v: any) => v.name === mount.name)?.persistentVolumeClaim?.claimName;
      expect(claim, `${name} ${mountPath} is a PersistentVolumeClaim`).toBeDefined();
      return { mount, claim: k().one('PersistentVolumeClaim', claim) };
    };
    const apiModels = claimOf(k().role('api'), k().config('api').MODELS_DIR);
    // Every worker group downloads into the volume the API reads the vocabularies from.
    for (const worker of k().workers()) expect(claimOf(worker, k().configOf(worker).MODELS_DIR).claim, worker.metadata.name).toBe(apiModels.claim);
    expect(apiModels.mount.readOnly, 'the API only reads the vocabulary').toBe(true);
    const files = claimOf(k().role('api'), k().config('api').FILES_DIR);
    expect(files.claim).not.toBe(apiModels.claim);
    expect(k().config('api').FILES_DIR).not.toBe(configSchema.shape.FILES_DIR.parse(undefined));
    // Several pods on several nodes mount each of them at once.
    for (const claim of [apiModels.claim, files.claim]) expect(claim.spec.accessModes, claim.metadata.name).toEqual([SHARED_ACCESS[overlay]]);
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

  it('limits voluntary disruptions of the API and each worker group to one pod at a time, never blocking a drain', () => {
    const selects = (budget: K8sObject, deployment: K8sObject) =>
      Object.entries(budget.spec.selector.matchLabels).every(([key, value]) => deployment.spec.template.metadata.labels[key] === value);
    for (const deployment of [k().role('api'), ...k().workers()]) {
      const budgets = k()
        .all('PodDisruptionBudget')
        .filter((b) => selects(b, deployment));
      expect(budgets, deployment.metadata.name).toHaveLength(1);
      expect(budgets[0]!.spec.maxUnavailable, deployment.metadata.name).toBe(1);
      expect(budgets[0]!.spec.minAvailable, deployment.metadata.name).toBeUndefined();
    }
    // A budget over two groups would let a drain take one pod of either, not one of each.
    for (const budget of k().all('PodDisruptionBudget')) {
      expect(k().all('Deployment').filter((d) => selects(budget, d)), budget.metadata.name).toHaveLength(1);
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

  describe('the worker ScaledObjects', () => {
    const trigger = (scaler: K8sObject) => scaler.spec.triggers[0];

    it('scale each worker Deployment from zero, woken by any job, and nothing else', () => {
      const targets = k().workers().map((worker) => k().scalerOf(worker).metadata.name);
      expect(new Set(targets).size, 'one ScaledObject per worker group').toBe(targets.length);
      expect(k().all('ScaledObject').map((s) => s.metadata.name).sort()).toEqual([...targets].sort());
      for (const worker of k().workers()) {
        const scaler = k().scalerOf(worker);
        const name = scaler.metadata.name;
        expect(scaler.spec.triggers, name).toHaveLength(1);
        expect(scaler.spec.scaleTargetRef, name).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', name: worker.metadata.name });
        expect(scaler.spec.minReplicaCount, name).toBe(0);
        expect(scaler.spec.maxReplicaCount, name).toBeGreaterThan(0);
        expect(Number(trigger(scaler).metadata.activationThreshold), name).toBe(0);
        expect(scaler.spec.fallback.replicas, name).toBeGreaterThan(0);
        expect(trigger(scaler).metadata.ignoreNullValues, name).toBe('false');
      }
    });

    it("query the queue counts the API and the dashboard export, for their group's queues and namespace, without double counting", () => {
      for (const worker of k().workers()) {
        const scaler = k().scalerOf(worker);
        const name = scaler.metadata.name;
        expect(trigger(scaler).type, name).toBe('prometheus');
        expect(trigger(scaler).metricType, name).toBe('AverageValue');
        const query: string = trigger(scaler).metadata.query;
        const parsed = queryMatchers(query);
        expect(parsed, query).toBeDefined();
        const definition = Object.values(METRICS).find((m) => m.name === parsed!.metric);
        expect(definition, `${parsed!.metric} is in core/metrics/names.ts`).toBeDefined();
        expect(definition!.name).toBe(METRICS.queueJobs.name);
        const { matchers } = parsed!;
        expect(matchers.namespace, name).toEqual({ op: '=', value: namespace });
        // Exactly the queues of the models this group serves: one queue (QUEUE_NAME) without a
        // models file, else each model's (the `model` label names it, docs/metrics.md).
        const catalogue = k().catalogue(worker);
        const served = k().served(worker).map(({ model }) => model);
        if (catalogue.single) {
          expect(matchers.queue, name).toEqual({ op: '=', value: k().configMap.QUEUE_NAME });
          expect(served.map((m) => m.queue), name).toEqual([k().configMap.QUEUE_NAME]);
        } else {
          expect(matchers.queue, `${name}: the model matcher selects the queues`).toBeUndefined();
          expect(selectedModels(matchers.model)?.sort(), name).toEqual(served.map((m) => m.id).sort());
        }
        const states = matchers.state!.value.split('|');
        expect(matchers.state!.op, name).toBe('=~');
        for (const state of states) expect(QUEUE_STATES as readonly string[]).toContain(state);
        // Ready (waiting, prioritized), held or backing off (delayed), and running (active).
        expect([...states].sort(), name).toEqual(['active', 'delayed', 'prioritized', 'waiting']);
        // Each exporting replica reports the same counts: one copy per state, then the sum.
        expect(query, name).toMatch(/^sum\(max by \(state\) \(/);
        // Every exporting role runs here and is scraped.
        for (const role of definition!.exportedBy) {
          for (const exporter of role === 'worker' ? k().workers() : [k().role(role)]) {
            expect(exporter.spec.template.metadata.annotations['prometheus.io/scrape'], exporter.metadata.name).toBe('true');
          }
        }
        expect(trigger(scaler).metadata.serverAddress, name).toMatch(/^https?:\/\/[\w.-]+:\d+$/);
      }
    });

    it('ask one worker per batch of jobs it can hold at once: its BullMQ concurrency', () => {
      for (const worker of k().workers()) {
        // Of the model it serves, with that model's own settings; a group of several models at
        // once holds at least the smallest of them.
        const least = Math.min(...k().served(worker).map(({ config }) => concurrency(config)));
        expect(Number(trigger(k().scalerOf(worker)).metadata.threshold), worker.metadata.name).toBe(least);
      }
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
      const limits = (k: Rendered) => (role === 'api' ? k.container('api') : k.containerOf(k.one('Deployment', 'llmo-worker'))).resources.limits;
      expect(cpu(limits(prod).cpu), role).toBeGreaterThan(cpu(limits(rendered.dev).cpu));
      expect(memory(limits(prod).memory), role).toBeGreaterThan(memory(limits(rendered.dev).memory));
    }
    const ingress = prod.one('Ingress', 'llmo');
    expect(ingress.spec.tls[0].hosts).toContain(ingress.spec.rules[0].host);
  });
});

/**
 * What is wrong with the worker groups of a rendered overlay that has a models file: groups
 * serving every model by default or ids the file lacks, models no group or two groups serve,
 * scalers that count other models' queues than their group's. An empty list when all hold.
 */
function workerGroupProblems(k: Rendered): string[] {
  const problems: string[] = [];
  const ids = k.catalogue(k.role('api')).models.map((m) => m.id);
  const servedBy = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const worker of k.workers()) {
    const name = worker.metadata.name;
    if (k.configOf(worker).WORKER_MODELS === undefined) problems.push(`${name}: WORKER_MODELS unset, it serves every model`);
    let served: string[];
    try {
      served = k.served(worker).map(({ model }) => model.id);
    } catch (error) {
      problems.push(`${name}: ${((error as { issues?: string[] }).issues ?? [(error as Error).message]).join('; ')}`);
      continue;
    }
    for (const id of served) servedBy.get(id)?.push(name);
    for (const scaler of k.all('ScaledObject').filter((s) => s.spec.scaleTargetRef?.name === name)) {
      const selected = selectedModels(queryMatchers(scaler.spec.triggers[0].metadata.query)?.matchers.model) ?? [];
      if ([...selected].sort().join() !== [...served].sort().join()) {
        problems.push(`${name}: ScaledObject ${scaler.metadata.name} counts the jobs of ${selected.join(', ') || 'no model'}, the group serves ${served.join(', ')}`);
      }
    }
  }
  for (const [id, groups] of servedBy) {
    if (groups.length === 0) problems.push(`no worker group serves ${id}`);
    if (groups.length > 1) problems.push(`${id} is served by ${groups.join(' and ')}, and scaled twice`);
  }
  return problems;
}

describe('overlays/models', () => {
  const models = () => rendered.models;
  const overlayFile = () => readFileSync(repo('deploy', 'kubernetes', 'overlays', 'models', 'models.yml'), 'utf8');

  it("mounts its models.yml read-only at MODELS_FILE, a setting of the application's ConfigMap, in the API, the dashboard and every worker", () => {
    expect(models().configMap.MODELS_FILE).toBeDefined();
    const sources = new Set<string>();
    for (const { deployment, container, name } of models().pods()) {
      expect(container.env.find((v: any) => v.name === 'MODELS_FILE'), `${name} takes MODELS_FILE from llmo-config`).toBeUndefined();
      const file = models().modelsFile(deployment);
      expect(file.mount.readOnly, name).toBe(true);
      expect(file.text, name).toBe(overlayFile());
      sources.add(file.configMap);
    }
    // One generated ConfigMap: its name carries the hash of the file, so a change rolls every pod.
    expect([...sources]).toHaveLength(1);
    expect([...sources][0]).toMatch(/^llmo-models-file-[a-z0-9]{6,}$/);
    expect(models().workers().length).toBeGreaterThanOrEqual(2);
    // The check can fail: a dashboard without the mount has no models file to read.
    const mountPath = models().modelsFile(models().role('dashboard')).mount.mountPath;
    const objects = structuredClone(models().objects);
    const dashboard = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'llmo-dashboard')!;
    const container = dashboard.spec.template.spec.containers[0];
    container.volumeMounts = container.volumeMounts.filter((m: any) => m.mountPath !== mountPath);
    expect(() => new Rendered('models', objects).modelsFile(dashboard)).toThrow(/nothing is mounted at MODELS_FILE/);
  });

  it('serves the models of compose/models.example.yml, the example every other layout uses', () => {
    const compose = parseModelsFile(readFileSync(repo('compose', 'models.example.yml'), 'utf8'), 'compose/models.example.yml');
    expect(parseModelsFile(overlayFile(), 'overlays/models/models.yml')).toEqual(compose);
    expect(compose.map((m) => m.id)).toEqual(['chat', 'embed']);
  });

  it('gives each worker group models of the file, serves every model by exactly one group, and scales each group on its own models', () => {
    const served = (worker: K8sObject) =>
      models()
        .served(worker)
        .map(({ model }) => model.id);
    expect(workerGroupProblems(models())).toEqual([]);
    const groups = Object.fromEntries(models().workers().map((w) => [w.metadata.name, served(w)]));
    expect(groups).toEqual({ 'llmo-worker': ['chat'], 'llmo-worker-embed': ['embed'] });
    for (const worker of models().workers()) {
      expect(models().scalerOf(worker).spec.triggers[0].metadata.query, worker.metadata.name).toContain(`model="${served(worker)[0]}"`);
    }

    // The check can fail: a group serving a model the file lacks, a scaler counting another group's model.
    const objects = structuredClone(models().objects);
    const embed = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'llmo-worker-embed')!;
    embed.spec.template.spec.containers[0].env.find((v: any) => v.name === 'WORKER_MODELS').value = 'story';
    const chatScaler = objects.find((o) => o.kind === 'ScaledObject' && o.metadata.name === 'llmo-worker')!;
    chatScaler.spec.triggers[0].metadata.query = chatScaler.spec.triggers[0].metadata.query.replace('model="chat"', 'model="embed"');
    expect(workerGroupProblems(new Rendered('models', objects))).toEqual([
      'llmo-worker: ScaledObject llmo-worker counts the jobs of embed, the group serves chat',
      expect.stringMatching(/^llmo-worker-embed: WORKER_MODELS: story not in the catalogue/),
      'no worker group serves embed',
    ]);
    // …and a group that serves every model by default, beside one that serves one of them.
    embed.spec.template.spec.containers[0].env = embed.spec.template.spec.containers[0].env.filter((v: any) => v.name !== 'WORKER_MODELS');
    chatScaler.spec.triggers[0].metadata.query = models().scalerOf(models().one('Deployment', 'llmo-worker')).spec.triggers[0].metadata.query;
    expect(workerGroupProblems(new Rendered('models', objects))).toEqual([
      'llmo-worker-embed: WORKER_MODELS unset, it serves every model',
      'llmo-worker-embed: ScaledObject llmo-worker-embed counts the jobs of embed, the group serves chat, embed',
      'chat is served by llmo-worker and llmo-worker-embed, and scaled twice',
    ]);
  });

  it("runs the embed group as the chat group's worker, differing only in name, component, WORKER_MODELS, resources and scaling", () => {
    const chat = models().one('Deployment', 'llmo-worker');
    const embed = models().one('Deployment', 'llmo-worker-embed');
    const shape = (deployment: K8sObject) => {
      const spec = structuredClone(deployment.spec);
      delete spec.selector;
      delete spec.template.metadata.labels['app.kubernetes.io/component'];
      const container = spec.template.spec.containers[0];
      container.env = container.env.filter((v: any) => v.name !== 'WORKER_MODELS');
      delete container.resources;
      return spec;
    };
    expect(shape(embed)).toEqual(shape(chat));
    const { 'app.kubernetes.io/component': chatComponent, ...chatSelector } = chat.spec.selector.matchLabels;
    const { 'app.kubernetes.io/component': embedComponent, ...embedSelector } = embed.spec.selector.matchLabels;
    expect(embedSelector).toEqual(chatSelector);
    expect(embedComponent).not.toBe(chatComponent);
    // The embedding model is a fraction of the chat model's size: smaller pods.
    const limits = (d: K8sObject) => models().containerOf(d).resources.limits;
    expect(memory(limits(embed).memory)).toBeLessThan(memory(limits(chat).memory));
    // Both scalers behave alike: the same Prometheus, polling, cooldown and scaling policies.
    const behaviour = (scaler: K8sObject) => ({
      ...scaler.spec,
      scaleTargetRef: undefined,
      maxReplicaCount: undefined,
      fallback: scaler.spec.fallback.failureThreshold,
      triggers: scaler.spec.triggers.map((t: any) => ({ ...t, metadata: { ...t.metadata, query: undefined, threshold: undefined } })),
    });
    expect(behaviour(models().scalerOf(embed))).toEqual(behaviour(models().scalerOf(chat)));
  });
});
