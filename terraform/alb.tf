# The edge: /api and /v1 to the API tasks, /admin to Bull Board, anything else 404.
resource "aws_lb" "main" {
  name               = local.prefix
  load_balancer_type = "application"
  internal           = false
  subnets            = aws_subnet.public[*].id
  security_groups    = [aws_security_group.alb.id]
  # Token streams (SSE) and POST /api/v1/generate hold a connection open for minutes.
  idle_timeout               = 300
  drop_invalid_header_fields = true
  enable_deletion_protection = local.is_prod
}

resource "aws_lb_target_group" "api" {
  name                 = "${local.prefix}-api"
  port                 = 8080
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.main.id
  deregistration_delay = 30

  # Liveness, not readiness: an API task accepts jobs even while no worker is up.
  health_check {
    path                = "/api/health"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_target_group" "dashboard" {
  name                 = "${local.prefix}-dashboard"
  port                 = 8081
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.main.id
  deregistration_delay = 10

  health_check {
    path                = "/health"
    matcher             = "200"
    interval            = 30
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

locals {
  https = var.certificate_arn != ""
  routing = {
    api       = { priority = 10, paths = ["/api", "/api/*", "/v1/*"], target = aws_lb_target_group.api.arn }
    dashboard = { priority = 20, paths = ["/admin", "/admin/*"], target = aws_lb_target_group.dashboard.arn }
  }
  not_found = jsonencode({ error = { code = "route_not_found", message = "no such route" } })
}

# Without a certificate the HTTP listener serves; with one, it redirects to HTTPS.
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.main.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = local.https ? "redirect" : "fixed-response"

    dynamic "redirect" {
      for_each = local.https ? [1] : []

      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }

    dynamic "fixed_response" {
      for_each = local.https ? [] : [1]

      content {
        content_type = "application/json"
        message_body = local.not_found
        status_code  = "404"
      }
    }
  }
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.main.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/json"
      message_body = local.not_found
      status_code  = "404"
    }
  }
}

resource "aws_lb_listener_rule" "route" {
  for_each = local.routing

  listener_arn = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn
  priority     = each.value.priority

  action {
    type             = "forward"
    target_group_arn = each.value.target
  }

  condition {
    path_pattern {
      values = each.value.paths
    }
  }
}
