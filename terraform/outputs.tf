output "alb_url" {
  description = "Base URL of the API (/api/v1/..., /v1/...) and Bull Board (/admin/queues)."
  value       = "${local.https ? "https" : "http"}://${aws_lb.main.dns_name}"
}

output "ecr_repository_urls" {
  description = "ECR repositories to push images to, by image (one image serves every role)."
  value       = { app = aws_ecr_repository.app.repository_url }
}

output "ecs_cluster_name" {
  description = "ECS cluster running the api, worker and dashboard services."
  value       = aws_ecs_cluster.main.name
}

output "redis_primary_endpoint" {
  description = "ElastiCache primary endpoint (TLS, AUTH); reachable only from the task security groups."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "models_file_system_id" {
  description = "EFS file system holding the models (access point /models) and the API's uploaded files and batch results (access point /files)."
  value       = aws_efs_file_system.models.id
}

output "efs_access_point_ids" {
  description = "EFS access points of that file system: models (workers, API read-only) and files (FILES_DIR of the API tasks)."
  value       = { models = aws_efs_access_point.models.id, files = aws_efs_access_point.files.id }
}

output "log_groups" {
  description = "CloudWatch log group of each service."
  value       = { for service, group in aws_cloudwatch_log_group.service : service => group.name }
}

output "backlog_metric" {
  description = "CloudWatch namespace and metric that worker autoscaling follows (QueueBacklog, dimension Queue), and the queues of each worker group's ECS service."
  value = {
    namespace = local.metric_namespace
    metric    = "QueueBacklog"
    dimension = "Queue"
    queues    = { for name, queues in local.worker_group_queues : local.worker_service_names[name] => queues }
  }
}
