#!/usr/bin/env bash
# Install the Go command-line tools the tests use, from the Go module proxy, into a cache outside the repo:
#   helm        renders and lints helm/reelscope (tests/helm, tests/configs/test_k8s_deploy_files.py)
#   actionlint  lints .github/workflows (tests/configs/test_workflows.py)
# Each lands in $cache/bin/<tool>-<version> with a $cache/<tool> link; a version already there is not rebuilt.
set -euo pipefail
cache="${REELSCOPE_CACHE:-$HOME/.cache/reelscope}"
tools=(
  "helm helm.sh/helm/v3/cmd/helm v3.22.0"
  "actionlint github.com/rhysd/actionlint/cmd/actionlint v1.7.12"
)
for entry in "${tools[@]}"; do
  read -r name package version <<<"$entry"
  out="$cache/bin/$name-$version"
  if [ -x "$out" ]; then
    echo "$name: up to date ($out)"
  else
    command -v go >/dev/null || { echo "$name: Go is required to build $name" >&2; exit 1; }
    echo "$name: building $name $version from the Go module proxy (a few minutes the first time)"
    tmp=$(mktemp -d)
    GOBIN="$tmp" GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath "$package@$version"
    mkdir -p "$cache/bin"
    mv "$tmp/$name" "$out"
    rmdir "$tmp"
  fi
  ln -sfn "$out" "$cache/$name"
done
