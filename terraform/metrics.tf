# How the backlog reaches CloudWatch: the backlog-metric container (tools/backlog-metric.ts, in
# the dashboard task) prints one JSON line per interval to stdout, e.g.
#   {"metric":"llmo_queue_backlog","queue":"generate","backlog":12,"workers":3,"backlogPerWorker":4,...}
# The awslogs driver ships it to the dashboard log group, where these filters turn each line
# into data points. No AWS SDK or credentials in the application: only its logs. There is one
# publisher per queue (one per model with var.models, ecs.tf): the metrics below without
# dimensions mix them, those with the dimension Queue keep each queue apart for the autoscaling
# of the worker group that serves it (autoscaling.tf).
locals {
  backlog_filter_pattern = "{ $.metric = \"llmo_queue_backlog\" }"
  backlog_metrics = {
    QueueBacklog     = "$.backlog"
    BacklogPerWorker = "$.backlogPerWorker"
    LiveWorkers      = "$.workers"
    ActiveJobs       = "$.active"
  }
}

resource "aws_cloudwatch_log_metric_filter" "backlog" {
  for_each = local.backlog_metrics

  name           = "${local.prefix}-${each.key}"
  log_group_name = aws_cloudwatch_log_group.service["dashboard"].name
  pattern        = local.backlog_filter_pattern

  metric_transformation {
    namespace = local.metric_namespace
    name      = each.key
    value     = each.value
    unit      = "Count"
  }
}

resource "aws_cloudwatch_log_metric_filter" "backlog_by_queue" {
  for_each = local.backlog_metrics

  name           = "${local.prefix}-${each.key}-by-queue"
  log_group_name = aws_cloudwatch_log_group.service["dashboard"].name
  pattern        = local.backlog_filter_pattern

  metric_transformation {
    namespace  = local.metric_namespace
    name       = each.key
    value      = each.value
    unit       = "Count"
    dimensions = { Queue = "$.queue" }
  }
}

# The publisher is the only source of the scaling metric: silence means autoscaling is blind.
resource "aws_cloudwatch_metric_alarm" "backlog_metric_missing" {
  alarm_name          = "${local.prefix}-backlog-metric-missing"
  alarm_description   = "No queue backlog data for 5 minutes: worker autoscaling cannot act. Check the backlog-metric container of the dashboard service."
  namespace           = local.metric_namespace
  metric_name         = "QueueBacklog"
  statistic           = "SampleCount"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
}
