# Each worker group follows its own queues: target tracking keeps the group's backlog per running
# task near its target. The backlog of each queue comes from its publisher in the dashboard task
# through a metric filter (QueueBacklog with dimension Queue, metrics.tf); the running tasks from
# Container Insights. With no task running, the backlog counts against one task, so a group that
# scaled to its minimum still sees demand.
resource "aws_appautoscaling_target" "worker" {
  for_each = var.worker_groups

  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.worker[each.key].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = each.value.min_count
  max_capacity       = each.value.max_count
}

resource "aws_appautoscaling_policy" "worker_backlog" {
  for_each = var.worker_groups

  name               = "${local.prefix}-${local.worker_service_names[each.key]}-backlog"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.worker[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.worker[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = each.value.target_backlog_per_task
    # A new worker loads its model before it takes jobs: give it time before adding another,
    # and scale in slowly so a burst does not cost a model load twice.
    scale_out_cooldown = 120
    scale_in_cooldown  = 600

    customized_metric_specification {
      # q0, q1, ...: the backlog of each queue of the group.
      dynamic "metrics" {
        for_each = local.worker_group_queues[each.key]

        content {
          id          = "q${metrics.key}"
          return_data = false

          metric_stat {
            stat = "Average"

            metric {
              namespace   = local.metric_namespace
              metric_name = "QueueBacklog"

              dimensions {
                name  = "Queue"
                value = metrics.value
              }
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"

            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.main.name
            }

            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker[each.key].name
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_task"
        label       = "Backlog per ${local.worker_service_names[each.key]} task"
        expression  = "IF(tasks > 1, (${local.worker_group_backlog[each.key]}) / tasks, ${local.worker_group_backlog[each.key]})"
        return_data = true
      }
    }
  }
}

locals {
  # The metric math sum of a group's queue backlogs (a queue without data counts as empty).
  worker_group_backlog = { for name, queues in local.worker_group_queues : name => join(" + ", [for i, queue in queues : "FILL(q${i}, 0)"]) }
}

resource "aws_appautoscaling_target" "api" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.api.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.api.min_count
  max_capacity       = var.api.max_count
}

resource "aws_appautoscaling_policy" "api_cpu" {
  name               = "${local.prefix}-api-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  resource_id        = aws_appautoscaling_target.api.resource_id
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = 60
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
