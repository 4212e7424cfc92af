#!/usr/bin/env bash
# Operator entry point for the compose stack. Run from anywhere; see docs/deploy.md.
set -euo pipefail

COMPOSE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT_ROOT="$(dirname "$COMPOSE_DIR")"
ENV_FILE="$COMPOSE_DIR/.env"
ENV_EXAMPLE="$COMPOSE_DIR/.env.example"
readonly COMPOSE_DIR PROJECT_ROOT ENV_FILE ENV_EXAMPLE

usage() {
  cat <<EOF
Usage: $(basename "$0") <command> [args]

Commands:
  init           create compose/.env from .env.example with fresh random secrets
  build          build the application image (APP_IMAGE:APP_VERSION from .env)
  run            start the whole stack and wait until the API is ready
  test           smoke test of the running stack: health, readiness, one generation
  stop           stop and remove the containers (volumes, models and Redis data are kept)
  logs [service] follow the logs of every service, or of one (api, worker, redis, ...)
  ps             list the containers and their health
  scale N        run N worker containers (the plain \`worker\` service)
  scale G=N ...  run N containers of worker group G (service worker-G, profile \`models\`),
                 e.g. scale chat=3 embed=1

Settings: compose/.env (see .env.example and docs/deploy.md).
EOF
}

die() {
  echo "error: $*" >&2
  exit 1
}

# The value of KEY in compose/.env (quotes removed), or the second argument when unset.
env_value() {
  local key="$1" default="${2:-}" line value
  line="$(grep -E "^${key}=" "$ENV_FILE" 2>/dev/null | tail -n 1 || true)"
  value="${line#*=}"
  value="${value%\"}"; value="${value#\"}"
  value="${value%\'}"; value="${value#\'}"
  if [[ -z "$line" || -z "$value" ]]; then value="$default"; fi
  printf '%s' "$value"
}

require_docker() {
  if ! command -v docker >/dev/null 2>&1; then
    die "Docker is not installed (no 'docker' command in PATH).
Install Docker Engine and its compose plugin (https://docs.docker.com/engine/install/),
or deploy to a server with the Ansible playbook in ansible/ (docs/deploy.md)."
  fi
  if ! docker info >/dev/null 2>&1; then
    die "the Docker daemon does not answer ('docker info' failed).
Start it (sudo systemctl start docker) or add your user to the docker group."
  fi
}

# `docker compose` (v2 plugin) when present, else the standalone docker-compose.
COMPOSE=()
find_compose() {
  if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
  else
    die "neither 'docker compose' nor 'docker-compose' is installed (install the docker-compose-plugin package)."
  fi
  COMPOSE+=(--project-directory "$COMPOSE_DIR" --env-file "$ENV_FILE" -f "$COMPOSE_DIR/docker-compose.yml")
}

compose() {
  "${COMPOSE[@]}" "$@"
}

require_env() {
  [[ -f "$ENV_FILE" ]] || die "compose/.env is missing. Create it with: $0 init (then review it)."
  if grep -Eq '^[A-Z_]+=.*change[.-]me' "$ENV_FILE"; then
    die "compose/.env still holds placeholder secrets ($(grep -Eo '^[A-Z_]+=.*change[.-]me' "$ENV_FILE" | cut -d= -f1 | paste -sd, -)).
Set real values, or start again with: rm compose/.env && $0 init"
  fi
}

random_secret() {
  od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
}

cmd_init() {
  [[ -f "$ENV_FILE" ]] && die "compose/.env already exists; edit it, or remove it first."
  local redis api_key dashboard grafana traefik_password traefik_users=""
  redis="$(random_secret)"
  api_key="$(random_secret)"
  dashboard="$(random_secret)"
  grafana="$(random_secret)"
  traefik_password="$(random_secret)"
  if command -v htpasswd >/dev/null 2>&1; then
    traefik_users="$(htpasswd -nbB admin "$traefik_password")"
  elif command -v openssl >/dev/null 2>&1; then
    traefik_users="admin:$(openssl passwd -apr1 "$traefik_password")"
  fi
  umask 077
  sed -e "s/^REDIS_PASSWORD=.*/REDIS_PASSWORD=$redis/" \
    -e "s/^API_KEYS=.*/API_KEYS=$api_key/" \
    -e "s/^DASHBOARD_PASSWORD=.*/DASHBOARD_PASSWORD=$dashboard/" \
    -e "s/^GRAFANA_ADMIN_PASSWORD=.*/GRAFANA_ADMIN_PASSWORD=$grafana/" \
    "$ENV_EXAMPLE" >"$ENV_FILE"
  if [[ -n "$traefik_users" ]]; then
    # '|' as delimiter: htpasswd hashes contain '/'; '&' and '\' never occur in them.
    sed -i "s|^TRAEFIK_DASHBOARD_USERS=.*|TRAEFIK_DASHBOARD_USERS='$traefik_users'|" "$ENV_FILE"
    echo "Traefik dashboard: user admin, password $traefik_password (only shown now)."
  else
    echo "Neither htpasswd nor openssl found: set TRAEFIK_DASHBOARD_USERS in compose/.env by hand." >&2
  fi
  echo "Wrote compose/.env (mode 600)."
  echo "API key: $api_key"
  echo "Bull Board: $(env_value DASHBOARD_USER admin) / $dashboard; Grafana: admin / $grafana"
}

cmd_build() {
  require_docker
  local image
  image="$(env_value APP_IMAGE llm-orchestrator):$(env_value APP_VERSION 0.1.0)"
  echo "Building $image"
  DOCKER_BUILDKIT=1 docker build -t "$image" -f "$PROJECT_ROOT/Dockerfile" "$PROJECT_ROOT"
}

api_base() {
  printf 'http://127.0.0.1:%s' "$(env_value API_PORT 80)"
}

# Polls a URL until it answers 2xx, for at most $2 seconds.
wait_for() {
  local url="$1" seconds="$2" waited=0
  until curl -fsS -o /dev/null --max-time 5 "$url"; do
    if ((waited >= seconds)); then
      return 1
    fi
    sleep 3
    waited=$((waited + 3))
  done
}

cmd_run() {
  require_docker
  require_env
  find_compose
  compose up -d --remove-orphans
  echo "Waiting for $(api_base)/api/ready (the first start may download the model)..."
  if ! wait_for "$(api_base)/api/ready" "${READY_TIMEOUT_SECONDS:-900}"; then
    compose ps
    die "the API did not become ready. Look at: $0 logs worker (model download or memory) and $0 logs api."
  fi
  echo "Ready: API $(api_base)/api/v1/generate, Bull Board $(api_base)/admin/queues, Grafana http://127.0.0.1:$(env_value GRAFANA_PORT 3000)"
}

cmd_test() {
  require_env
  local base key auth=() body
  base="$(api_base)"
  key="$(env_value SMOKE_API_KEY "$(env_value API_KEYS | cut -d, -f1)")"
  if [[ -n "$key" ]]; then
    auth=(-H "Authorization: Bearer $key")
  fi
  curl -fsS --max-time 5 "$base/api/health" >/dev/null || die "$base/api/health does not answer: is the stack running ($0 ps)?"
  echo "ok   GET /api/health"
  curl -fsS --max-time 5 "$base/api/ready" >/dev/null || die "$base/api/ready is not ready: $0 logs worker"
  echo "ok   GET /api/ready"
  body="$(curl -fsS --max-time 130 "${auth[@]}" -H 'content-type: application/json' \
    -d '{"prompt":"Once upon a time","max_tokens":16,"temperature":0,"timeout_ms":120000}' \
    "$base/api/v1/generate")" || die "POST /api/v1/generate failed"
  grep -Eq '"status": *"completed"' <<<"$body" || die "generation did not complete: $body"
  echo "ok   POST /api/v1/generate"
}

cmd_stop() {
  require_docker
  require_env
  find_compose
  compose down
}

cmd_logs() {
  require_docker
  require_env
  find_compose
  compose logs -f --tail=200 "$@"
}

cmd_ps() {
  require_docker
  require_env
  find_compose
  compose ps
}

# Worker groups: the services named worker-<group> in docker-compose.yml.
worker_groups() {
  grep -Eo '^  worker-[a-z0-9][a-z0-9_-]*:' "$COMPOSE_DIR/docker-compose.yml" | sed -e 's/^  worker-//' -e 's/:$//'
}

cmd_scale() {
  [[ $# -gt 0 ]] || die "scale needs a number of workers, e.g.: $0 scale 4, or group=count pairs, e.g.: $0 scale chat=3 embed=1"
  if [[ $# -eq 1 && "$1" =~ ^[0-9]+$ ]]; then
    require_docker
    require_env
    find_compose
    compose up -d --no-recreate --scale "worker=$1" worker
    compose ps worker
    return
  fi
  local groups pair group count seen=" " scales=() services=()
  groups="$(worker_groups | paste -sd' ' -)"
  for pair in "$@"; do
    if [[ "$pair" =~ ^[0-9]+$ ]]; then
      die "scale takes either one number (plain workers) or group=count pairs, not both: $*"
    fi
    [[ "$pair" =~ ^([A-Za-z0-9_.-]+)=(.*)$ ]] || die "scale needs a number of workers, or group=count pairs such as chat=3; got '$pair'"
    group="${BASH_REMATCH[1]}"
    count="${BASH_REMATCH[2]}"
    [[ "$count" =~ ^[0-9]+$ ]] || die "the count of worker group '$group' must be a whole number; got '$count'"
    [[ " $groups " == *" $group "* ]] || die "no worker group '$group' in docker-compose.yml (worker groups: ${groups:-none}; add a worker-$group service to define one)"
    [[ "$seen" != *" $group "* ]] || die "worker group '$group' is given twice"
    seen+="$group "
    scales+=(--scale "worker-$group=$count")
    services+=("worker-$group")
  done
  require_docker
  require_env
  [[ -n "$(env_value MODELS_FILE)" ]] || die "worker groups serve the models of MODELS_FILE, which compose/.env leaves empty.
Set MODELS_FILE=/etc/llmo/models.yml and MODELS_FILE_SOURCE (see compose/models.example.yml and docs/deploy.md)."
  find_compose
  compose --profile models up -d --no-recreate "${scales[@]}" "${services[@]}"
  compose --profile models ps "${services[@]}"
}

main() {
  local command="${1:-}"
  if [[ $# -gt 0 ]]; then shift; fi
  case "$command" in
    init) cmd_init ;;
    build) cmd_build ;;
    run) cmd_run ;;
    test) cmd_test ;;
    stop) cmd_stop ;;
    logs) cmd_logs "$@" ;;
    ps) cmd_ps ;;
    scale) cmd_scale "$@" ;;
    -h | --help | help)
      usage
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
