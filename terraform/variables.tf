variable "environment" {
  description = "Deployment environment: dev runs one NAT gateway, one Redis node and small tasks; prod runs one NAT per AZ and a Multi-AZ Redis."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be \"dev\" or \"prod\"."
  }
}

variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region name such as eu-west-1."
  }
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "llmo"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; split into two public and two private subnets."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be a valid IPv4 CIDR block of /20 or larger."
  }
}

variable "allowed_ingress_cidrs" {
  description = "Client CIDR blocks allowed to reach the load balancer on ports 80 and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.allowed_ingress_cidrs) > 0 && alltrue([for cidr in var.allowed_ingress_cidrs : can(cidrnetmask(cidr))])
    error_message = "allowed_ingress_cidrs must list at least one valid IPv4 CIDR block."
  }
}

variable "certificate_arn" {
  description = "ACM certificate ARN for the HTTPS listener. Empty: HTTP only (not for production traffic)."
  type        = string
  default     = ""

  validation {
    condition     = var.certificate_arn == "" || can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be empty or an ACM certificate ARN."
  }
}

variable "image_tag" {
  description = "Tag of the application image in the ECR repository (pushed by CI or by hand, see docs/deploy.md)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a valid Docker tag other than \"latest\": deployments name an exact version."
  }
}

variable "model" {
  description = "MODEL setting of the application: a .gguf path under /models (on EFS) or a remote model URI downloaded once into EFS. Empty: the project's default model."
  type        = string
  default     = ""

  validation {
    condition     = length(var.model) <= 512
    error_message = "model must be at most 512 characters."
  }
}

variable "app_settings" {
  description = "Further application settings (docs/configuration.md) passed to every container, e.g. { CONTEXT_SIZE = \"4096\" }. Secrets do not belong here."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.app_settings) : can(regex("^[A-Z][A-Z0-9_]*$", key)) && !contains(["REDIS_URL", "API_KEYS", "DASHBOARD_PASSWORD"], key)])
    error_message = "app_settings keys must be upper-case setting names; REDIS_URL, API_KEYS and DASHBOARD_PASSWORD come from SSM Parameter Store."
  }
}

variable "api" {
  description = "API service size: Fargate CPU units, memory (MiB), and task count bounds (scaled on CPU)."
  type = object({
    cpu           = number
    memory        = number
    desired_count = number
    min_count     = number
    max_count     = number
  })
  default = {
    cpu           = 512
    memory        = 1024
    desired_count = 2
    min_count     = 2
    max_count     = 6
  }

  validation {
    condition     = var.api.min_count >= 1 && var.api.min_count <= var.api.desired_count && var.api.desired_count <= var.api.max_count
    error_message = "api counts must satisfy 1 <= min_count <= desired_count <= max_count."
  }
}

variable "models" {
  description = "Models served by one deployment (MODELS_FILE, docs/models.md): id, source and the optional per-model settings. Each model gets its own queue, <QUEUE_NAME>-<id>. Empty: one model, var.model, on queue QUEUE_NAME."
  type = list(object({
    id                   = string
    source               = string
    aliases              = optional(list(string))
    kind                 = optional(string)
    context_size         = optional(number)
    pool_threads         = optional(number)
    contexts_per_thread  = optional(number)
    sequences_per_thread = optional(number)
    llama_threads        = optional(number)
    prefetch_per_thread  = optional(number)
  }))
  default = []

  validation {
    condition     = alltrue([for m in var.models : can(regex("^[A-Za-z0-9_.-]+$", m.id)) && length(m.id) <= 64]) && length(distinct([for m in var.models : m.id])) == length(var.models)
    error_message = "models ids must be unique, of at most 64 characters [A-Za-z0-9_.-]."
  }

  validation {
    condition     = length(var.models) <= 8
    error_message = "models holds at most 8 models: the dashboard task runs one backlog publisher per model beside Bull Board and the models file writer, and an ECS task has at most 10 containers."
  }

  validation {
    condition     = alltrue([for m in var.models : m.kind == null || contains(["generate", "embedding"], coalesce(m.kind, "generate"))]) && alltrue([for m in var.models : length(m.source) > 0 && length(m.source) <= 512])
    error_message = "models kind must be generate or embedding, and every source a path or URI of 1-512 characters."
  }
}

variable "worker_groups" {
  description = "Worker services, one per group of models, each autoscaled on the backlog of its own models' queues: models (ids of var.models; empty: every model, or the one model of var.model), Fargate CPU units, memory (MiB: the group's models + contexts + ~300 MB), task count bounds, and the backlog per task that autoscaling aims at. The group named default is the ECS service worker; another group <g> is the service worker-<g>."
  type = map(object({
    models                  = optional(list(string), [])
    cpu                     = number
    memory                  = number
    min_count               = number
    max_count               = number
    target_backlog_per_task = number
  }))
  default = {
    default = {
      models                  = []
      cpu                     = 4096
      memory                  = 8192
      min_count               = 1
      max_count               = 8
      target_backlog_per_task = 4
    }
  }

  validation {
    condition     = length(var.worker_groups) >= 1 && alltrue([for name in keys(var.worker_groups) : can(regex("^[a-z0-9][a-z0-9-]{0,23}$", name))])
    error_message = "worker_groups needs at least one group, named with 1-24 lower-case letters, digits and dashes (the name goes into the ECS service name worker-<name>)."
  }

  validation {
    condition     = alltrue([for g in var.worker_groups : contains([1024, 2048, 4096, 8192, 16384], g.cpu) && g.memory >= 2048 && g.memory <= 122880])
    error_message = "every worker group's cpu must be a Fargate size of 1024-16384 units and its memory between 2048 and 122880 MiB."
  }

  validation {
    condition     = alltrue([for g in var.worker_groups : g.min_count >= 1 && g.min_count <= g.max_count && g.target_backlog_per_task > 0])
    error_message = "every worker group must satisfy 1 <= min_count <= max_count, with a positive target_backlog_per_task."
  }

  validation {
    condition     = alltrue([for g in var.worker_groups : length(distinct(g.models)) == length(g.models)])
    error_message = "a worker group lists each model once."
  }
}

variable "redis_node_type" {
  description = "ElastiCache node type. BullMQ keeps queued jobs, results and token streams in Redis: size it for the retention settings."
  type        = string
  default     = "cache.t4g.small"

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.redis_node_type))
    error_message = "redis_node_type must be an ElastiCache node type such as cache.t4g.small."
  }
}

variable "redis_min_replicas_ack" {
  description = "REDIS_MIN_REPLICAS_ACK of every container: Redis replicas that must confirm a job before the API acknowledges it, so that an ElastiCache failover cannot lose it (docs/reliability.md). Default: 1 in prod, whose replication group has a replica with automatic failover; 0 elsewhere, where there is no replica."
  type        = number
  default     = null

  validation {
    condition     = var.redis_min_replicas_ack == null || try(var.redis_min_replicas_ack >= 0 && var.redis_min_replicas_ack <= 5 && floor(var.redis_min_replicas_ack) == var.redis_min_replicas_ack, false)
    error_message = "redis_min_replicas_ack must be null (chosen by environment) or a whole number from 0 to 5."
  }
}

variable "ssm_prefix" {
  description = "SSM Parameter Store path holding the secrets the operator creates before the first apply: <prefix>/redis-auth-token, <prefix>/api-keys, <prefix>/dashboard-password (SecureString). Default /<name>/<environment>."
  type        = string
  default     = ""

  validation {
    condition     = var.ssm_prefix == "" || can(regex("^/[A-Za-z0-9_./-]+[^/]$", var.ssm_prefix))
    error_message = "ssm_prefix must be empty or an absolute parameter path without a trailing slash."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the logs of every service."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}
