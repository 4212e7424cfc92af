# Model store shared by every task: a model is downloaded (and quantized) once, then each
# new worker maps it from here instead of fetching it again. The same file system holds the
# uploaded files and batch results that every API task shares (access point "files").
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

# Uploaded files and batch results (FILES_DIR): every API task reads and writes them, since any
# task may coordinate a batch or serve a file. Its own root directory, so the API never sees the
# models through it, owned by the image's user (node, uid 1000) and closed to others.
resource "aws_efs_access_point" "files" {
  file_system_id = aws_efs_file_system.models.id

  posix_user {
    uid = 1000
    gid = 1000
  }

  root_directory {
    path = "/files"

    creation_info {
      owner_uid   = 1000
      owner_gid   = 1000
      permissions = "0750"
    }
  }

  tags = { Name = "${local.prefix}-files" }
}
