# Security groups. Every rule is its own resource; Redis (6379) and NFS (2049) accept only
# the task security groups, never a CIDR block.

resource "aws_security_group" "alb" {
  name        = "${local.prefix}-alb"
  description = "Load balancer: HTTP/HTTPS from the allowed client networks"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.prefix}-alb" }
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  for_each = toset(var.allowed_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTP from clients"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = toset(var.allowed_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from clients"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_api" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the API tasks"
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
  referenced_security_group_id = aws_security_group.api.id
}

resource "aws_vpc_security_group_egress_rule" "alb_to_dashboard" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the dashboard tasks"
  ip_protocol                  = "tcp"
  from_port                    = 8081
  to_port                      = 8081
  referenced_security_group_id = aws_security_group.dashboard.id
}

resource "aws_security_group" "api" {
  name        = "${local.prefix}-api"
  description = "API tasks"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.prefix}-api" }
}

resource "aws_vpc_security_group_ingress_rule" "api_from_alb" {
  security_group_id            = aws_security_group.api.id
  description                  = "HTTP from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_security_group" "worker" {
  name        = "${local.prefix}-worker"
  description = "Worker tasks: no inbound traffic, they pull jobs from Redis"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.prefix}-worker" }
}

resource "aws_security_group" "dashboard" {
  name        = "${local.prefix}-dashboard"
  description = "Bull Board tasks and the queue backlog publisher"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.prefix}-dashboard" }
}

resource "aws_vpc_security_group_ingress_rule" "dashboard_from_alb" {
  security_group_id            = aws_security_group.dashboard.id
  description                  = "HTTP from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 8081
  to_port                      = 8081
  referenced_security_group_id = aws_security_group.alb.id
}

# Tasks reach Redis, EFS, ECR, SSM and CloudWatch (through the NAT gateways) and download models.
resource "aws_vpc_security_group_egress_rule" "tasks_out" {
  for_each = {
    api       = aws_security_group.api.id
    worker    = aws_security_group.worker.id
    dashboard = aws_security_group.dashboard.id
  }

  security_group_id = each.value
  description       = "All outbound traffic"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "redis" {
  name        = "${local.prefix}-redis"
  description = "ElastiCache Redis: only from the application tasks"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.prefix}-redis" }
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_tasks" {
  for_each = {
    api       = aws_security_group.api.id
    worker    = aws_security_group.worker.id
    dashboard = aws_security_group.dashboard.id
  }

  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from the ${each.key} tasks"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = each.value
}

resource "aws_security_group" "efs" {
  name        = "${local.prefix}-efs"
  description = "EFS model store: NFS only from the tasks that read models"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.prefix}-efs" }
}

# Workers load (and download) models; the API reads a model's vocabulary to count prompt tokens
# and reads and writes the shared files (FILES_DIR, access point "files").
resource "aws_vpc_security_group_ingress_rule" "efs_from_tasks" {
  for_each = {
    worker = aws_security_group.worker.id
    api    = aws_security_group.api.id
  }

  security_group_id            = aws_security_group.efs.id
  description                  = "NFS from the ${each.key} tasks"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = each.value
}
