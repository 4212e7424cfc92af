# terraform apply -var-file=example.tfvars (copy it first: *.tfvars other than this one are ignored by git)
environment     = "dev"
aws_region      = "eu-west-1"
image_tag       = "0.1.0"
certificate_arn = ""

# A Q8_0 GGUF under /models on EFS, or a remote model URI downloaded once into EFS.
model = ""

# Several models, each on its own queue (MODELS_FILE). Leave empty for one model (`model` above).
models = [
  {
    id           = "chat"
    source       = "hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf"
    aliases      = ["gpt-4o-mini"]
    context_size = 4096
  },
  {
    id     = "embed"
    source = "hf:nomic-ai/nomic-embed-text-v1.5-GGUF/nomic-embed-text-v1.5.Q8_0.gguf"
    kind   = "embedding"
  },
]

# One ECS service per group (worker-chat, worker-embed), each autoscaled on its own models' backlog.
worker_groups = {
  chat = {
    models                  = ["chat"]
    cpu                     = 4096
    memory                  = 8192
    min_count               = 1
    max_count               = 4
    target_backlog_per_task = 4
  }
  embed = {
    models                  = ["embed"]
    cpu                     = 2048
    memory                  = 4096
    min_count               = 1
    max_count               = 2
    target_backlog_per_task = 16
  }
}
