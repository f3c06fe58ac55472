#!/usr/bin/env bash
# Install Helm from the Go module proxy into a cache outside the repo (the chart tests render
# helm/reelscope with it). Skips the build when that version is already there.
set -euo pipefail
cache="${REELSCOPE_CACHE:-$HOME/.cache/reelscope}"
version=v3.22.0
out="$cache/bin/helm-$version"
if [ -x "$out" ]; then
  echo "helm: up to date ($out)"
else
  command -v go >/dev/null || { echo "helm: Go is required to build Helm" >&2; exit 1; }
  echo "helm: building Helm $version from the Go module proxy (a few minutes the first time)"
  tmp=$(mktemp -d)
  GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath "helm.sh/helm/v3/cmd/helm@$version"
  mkdir -p "$cache/bin"
  mv "$tmp/helm" "$out"
  rmdir "$tmp"
fi
ln -sfn "$out" "$cache/helm"
