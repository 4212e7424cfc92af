import { readFileSync } from 'node:fs';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { formatProblems, loadTerraform, type Terraform } from './terraform.ts';
import { repo } from './tools.ts';

interface WorkerGroup {
  models?: string[];
  cpu: number;
  memory: number;
  min_count: number;
  max_count: number;
  target_backlog_per_task: number;
}

let tf: Terraform;
let example: { models?: { id: string; source: string; kind?: string; aliases?: string[] }[]; worker_groups?: Record<string, WorkerGroup> };
beforeAll(async () => {
  tf = await loadTerraform();
  example = await parseHcl('example.tfvars', readFileSync(repo('terraform', 'example.tfvars'), 'utf8'));
});

/** `${aws_x.name.attr}` → ['aws_x', 'name']; undefined when the expression is not such a reference. */
const refOf = (expression: unknown): [string, string] | undefined => {
  const match = /^\$\{([a-z0-9_]+)\.([a-z0-9_]+)(?:\[[^\]]*\])?\.[a-z_]+\}$/.exec(String(expression));
  return match ? [match[1]!, match[2]!] : undefined;
};
const all = (type: string): [string, any][] => Object.entries(tf.resources[type] ?? {});
const coversPort = (rule: any, port: number) =>
  rule.ip_protocol === '-1' || (Number(rule.from_port) <= port && port <= Number(rule.to_port));

describe('terraform/*.tf', () => {
  it('parses with the HCL parser, every file', () => {
    expect([...tf.files.keys()]).toEqual(expect.arrayContaining(['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf']));
    expect(Object.keys(tf.resources).length).toBeGreaterThan(20);
  });

  it('is formatted as terraform fmt formats it', () => {
    const problems = [...tf.files].flatMap(([name, text]) => formatProblems(name, text));
    expect(problems).toEqual([]);
  });

  it('has a format check that catches misaligned attributes and bad indentation', () => {
    const bad = 'resource "a" "b" {\n  name = "x"\n  longer_name = 1\n  inner {\n     deep = 1\n  }\n}\n';
    expect(formatProblems('bad.tf', bad).sort()).toEqual([
      'bad.tf:2: "=" of name at column 8, terraform fmt puts it at 15',
      'bad.tf:5: indented 5, expected 4',
    ]);
  });
});

describe('variables and outputs', () => {
  it('gives every variable a description and a validation with its error message', () => {
    for (const [name, variable] of Object.entries(tf.variables)) {
      expect(variable.description, name).toMatch(/\w{3,}/);
      expect(variable.type, name).toBeDefined();
      expect(variable.validation?.length, `${name} has no validation`).toBeGreaterThan(0);
      for (const validation of variable.validation) {
        expect(validation.condition, name).toContain(`var.${name}`);
        expect(validation.error_message, name).toMatch(/\w+/);
      }
    }
  });

  it('accepts only dev and prod as environment', () => {
    const environment = tf.variables.environment;
    expect(environment.default).toBeUndefined();
    expect(environment.validation[0].condition).toBe('${contains(["dev", "prod"], var.environment)}');
  });

  it('outputs the load balancer URL and the ECR repository URLs, with descriptions', () => {
    expect(tf.outputs.alb_url.value).toContain('aws_lb.main.dns_name');
    expect(tf.outputs.ecr_repository_urls.value).toEqual({ app: '${aws_ecr_repository.app.repository_url}' });
    for (const [name, output] of Object.entries(tf.outputs)) expect(output.description, name).toMatch(/\w{3,}/);
  });
});

describe('network', () => {
  it('has a public and a private subnet in each of two AZs, private ones routed through NAT', () => {
    expect(tf.locals.azs).toBe('${slice(data.aws_availability_zones.available.names, 0, 2)}');
    expect(tf.resource('aws_subnet', 'public').count).toBe('${length(local.azs)}');
    expect(tf.resource('aws_subnet', 'private').count).toBe('${length(local.azs)}');
    expect(tf.resource('aws_subnet', 'private').map_public_ip_on_launch).toBeUndefined();
    expect(tf.resource('aws_route_table', 'private').route[0].nat_gateway_id).toMatch(/aws_nat_gateway\.main/);
    expect(tf.resource('aws_nat_gateway', 'main').subnet_id).toMatch(/aws_subnet\.public/);
  });

  it('never opens Redis (6379) or NFS (2049) to a CIDR block, only to security groups', () => {
    expect(tf.resources.aws_security_group_rule).toBeUndefined();
    for (const [name, group] of all('aws_security_group')) expect(group.ingress, `inline ingress in ${name}`).toBeUndefined();
    for (const [name, rule] of all('aws_vpc_security_group_ingress_rule')) {
      if (coversPort(rule, 6379) || coversPort(rule, 2049)) {
        expect(rule.cidr_ipv4, name).toBeUndefined();
        expect(rule.cidr_ipv6, name).toBeUndefined();
        expect(rule.prefix_list_id, name).toBeUndefined();
        expect(rule.referenced_security_group_id, name).toBeDefined();
      }
    }
    const redisRules = all('aws_vpc_security_group_ingress_rule').filter(([, r]) => r.security_group_id === '${aws_security_group.redis.id}');
    const efsRules = all('aws_vpc_security_group_ingress_rule').filter(([, r]) => r.security_group_id === '${aws_security_group.efs.id}');
    expect(redisRules.map(([, r]) => [r.from_port, r.to_port])).toEqual([[6379, 6379]]);
    expect(efsRules.map(([, r]) => [r.from_port, r.to_port])).toEqual([[2049, 2049]]);
    expect(Object.keys(tf.resource('aws_vpc_security_group_ingress_rule', 'efs_from_tasks').for_each).sort()).toEqual(['api', 'worker']);
  });

  it('lets the internet reach only the load balancer', () => {
    for (const [name, rule] of all('aws_vpc_security_group_ingress_rule')) {
      if (rule.cidr_ipv4 !== undefined || rule.cidr_ipv6 !== undefined) expect(rule.security_group_id, name).toBe('${aws_security_group.alb.id}');
    }
  });
});

describe('Redis (ElastiCache)', () => {
  it('never evicts, demands AUTH, encrypts in transit and at rest, and lives in private subnets', () => {
    const group = tf.resource('aws_elasticache_replication_group', 'redis');
    expect(group.transit_encryption_enabled).toBe(true);
    expect(group.at_rest_encryption_enabled).toBe(true);
    expect(group.auth_token).toBe('${data.aws_ssm_parameter.redis_auth_token.value}');
    expect(group.security_group_ids).toEqual(['${aws_security_group.redis.id}']);

    const [, parameterGroup] = refOf(group.parameter_group_name)!;
    const parameters = tf.resource('aws_elasticache_parameter_group', parameterGroup).parameter;
    expect(parameters).toContainEqual({ name: 'maxmemory-policy', value: 'noeviction' });

    const [, subnetGroup] = refOf(group.subnet_group_name)!;
    expect(tf.resource('aws_elasticache_subnet_group', subnetGroup).subnet_ids).toBe('${aws_subnet.private[*].id}');
  });

  it('has the API wait for as many replicas as the environment has, never more', () => {
    const group = tf.resource('aws_elasticache_replication_group', 'redis');
    expect(group.num_cache_clusters).toBe('${1 + local.redis_replicas}');
    expect(tf.locals.redis_min_replicas_ack).toBe('${coalesce(var.redis_min_replicas_ack, local.redis_replicas)}');
    expect(String(tf.locals.app_environment)).toContain('REDIS_MIN_REPLICAS_ACK = tostring(local.redis_min_replicas_ack)');
    const conditions = group.lifecycle[0].precondition.map((p: any) => p.condition);
    expect(conditions).toContain('${local.redis_min_replicas_ack <= local.redis_replicas}');
  });

  it('gives the application a TLS URL from SSM Parameter Store', () => {
    const url = tf.resource('aws_ssm_parameter', 'redis_url');
    expect(url.type).toBe('SecureString');
    expect(url.value).toMatch(/^rediss:\/\/:/);
  });
});

describe('ECS services', () => {
  const containersOf = (service: any): any[] => {
    const [, family] = refOf(service.task_definition)!;
    const definitions = String(tf.resource('aws_ecs_task_definition', family).container_definitions);
    const names = [...definitions.matchAll(/local\.containers\.([a-z_]+)/g)].map((m) => m[1]!);
    expect(names.length, family).toBeGreaterThan(0);
    return names.map((name) => tf.locals.containers[name]);
  };

  it('runs api, worker and dashboard', () => {
    expect(Object.keys(tf.resources.aws_ecs_service ?? {}).sort()).toEqual(['api', 'dashboard', 'worker']);
  });

  it('sends every container log to CloudWatch and health-checks every container', () => {
    for (const [name, service] of all('aws_ecs_service')) {
      for (const container of containersOf(service)) {
        const where = `${name}/${container.name}`;
        expect(container.logConfiguration.logDriver, where).toBe('awslogs');
        expect(container.logConfiguration.options, where).toMatch(/local\.log_options\.\w+/);
        expect(container.healthCheck.command[0], where).toBe('CMD');
        expect(container.healthCheck.command.length, where).toBeGreaterThan(1);
        expect(container.healthCheck.interval, where).toBeGreaterThan(0);
        expect(container.healthCheck.startPeriod, where).toBeLessThanOrEqual(300);
      }
      expect(service.deployment_circuit_breaker?.[0], name).toEqual({ enable: true, rollback: true });
    }
    // Each service's options name its own log group.
    expect(String(tf.locals.log_options)).toContain('awslogs-group         = aws_cloudwatch_log_group.service[service].name');
    for (const service of ['api', 'worker', 'dashboard']) {
      expect(tf.resource('aws_cloudwatch_log_group', 'service').for_each).toContain(`"${service}"`);
    }
  });

  it('puts the services behind load balancer health checks where they take traffic', () => {
    for (const name of ['api', 'dashboard']) {
      const service = tf.resource('aws_ecs_service', name);
      const [, targetGroup] = refOf(service.load_balancer[0].target_group_arn)!;
      expect(tf.resource('aws_lb_target_group', targetGroup).health_check[0].path).toBe(name === 'api' ? '/api/health' : '/health');
    }
    expect(tf.resource('aws_ecs_service', 'worker').load_balancer).toBeUndefined();
  });

  it('routes /api and /v1 to the API and /admin to the dashboard', () => {
    expect(tf.locals.routing).toMatchObject({
      api: { paths: ['/api', '/api/*', '/v1/*'], target: '${aws_lb_target_group.api.arn}' },
      dashboard: { paths: ['/admin', '/admin/*'], target: '${aws_lb_target_group.dashboard.arn}' },
    });
    expect(tf.resource('aws_lb_listener_rule', 'route').for_each).toBe('${local.routing}');
  });

  it('runs tasks in private subnets without public addresses', () => {
    for (const [name, service] of all('aws_ecs_service')) {
      expect(service.network_configuration[0].subnets, name).toBe('${aws_subnet.private[*].id}');
      expect(service.network_configuration[0].assign_public_ip, name).toBe(false);
    }
  });

  it('takes secrets from SSM Parameter Store, never from plain environment variables', () => {
    for (const [name, container] of Object.entries<any>(tf.locals.containers)) {
      expect(String(container.environment), name).toMatch(/^\$\{local\.environment\.\w+\}$/);
      for (const secret of container.secrets) expect(secret.valueFrom, `${name} ${secret.name}`).toMatch(/^\$\{local\.secret_arns\.\w+\}$/);
      expect(container.secrets.map((s: any) => s.name)).toContain('REDIS_URL');
    }
    expect(String(tf.locals.app_environment)).not.toMatch(/REDIS_URL|API_KEYS|DASHBOARD_PASSWORD/);
  });

  it('mounts the EFS model store into workers with encryption in transit and IAM authorization', () => {
    const worker = tf.resource('aws_ecs_task_definition', 'worker');
    const efs = worker.volume[0].efs_volume_configuration[0];
    expect(efs.transit_encryption).toBe('ENABLED');
    expect(efs.authorization_config[0].iam).toBe('ENABLED');
    expect(tf.locals.containers.worker.mountPoints).toContainEqual({ sourceVolume: 'models', containerPath: '/models', readOnly: false });
    expect(tf.resource('aws_efs_mount_target', 'models').subnet_id).toMatch(/aws_subnet\.private/);
    expect(tf.resource('aws_efs_file_system', 'models').encrypted).toBe(true);
  });

  it('mounts the files access point into every API task at FILES_DIR, writable, with encryption in transit and IAM authorization', () => {
    const volume = tf.resource('aws_ecs_task_definition', 'api').volume.find(
      (v: any) => v.efs_volume_configuration?.[0]?.authorization_config?.[0]?.access_point_id === '${aws_efs_access_point.files.id}',
    );
    expect(volume, 'an api task volume on the files access point').toBeDefined();
    const efs = volume.efs_volume_configuration[0];
    expect(efs.file_system_id).toBe('${aws_efs_file_system.models.id}');
    expect(efs.transit_encryption).toBe('ENABLED');
    expect(efs.authorization_config[0].iam).toBe('ENABLED');

    const mount = tf.locals.containers.api.mountPoints.find((m: any) => m.sourceVolume === volume.name);
    expect(mount, 'the api container mounts the files volume').toBeDefined();
    expect(mount.readOnly).toBe(false);
    expect(mount.containerPath).toMatch(/^\/\w+/);
    expect(String(tf.locals.environment.api)).toContain(`FILES_DIR = "${mount.containerPath}"`);
    expect(String(tf.locals.app_environment)).not.toContain('FILES_DIR');

    // Its own root, owned by the image's user (the same as the models access point's).
    const files = tf.resource('aws_efs_access_point', 'files');
    const models = tf.resource('aws_efs_access_point', 'models');
    expect(files.file_system_id).toBe('${aws_efs_file_system.models.id}');
    expect(files.root_directory[0].path).not.toBe(models.root_directory[0].path);
    expect(files.posix_user[0]).toEqual(models.posix_user[0]);
    expect(files.root_directory[0].creation_info[0]).toMatchObject({ owner_uid: files.posix_user[0].uid, owner_gid: files.posix_user[0].gid });

    // The API task role may mount and write through that access point, and its tasks reach EFS.
    const role = tf.resource('aws_iam_role_policy', 'api_files');
    expect(role.role).toBe('${aws_iam_role.api.id}');
    const [, document] = /^\$\{data\.aws_iam_policy_document\.([a-z_]+)\.json\}$/.exec(role.policy)!;
    const statement = tf.data.aws_iam_policy_document![document!]!.statement[0];
    expect(statement.actions).toEqual(expect.arrayContaining(['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite']));
    expect(statement.condition[0]).toMatchObject({ variable: 'elasticfilesystem:AccessPointArn', values: ['${aws_efs_access_point.files.arn}'] });
    expect(tf.resource('aws_vpc_security_group_ingress_rule', 'efs_from_tasks').for_each.api).toBe('${aws_security_group.api.id}');
    expect(tf.resource('aws_ecs_service', 'api').depends_on).toContain('${aws_efs_mount_target.models}');
  });

  it('gives workers the longest stop timeout Fargate allows, above their drain time', () => {
    const worker = tf.locals.containers.worker;
    expect(worker.stopTimeout).toBe(120);
    expect(tf.locals.worker_settings).toEqual({ WORKER_METRICS_PORT: '9464', SHUTDOWN_GRACE_MS: '100000' });
    expect(tf.locals.environment.worker).toContain('local.worker_settings');
    expect(String(tf.locals.worker_environment)).toContain('local.worker_settings');
  });
});

describe('worker groups', () => {
  const groupResources: [string, string][] = [
    ['aws_ecs_task_definition', 'worker'],
    ['aws_ecs_service', 'worker'],
    ['aws_appautoscaling_target', 'worker'],
    ['aws_appautoscaling_policy', 'worker_backlog'],
  ];
  const exampleIds = (): string[] => (example.models ?? []).map((m) => m.id);

  /** What terraform's validations and the task definition's precondition demand of a group map. */
  function groupProblems(groups: Record<string, WorkerGroup>, modelIds: string[]): string[] {
    const problems: string[] = [];
    for (const [name, g] of Object.entries(groups)) {
      if (!/^[a-z0-9][a-z0-9-]{0,23}$/.test(name)) problems.push(`${name}: name`);
      if (!(g.min_count >= 1 && g.min_count <= g.max_count)) problems.push(`${name}: counts`);
      if (!(g.target_backlog_per_task > 0)) problems.push(`${name}: target`);
      for (const id of g.models ?? []) if (!modelIds.includes(id)) problems.push(`${name}: unknown model ${id}`);
    }
    return problems;
  }

  it('reproduces the single worker service by default: one group, every model, the former size', () => {
    expect(tf.variables.worker).toBeUndefined();
    expect(tf.variables.worker_groups.default).toEqual({
      default: { models: [], cpu: 4096, memory: 8192, min_count: 1, max_count: 8, target_backlog_per_task: 4 },
    });
    expect(tf.variables.models.default).toEqual([]);
    expect(tf.locals.worker_service_names).toBe('${{ for name, group in var.worker_groups : name => name == "default" ? "worker" : "worker-${name}" }}');
  });

  it('moves the resources of the single worker service to the default group instead of replacing them', () => {
    const text = tf.files.get('worker-groups.tf')!;
    for (const [type, name] of groupResources) {
      expect(text, `${type}.${name}`).toMatch(new RegExp(`from = ${type}\\.${name}\\n\\s+to   = ${type}\\.${name}\\["default"\\]`));
    }
  });

  it('gives every group a task definition, a service, a scaling target and a scaling policy', () => {
    for (const [type, name] of groupResources) {
      expect(tf.resource(type, name).for_each, `${type}.${name}`).toBe('${var.worker_groups}');
    }
    const service = tf.resource('aws_ecs_service', 'worker');
    expect(service.name).toBe('${local.worker_service_names[each.key]}');
    expect(service.task_definition).toBe('${aws_ecs_task_definition.worker[each.key].arn}');
    expect(service.desired_count).toBe('${each.value.min_count}');
    const target = tf.resource('aws_appautoscaling_target', 'worker');
    expect(target.resource_id).toBe('service/${aws_ecs_cluster.main.name}/${aws_ecs_service.worker[each.key].name}');
    expect(target.min_capacity).toBe('${each.value.min_count}');
    expect(target.max_capacity).toBe('${each.value.max_count}');
    const policy = tf.resource('aws_appautoscaling_policy', 'worker_backlog');
    expect(policy.resource_id).toBe('${aws_appautoscaling_target.worker[each.key].resource_id}');
    expect(policy.target_tracking_scaling_policy_configuration[0].target_value).toBe('${each.value.target_backlog_per_task}');
    const task = tf.resource('aws_ecs_task_definition', 'worker');
    expect(task.cpu).toBe('${each.value.cpu}');
    expect(task.memory).toBe('${each.value.memory}');
    expect(task.family).toBe('${local.prefix}-${local.worker_service_names[each.key]}');
  });

  it("sets WORKER_MODELS of each group's workers to the group's models, and leaves it unset for a group of every model", () => {
    const task = tf.resource('aws_ecs_task_definition', 'worker');
    expect(task.container_definitions).toContain('environment      = local.worker_environment[each.key]');
    const environment = String(tf.locals.worker_environment);
    expect(environment).toMatch(/^\$\{\{\s*for name, group in var\.worker_groups : name =>/);
    expect(environment).toContain('length(group.models) > 0 ? { WORKER_MODELS = join(",", group.models) } : {}');
    expect(String(tf.locals.app_environment)).not.toContain('WORKER_MODELS');
    // A group may name only models that var.models defines.
    expect(task.lifecycle[0].precondition[0].condition).toBe('${alltrue([for id in each.value.models : contains(local.model_ids, id)])}');
  });

  it("scales each group on the summed backlog of its own models' queues per running task", () => {
    const spec = tf.resource('aws_appautoscaling_policy', 'worker_backlog').target_tracking_scaling_policy_configuration[0].customized_metric_specification[0];
    const perQueue = spec.dynamic.metrics[0];
    expect(perQueue.for_each).toBe('${local.worker_group_queues[each.key]}');
    const metric = perQueue.content[0].metric_stat[0].metric[0];
    expect(metric).toMatchObject({ metric_name: 'QueueBacklog', namespace: '${local.metric_namespace}', dimensions: [{ name: 'Queue', value: '${metrics.value}' }] });
    expect(perQueue.content[0].id).toBe('q${metrics.key}');
    const tasks = spec.metrics.find((m: any) => m.id === 'tasks').metric_stat[0].metric[0];
    expect(tasks).toMatchObject({ namespace: 'ECS/ContainerInsights', metric_name: 'RunningTaskCount' });
    expect(tasks.dimensions).toContainEqual({ name: 'ServiceName', value: '${aws_ecs_service.worker[each.key].name}' });
    const returned = spec.metrics.filter((m: any) => m.return_data === true);
    expect(returned).toHaveLength(1);
    expect(returned[0].expression).toBe('IF(tasks > 1, (${local.worker_group_backlog[each.key]}) / tasks, ${local.worker_group_backlog[each.key]})');
    expect(tf.locals.worker_group_backlog).toContain('FILL(q${i}, 0)');
    // One queue per model of the group, or QUEUE_NAME alone without var.models.
    expect(tf.locals.worker_group_queues).toContain('local.multi_model ? [for id in models : "${local.queue_name}-${id}"] : [local.queue_name]');
    expect(tf.resource('aws_ecs_cluster', 'main').setting).toContainEqual({ name: 'containerInsights', value: 'enabled' });
  });

  it('publishes the backlog of every queue a group serves, with the queue as a dimension', () => {
    const filter = tf.resource('aws_cloudwatch_log_metric_filter', 'backlog_by_queue');
    expect(filter.for_each).toBe('${local.backlog_metrics}');
    expect(filter.metric_transformation[0].dimensions).toEqual({ Queue: '$.queue' });
    expect(tf.locals.backlog_metrics.QueueBacklog).toBe('$.backlog');
    const dashboard = tf.resource('aws_ecs_task_definition', 'dashboard');
    expect(dashboard.container_definitions).toContain('for container, queue in local.backlog_publishers');
    expect(dashboard.container_definitions).toContain('environment      = local.backlog_environment[container]');
    expect(tf.locals.backlog_publishers).toContain('for id in distinct(flatten(values(local.worker_group_models)))');
    // A publisher reads one queue as a single-model process.
    expect(String(tf.locals.backlog_environment)).toContain('merge(local.app_environment, { QUEUE_NAME = queue })');
    expect(String(tf.locals.backlog_environment)).toContain('if key != "MODELS_FILE"');
  });

  it('gives api, dashboard and workers MODELS_FILE from var.models, written before they start', () => {
    expect(tf.locals.app_environment).toContain('local.multi_model ? { MODELS_FILE = local.models_file } : {}');
    expect(tf.locals.models_yaml).toContain('yamlencode({ models = [for m in var.models');
    for (const name of ['api', 'worker', 'dashboard']) {
      const task = tf.resource('aws_ecs_task_definition', name);
      expect(task.container_definitions, name).toContain('local.models_file_containers');
      expect(task.container_definitions, name).toContain('local.models_file_depends)');
      expect(task.dynamic.volume[0].for_each, name).toBe('${local.multi_model ? ["config"] : []}');
    }
    expect(tf.locals.models_file_depends).toContain('dependsOn = [{ containerName = "models-file", condition = "SUCCESS" }]');
    expect(tf.locals.models_file_depends).toMatch(/if local\.multi_model \}\}$/);
  });

  it('keeps example.tfvars valid: groups of known models, min <= max, every model served by a group', () => {
    const groups = example.worker_groups!;
    expect(Object.keys(groups).length).toBeGreaterThanOrEqual(2);
    expect(groupProblems(groups, exampleIds())).toEqual([]);
    const served = new Set(Object.values(groups).flatMap((g) => g.models ?? []));
    expect([...served].sort()).toEqual([...exampleIds()].sort());
    for (const [name, g] of Object.entries(groups)) {
      expect([1024, 2048, 4096, 8192, 16384], name).toContain(g.cpu);
      expect(g.memory, name).toBeGreaterThanOrEqual(2048);
    }
    // The default groups pass the same checks with no models defined.
    expect(groupProblems(tf.variables.worker_groups.default, [])).toEqual([]);
  });

  it('checks what it claims: a group with min above max or an unknown model is a problem', () => {
    const base: WorkerGroup = { models: ['chat'], cpu: 4096, memory: 8192, min_count: 1, max_count: 2, target_backlog_per_task: 4 };
    expect(groupProblems({ a: { ...base, min_count: 3 } }, ['chat'])).toEqual(['a: counts']);
    expect(groupProblems({ a: { ...base, models: ['nope'] } }, ['chat'])).toEqual(['a: unknown model nope']);
    expect(groupProblems({ Bad_Name: base }, ['chat'])).toEqual(['Bad_Name: name']);
    // Terraform's own validations say the same.
    const conditions = tf.variables.worker_groups.validation.map((v: any) => v.condition).join('\n');
    expect(conditions).toContain('g.min_count >= 1 && g.min_count <= g.max_count && g.target_backlog_per_task > 0');
    expect(conditions).toContain('can(regex("^[a-z0-9][a-z0-9-]{0,23}$", name))');
  });

  it('serves the same models as compose/models.example.yml', () => {
    const compose = parseYaml(readFileSync(repo('compose', 'models.example.yml'), 'utf8')) as { models: { id: string; source: string; kind?: string; aliases?: string[] }[] };
    const pick = (m: { id: string; source: string; kind?: string; aliases?: string[] }) => ({ id: m.id, source: m.source, kind: m.kind ?? 'generate', aliases: m.aliases ?? [] });
    expect((example.models ?? []).map(pick)).toEqual(compose.models.map(pick));
  });
});
