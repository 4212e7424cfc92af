# Model store shared by every task: a model is downloaded (and quantized) once, then each
# new worker maps it from here instead of fetching it again.
resource "aws_efs_file_system" "models" {
  creation_token   = "${local.prefix}-models"
  encrypted        = true
  performance_mode = "generalPurpose"
  # Elastic throughput: a scale-out reads a multi-GB model at full speed without burst credits.
  throughput_mode = "elastic"

  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }

  tags = { Name = "${local.prefix}-models" }
}

resource "aws_efs_mount_target" "models" {
  count = length(local.azs)

  file_system_id  = aws_efs_file_system.models.id
  subnet_id       = aws_subnet.private[count.index].id
  security_groups = [aws_security_group.efs.id]
}

# The image's non-root user (node, uid 1000) owns /models.
resource "aws_efs_access_point" "models" {
  file_system_id = aws_efs_file_system.models.id

  posix_user {
    uid = 1000
    gid = 1000
  }

  root_directory {
    path = "/models"

    creation_info {
      owner_uid   = 1000
      owner_gid   = 1000
      permissions = "0755"
    }
  }

  tags = { Name = "${local.prefix}-models" }
}
