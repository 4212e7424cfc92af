# BullMQ's Redis. noeviction: an evicted key is a lost job. ElastiCache offers no AOF; durability
# comes from a replica in another AZ with automatic failover (prod) and daily snapshots.

data "aws_ssm_parameter" "redis_auth_token" {
  name = "${local.ssm_prefix}/redis-auth-token"
}

resource "aws_elasticache_subnet_group" "redis" {
  name        = "${local.prefix}-redis"
  description = "Private subnets only"
  subnet_ids  = aws_subnet.private[*].id
}

resource "aws_elasticache_parameter_group" "redis" {
  name        = "${local.prefix}-redis7"
  family      = "redis7"
  description = "BullMQ: never evict keys"

  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id = "${local.prefix}-redis"
  description          = "llm-orchestrator queue, results, cache and token streams"
  engine               = "redis"
  engine_version       = "7.1"
  node_type            = var.redis_node_type
  port                 = 6379
  parameter_group_name = aws_elasticache_parameter_group.redis.name
  subnet_group_name    = aws_elasticache_subnet_group.redis.name
  security_group_ids   = [aws_security_group.redis.id]

  num_cache_clusters         = 1 + local.redis_replicas
  automatic_failover_enabled = local.is_prod
  multi_az_enabled           = local.is_prod

  transit_encryption_enabled = true
  at_rest_encryption_enabled = true
  auth_token                 = data.aws_ssm_parameter.redis_auth_token.value
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit = local.is_prod ? 7 : 1
  snapshot_window          = "03:00-04:00"
  maintenance_window       = "sun:04:30-sun:05:30"
  apply_immediately        = !local.is_prod

  lifecycle {
    precondition {
      # The token goes into REDIS_URL: letters and digits keep it valid in a URL.
      condition     = can(regex("^[A-Za-z0-9]{16,128}$", data.aws_ssm_parameter.redis_auth_token.value))
      error_message = "The SSM parameter ${local.ssm_prefix}/redis-auth-token must hold 16-128 letters and digits."
    }
    precondition {
      # More than there are would refuse every submission with 503 redis_replication_timeout.
      condition     = local.redis_min_replicas_ack <= local.redis_replicas
      error_message = "redis_min_replicas_ack (${local.redis_min_replicas_ack}) exceeds the replicas of this environment (${local.redis_replicas})."
    }
  }
}

# The application reads one REDIS_URL; TLS (rediss://) because transit encryption is on.
resource "aws_ssm_parameter" "redis_url" {
  name        = "${local.ssm_prefix}/redis-url"
  description = "REDIS_URL of the application (derived from redis-auth-token by Terraform)"
  type        = "SecureString"
  value       = "rediss://:${data.aws_ssm_parameter.redis_auth_token.value}@${aws_elasticache_replication_group.redis.primary_endpoint_address}:6379"
}
