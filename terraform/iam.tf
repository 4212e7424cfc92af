data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Execution role: what ECS itself needs to start a task (pull the image, write logs, read secrets).
resource "aws_iam_role" "execution" {
  name               = "${local.prefix}-ecs-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "read_secrets" {
  statement {
    actions   = ["ssm:GetParameters"]
    resources = values(local.secret_arns)
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "read-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.read_secrets.json
}

# Task roles: what the application may do. Workers read and write the model store; the API reads
# it, and reads and writes the shared files (uploads and batch results).
resource "aws_iam_role" "worker" {
  name               = "${local.prefix}-worker"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role" "api" {
  name               = "${local.prefix}-api"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role" "dashboard" {
  name               = "${local.prefix}-dashboard"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "models" {
  for_each = {
    worker = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    api    = ["elasticfilesystem:ClientMount"]
  }

  statement {
    actions   = each.value
    resources = [aws_efs_file_system.models.arn]

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.models.arn]
    }
  }
}

resource "aws_iam_role_policy" "worker_models" {
  name   = "models-read-write"
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.models["worker"].json
}

resource "aws_iam_role_policy" "api_models" {
  name   = "models-read"
  role   = aws_iam_role.api.id
  policy = data.aws_iam_policy_document.models["api"].json
}

data "aws_iam_policy_document" "api_files" {
  statement {
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.models.arn]

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.files.arn]
    }
  }
}

resource "aws_iam_role_policy" "api_files" {
  name   = "files-read-write"
  role   = aws_iam_role.api.id
  policy = data.aws_iam_policy_document.api_files.json
}
