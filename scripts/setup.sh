#!/usr/bin/env bash
# Install everything Reelscope needs on a fresh Debian 12 machine, saying what it does, skipping
# what is already there: system packages (apt), uv and the Python workspace, and the collector.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# docker-compose (v1) only validates docker-compose.yml in the tests; --no-install-recommends keeps the engine out.
# shellcheck: actionlint runs it on the workflows' run: scripts.
# postgresql: the ingest migration tests start their own server from its binaries (initdb, pg_ctl).
# wrk: the HTTP load generator of the ingest API overhead benchmark (tools/bench, api_overhead.py).
packages=(rabbitmq-server ffmpeg prometheus prometheus-alertmanager flite docker-compose shellcheck postgresql wrk)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Debian starts a system-wide RabbitMQ on install; the local stack runs its own node instead.
  $sudo_cmd service rabbitmq-server stop >/dev/null 2>&1 || true
  # Likewise Alertmanager: we only need its amtool (config checks and routing tests).
  $sudo_cmd service prometheus-alertmanager stop >/dev/null 2>&1 || true
  # And PostgreSQL's default cluster: the tests run their own server in a temporary directory.
  $sudo_cmd service postgresql stop >/dev/null 2>&1 || true
else
  echo "setup: system packages present (${packages[*]})"
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv"
  python3 -m pip install --quiet uv
fi
echo "setup: syncing the Python workspace (uv sync --frozen)"
uv sync --frozen --quiet

# Grafana's LogQL/TraceQL grammars (npm), for the tests that parse every query in grafana/.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing nodejs and npm"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends nodejs npm
fi
grammars=tests/configs/grammars
if [ ! -f "$grammars/node_modules/.package-lock.json" ] || [ "$grammars/package-lock.json" -nt "$grammars/node_modules/.package-lock.json" ]; then
  echo "setup: installing the query grammars (npm ci in $grammars)"
  npm ci --prefix "$grammars" --no-audit --no-fund --silent
fi

command -v go >/dev/null 2>&1 || { echo "setup: Go is required to build the collector (https://go.dev/dl)" >&2; exit 1; }
bash "$repo/scripts/build-collector.sh"
bash "$repo/scripts/build-minio.sh"  # S3-compatible server for the storage tests
bash "$repo/scripts/build-go-tools.sh"  # helm and actionlint, for the chart and workflow tests
echo "setup: done"
