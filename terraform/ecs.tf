# Fargate for every service. Workers are CPU-bound llama.cpp processes whose memory is the model
# plus its context: Fargate sizes of up to 16 vCPU / 120 GiB hold Q8_0 models far beyond what CPU
# inference serves at useful speed, the model comes from EFS (no host disk to manage), and a
# task's memory limit is the model's budget, nothing shared. docs/deploy.md says when EC2
# capacity (GPUs, page cache shared between tasks) is the better choice.

resource "aws_ecs_cluster" "main" {
  name = local.prefix

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]
}

resource "aws_cloudwatch_log_group" "service" {
  for_each = toset(["api", "worker", "dashboard"])

  name              = "/ecs/${local.prefix}/${each.key}"
  retention_in_days = var.log_retention_days
}

locals {
  secret_arns = {
    redis_url          = aws_ssm_parameter.redis_url.arn
    api_keys           = "arn:${data.aws_partition.current.partition}:ssm:${var.aws_region}:${data.aws_caller_identity.current.account_id}:parameter${local.ssm_prefix}/api-keys"
    dashboard_password = "arn:${data.aws_partition.current.partition}:ssm:${var.aws_region}:${data.aws_caller_identity.current.account_id}:parameter${local.ssm_prefix}/dashboard-password"
  }

  environment = {
    api       = [for key, value in merge(local.app_environment, { PORT = "8080", SHUTDOWN_GRACE_MS = "10000", FILES_DIR = "/files" }) : { name = key, value = value }]
    worker    = [for key, value in merge(local.app_environment, local.worker_settings) : { name = key, value = value }]
    dashboard = [for key, value in merge(local.app_environment, { DASHBOARD_PORT = "8081" }) : { name = key, value = value }]
  }

  worker_settings = { WORKER_METRICS_PORT = "9464", SHUTDOWN_GRACE_MS = "100000" }

  # Each worker group: the worker's environment and the models it serves (WORKER_MODELS; unset,
  # a worker serves every model of MODELS_FILE).
  worker_environment = {
    for name, group in var.worker_groups : name => [
      for key, value in merge(
        local.app_environment,
        local.worker_settings,
        length(group.models) > 0 ? { WORKER_MODELS = join(",", group.models) } : {},
      ) : { name = key, value = value }
    ]
  }

  # Each backlog publisher reads one queue as a single-model process: QUEUE_NAME is that queue.
  backlog_environment = {
    for container, queue in local.backlog_publishers : container => [
      for key, value in merge(local.app_environment, { QUEUE_NAME = queue }) : { name = key, value = value } if key != "MODELS_FILE"
    ]
  }

  # With var.models: the one-shot container that writes MODELS_FILE into the task volume `config`
  # before the application containers start, and what those containers add to mount it.
  models_file_containers = local.multi_model ? [{
    name             = "models-file"
    image            = local.image
    essential        = false
    user             = "0"
    command          = ["node", "-e", "require('node:fs').writeFileSync(process.env.MODELS_FILE, process.env.MODELS_YAML, { mode: 0o644 })"]
    environment      = [{ name = "MODELS_FILE", value = local.models_file }, { name = "MODELS_YAML", value = local.models_yaml }]
    mountPoints      = [{ sourceVolume = "config", containerPath = dirname(local.models_file), readOnly = false }]
    logConfiguration = { logDriver = "awslogs", options = merge(local.log_options.dashboard, { awslogs-stream-prefix = "models-file" }) }
  }] : []
  models_file_mounts = local.multi_model ? [{ sourceVolume = "config", containerPath = dirname(local.models_file), readOnly = true }] : []
  # Merged into a container only with var.models: an empty dependsOn would differ from what ECS returns.
  models_file_depends = { for key, value in { dependsOn = [{ containerName = "models-file", condition = "SUCCESS" }] } : key => value if local.multi_model }

  log_options = {
    for service in ["api", "worker", "dashboard"] : service => {
      awslogs-group         = aws_cloudwatch_log_group.service[service].name
      awslogs-region        = var.aws_region
      awslogs-stream-prefix = service
    }
  }

  containers = {
    api = {
      name             = "api"
      image            = local.image
      essential        = true
      command          = ["node", "dist/api/main.js"]
      portMappings     = [{ containerPort = 8080, protocol = "tcp" }]
      environment      = local.environment.api
      secrets          = [{ name = "REDIS_URL", valueFrom = local.secret_arns.redis_url }, { name = "API_KEYS", valueFrom = local.secret_arns.api_keys }]
      mountPoints      = [{ sourceVolume = "models", containerPath = "/models", readOnly = true }, { sourceVolume = "files", containerPath = "/files", readOnly = false }]
      linuxParameters  = { initProcessEnabled = true }
      stopTimeout      = 30
      logConfiguration = { logDriver = "awslogs", options = local.log_options.api }
      healthCheck = {
        command     = ["CMD", "node", "dist/tools/healthcheck.js", "http://127.0.0.1:8080/api/health"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }
    }

    worker = {
      name            = "worker"
      image           = local.image
      essential       = true
      command         = ["node", "dist/worker/main.js"]
      portMappings    = [{ containerPort = 9464, protocol = "tcp" }]
      environment     = local.environment.worker
      secrets         = [{ name = "REDIS_URL", valueFrom = local.secret_arns.redis_url }]
      mountPoints     = [{ sourceVolume = "models", containerPath = "/models", readOnly = false }]
      linuxParameters = { initProcessEnabled = true }
      # Fargate's maximum: SHUTDOWN_GRACE_MS (100 s) lets generations finish, then hands them back.
      stopTimeout      = 120
      logConfiguration = { logDriver = "awslogs", options = local.log_options.worker }
      healthCheck = {
        command     = ["CMD", "node", "dist/tools/healthcheck.js", "http://127.0.0.1:9464/health"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 120
      }
    }

    dashboard = {
      name             = "dashboard"
      image            = local.image
      essential        = true
      command          = ["node", "dist/dashboard/main.js"]
      portMappings     = [{ containerPort = 8081, protocol = "tcp" }]
      environment      = local.environment.dashboard
      secrets          = [{ name = "REDIS_URL", valueFrom = local.secret_arns.redis_url }, { name = "DASHBOARD_PASSWORD", valueFrom = local.secret_arns.dashboard_password }]
      linuxParameters  = { initProcessEnabled = true }
      stopTimeout      = 10
      logConfiguration = { logDriver = "awslogs", options = local.log_options.dashboard }
      healthCheck = {
        command     = ["CMD", "node", "dist/tools/healthcheck.js", "http://127.0.0.1:8081/health"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }
    }

    # Publishes the queue backlog as a JSON log line that a metric filter turns into the
    # CloudWatch metric worker autoscaling follows (metrics.tf).
    backlog_metric = {
      name             = "backlog-metric"
      image            = local.image
      essential        = true
      command          = ["node", "dist/tools/backlog-metric.js", "--interval-ms", "15000", "--alive-file", "/tmp/backlog-metric.alive"]
      environment      = local.environment.dashboard
      secrets          = [{ name = "REDIS_URL", valueFrom = local.secret_arns.redis_url }]
      linuxParameters  = { initProcessEnabled = true }
      stopTimeout      = 5
      logConfiguration = { logDriver = "awslogs", options = merge(local.log_options.dashboard, { awslogs-stream-prefix = "backlog-metric" }) }
      healthCheck = {
        command     = ["CMD", "node", "dist/tools/healthcheck.js", "--file", "/tmp/backlog-metric.alive", "--max-age-ms", "60000"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 60
      }
    }
  }
}

resource "aws_ecs_task_definition" "api" {
  family                   = "${local.prefix}-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.api.cpu
  memory                   = var.api.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.api.arn
  container_definitions    = jsonencode(concat([merge(local.containers.api, { mountPoints = concat(local.containers.api.mountPoints, local.models_file_mounts) }, local.models_file_depends)], local.models_file_containers))

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "models"

    efs_volume_configuration {
      file_system_id     = aws_efs_file_system.models.id
      transit_encryption = "ENABLED"

      authorization_config {
        access_point_id = aws_efs_access_point.models.id
        iam             = "ENABLED"
      }
    }
  }

  # FILES_DIR of every API task (local.containers.api mounts it at /files).
  volume {
    name = "files"

    efs_volume_configuration {
      file_system_id     = aws_efs_file_system.models.id
      transit_encryption = "ENABLED"

      authorization_config {
        access_point_id = aws_efs_access_point.files.id
        iam             = "ENABLED"
      }
    }
  }

  dynamic "volume" {
    for_each = local.multi_model ? ["config"] : []

    content {
      name = volume.value
    }
  }
}

# One task definition per worker group: the worker container with the group's environment.
resource "aws_ecs_task_definition" "worker" {
  for_each = var.worker_groups

  family                   = "${local.prefix}-${local.worker_service_names[each.key]}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.worker.arn
  container_definitions = jsonencode(concat([merge(local.containers.worker, {
    environment      = local.worker_environment[each.key]
    mountPoints      = concat(local.containers.worker.mountPoints, local.models_file_mounts)
    logConfiguration = { logDriver = "awslogs", options = merge(local.log_options.worker, { awslogs-stream-prefix = local.worker_service_names[each.key] }) }
  }, local.models_file_depends)], local.models_file_containers))

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "models"

    efs_volume_configuration {
      file_system_id     = aws_efs_file_system.models.id
      transit_encryption = "ENABLED"

      authorization_config {
        access_point_id = aws_efs_access_point.models.id
        iam             = "ENABLED"
      }
    }
  }

  dynamic "volume" {
    for_each = local.multi_model ? ["config"] : []

    content {
      name = volume.value
    }
  }

  lifecycle {
    precondition {
      condition     = alltrue([for id in each.value.models : contains(local.model_ids, id)])
      error_message = "worker group ${each.key} names models that var.models does not define (a group names models only when var.models is set)."
    }
  }
}

resource "aws_ecs_task_definition" "dashboard" {
  family                   = "${local.prefix}-dashboard"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  # Bull Board and one backlog publisher (a small Node process) per queue that workers serve (at
  # most 8: var.models).
  memory             = length(local.backlog_publishers) <= 3 ? 512 : 1024
  execution_role_arn = aws_iam_role.execution.arn
  task_role_arn      = aws_iam_role.dashboard.arn
  container_definitions = jsonencode(concat(
    [merge(local.containers.dashboard, { mountPoints = local.models_file_mounts }, local.models_file_depends)],
    [for container, queue in local.backlog_publishers : merge(local.containers.backlog_metric, {
      name             = container
      environment      = local.backlog_environment[container]
      logConfiguration = { logDriver = "awslogs", options = merge(local.log_options.dashboard, { awslogs-stream-prefix = container }) }
    })],
    local.models_file_containers,
  ))

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  dynamic "volume" {
    for_each = local.multi_model ? ["config"] : []

    content {
      name = volume.value
    }
  }
}

resource "aws_ecs_service" "api" {
  name                              = "api"
  cluster                           = aws_ecs_cluster.main.id
  task_definition                   = aws_ecs_task_definition.api.arn
  desired_count                     = var.api.desired_count
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.api.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = 8080
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [desired_count]
  }

  # API tasks mount EFS (models, files): without a mount target in their subnet they fail to start.
  depends_on = [aws_lb_listener.http, aws_efs_mount_target.models]
}

# One service per worker group, each scaled on its own models' backlog (autoscaling.tf).
resource "aws_ecs_service" "worker" {
  for_each = var.worker_groups

  name            = local.worker_service_names[each.key]
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.worker[each.key].arn
  desired_count   = each.value.min_count
  propagate_tags  = "SERVICE"

  # dev runs workers on Spot: an interruption is a SIGTERM two minutes ahead, which the worker's
  # drain (finish or hand back) is built for.
  capacity_provider_strategy {
    capacity_provider = local.is_prod ? "FARGATE" : "FARGATE_SPOT"
    weight            = 1
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_efs_mount_target.models, aws_ecs_cluster_capacity_providers.main]
}

resource "aws_ecs_service" "dashboard" {
  name                              = "dashboard"
  cluster                           = aws_ecs_cluster.main.id
  task_definition                   = aws_ecs_task_definition.dashboard.arn
  desired_count                     = 1
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.dashboard.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.dashboard.arn
    container_name   = "dashboard"
    container_port   = 8081
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [aws_lb_listener.http]
}
