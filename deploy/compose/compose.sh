#!/usr/bin/env bash
# `make compose-up` / `make compose-down`: run docker-compose.yml with `docker compose` (the plugin) or
# `docker-compose` (v1), after checking that a Docker engine answers; say so plainly when there is none.
set -euo pipefail
cd "$(dirname "$0")/../.."

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  echo "compose: neither 'docker compose' nor 'docker-compose' is installed; see https://docs.docker.com/compose/install/" >&2
  echo "compose: without Docker, 'make up' runs the local stack from system packages" >&2
  exit 1
fi
if command -v docker >/dev/null 2>&1; then probe=(docker info); else probe=("${compose[@]}" ps -q); fi
if ! "${probe[@]}" >/dev/null 2>&1; then
  echo "compose: no Docker engine answers ('${probe[*]}' failed): install Docker or start it, then retry" >&2
  echo "compose: without Docker, 'make up' runs the local stack from system packages" >&2
  exit 1
fi

case "${1:-}" in
  up)
    "${compose[@]}" -f docker-compose.yml up --detach --build
    cat <<URLS
compose: started. Grafana http://127.0.0.1:${REELSCOPE_GRAFANA_PORT:-3000} (admin, password from the grafana-admin-password secret)
         ingest API http://127.0.0.1:${REELSCOPE_INGEST_PORT:-8080}  Prometheus http://127.0.0.1:${REELSCOPE_PROMETHEUS_PORT:-9090}
         RabbitMQ http://127.0.0.1:${REELSCOPE_RABBITMQ_MANAGEMENT_PORT:-15672}  Alertmanager http://127.0.0.1:${REELSCOPE_ALERTMANAGER_PORT:-9093}
URLS
    ;;
  down)
    # Volumes (storage, databases, metrics, traces, logs) are kept; add -v by hand to remove them too.
    "${compose[@]}" -f docker-compose.yml down
    ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
