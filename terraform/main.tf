data "aws_availability_zones" "available" {
  state = "available"
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  prefix     = "${var.name}-${var.environment}"
  is_prod    = var.environment == "prod"
  azs        = slice(data.aws_availability_zones.available.names, 0, 2)
  ssm_prefix = var.ssm_prefix != "" ? var.ssm_prefix : "/${var.name}/${var.environment}"
  image      = "${aws_ecr_repository.app.repository_url}:${var.image_tag}"

  # Namespace of the queue metrics published through the backlog metric filter (metrics.tf).
  metric_namespace = "LLMOrchestrator/${local.prefix}"

  # ElastiCache replicas of the primary: prod has one in the other AZ, with automatic failover.
  redis_replicas = local.is_prod ? 1 : 0
  # A job is acknowledged once this many of them hold it (WAIT): a failover then cannot lose it.
  redis_min_replicas_ack = coalesce(var.redis_min_replicas_ack, local.redis_replicas)

  # Settings every container of the application shares (docs/configuration.md).
  app_environment = merge(
    {
      NODE_ENV               = "production"
      HOST                   = "0.0.0.0"
      LOG_LEVEL              = "info"
      REDIS_PREFIX           = "llmo"
      REDIS_MIN_REPLICAS_ACK = tostring(local.redis_min_replicas_ack)
      MODELS_DIR             = "/models"
      USE_INT8               = "true"
      CHECK_PROMPT_TOKENS    = "true"
    },
    var.model != "" ? { MODEL = var.model } : {},
    local.multi_model ? { MODELS_FILE = local.models_file } : {},
    var.app_settings,
  )
}
