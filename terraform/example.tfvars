# terraform apply -var-file=example.tfvars (copy it first: *.tfvars other than this one are ignored by git)
environment     = "dev"
aws_region      = "eu-west-1"
image_tag       = "0.1.0"
certificate_arn = ""

# A Q8_0 GGUF under /models on EFS, or a remote model URI downloaded once into EFS.
model = ""

worker = {
  cpu                     = 4096
  memory                  = 8192
  min_count               = 1
  max_count               = 4
  target_backlog_per_task = 4
}
