#!/usr/bin/env bash
# `make images`: build the four service images from services/<name>/Dockerfile with the repo root as context,
# tagged reelscope/<name>:<version in services/<name>/pyproject.toml>, or $REGISTRY/reelscope/<name>:<version>
# when REGISTRY is set (REGISTRY=ghcr.io/acme: the names the release workflow pushes). Arguments pick services
# (scripts/build-images.sh transcode); none means all four. Needs a Docker engine, and says so when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
all=(ingest transcode transcription notification)
services=("${@:-${all[@]}}")

if ! command -v docker >/dev/null 2>&1; then
  echo "images: docker is not installed; install Docker (https://docs.docker.com/engine/install/) to build the images" >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "images: no Docker engine answers ('docker info' failed): start Docker, then retry" >&2
  exit 1
fi

prefix="${REGISTRY:+${REGISTRY%/}/}reelscope"
# The OCI source label: this clone's origin as an https URL, when it has one (else the Dockerfile's default).
source_args=()
origin=$(git remote get-url origin 2>/dev/null || true)
if [ -n "$origin" ]; then
  origin=$(echo "$origin" | sed -E 's#^git@([^:]+):#https://\1/#; s#\.git$##')
  source_args=(--build-arg "SOURCE=$origin")
fi

for service in "${services[@]}"; do
  if [ ! -f "services/$service/Dockerfile" ]; then
    echo "images: no services/$service/Dockerfile (services: ${all[*]})" >&2
    exit 2
  fi
  version=$(awk -F'"' '/^\[/ {section = $0} section == "[project]" && /^version *=/ {print $2; exit}' \
    "services/$service/pyproject.toml")
  tag="$prefix/$service:$version"
  echo "images: building $tag"
  docker build --file "services/$service/Dockerfile" --tag "$tag" --build-arg "VERSION=$version" \
    ${source_args[@]+"${source_args[@]}"} .
done
echo "images: built ${#services[@]} image(s) under $prefix/"
