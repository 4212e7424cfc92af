# Several models and worker groups (docs/deploy.md, "Worker groups"). Computed from the variables
# alone, so that the services, scaling policies and backlog publishers follow one definition.
locals {
  queue_name  = lookup(var.app_settings, "QUEUE_NAME", "generate")
  multi_model = length(var.models) > 0
  model_ids   = [for m in var.models : m.id]

  # MODELS_FILE: var.models as YAML, written by the models-file container of each task into a
  # task volume that the application containers mount read-only. Unset optional fields are left
  # out, so the application applies its own defaults.
  models_file = "/etc/llmo/models.yml"
  models_yaml = yamlencode({ models = [for m in var.models : { for key, value in m : key => value if value != null }] })

  # Models each group serves: its list, or every model when it names none.
  worker_group_models = { for name, group in var.worker_groups : name => length(group.models) > 0 ? group.models : local.model_ids }
  # ECS service of each group: the default group keeps the single-model name `worker`.
  worker_service_names = { for name, group in var.worker_groups : name => name == "default" ? "worker" : "worker-${name}" }
  # Queues whose backlog each group's autoscaling follows: one per model, or QUEUE_NAME alone.
  worker_group_queues = { for name, models in local.worker_group_models : name => local.multi_model ? [for id in models : "${local.queue_name}-${id}"] : [local.queue_name] }

  # One backlog publisher per queue that some group serves, keyed by its container name.
  backlog_publishers = local.multi_model ? { for id in distinct(flatten(values(local.worker_group_models))) : "backlog-metric-${id}" => "${local.queue_name}-${id}" } : { "backlog-metric" = local.queue_name }
}

# The single worker service of earlier versions is the group `default`: no replacement on upgrade.
moved {
  from = aws_ecs_service.worker
  to   = aws_ecs_service.worker["default"]
}

moved {
  from = aws_ecs_task_definition.worker
  to   = aws_ecs_task_definition.worker["default"]
}

moved {
  from = aws_appautoscaling_target.worker
  to   = aws_appautoscaling_target.worker["default"]
}

moved {
  from = aws_appautoscaling_policy.worker_backlog
  to   = aws_appautoscaling_policy.worker_backlog["default"]
}
