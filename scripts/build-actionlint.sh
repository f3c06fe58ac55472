#!/usr/bin/env bash
# Install actionlint (the GitHub Actions workflow linter) from the Go module proxy into a cache outside
# the repo; tests/configs/test_workflows.py runs it on .github/workflows. Skips the build when that
# version is already there.
set -euo pipefail
cache="${REELSCOPE_CACHE:-$HOME/.cache/reelscope}"
version=v1.7.12
out="$cache/bin/actionlint-$version"
if [ -x "$out" ]; then
  echo "actionlint: up to date ($out)"
else
  command -v go >/dev/null || { echo "actionlint: Go is required to build actionlint" >&2; exit 1; }
  echo "actionlint: building actionlint $version from the Go module proxy"
  tmp=$(mktemp -d)
  GOBIN="$tmp" GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath "github.com/rhysd/actionlint/cmd/actionlint@$version"
  mkdir -p "$cache/bin"
  mv "$tmp/actionlint" "$out"
  rmdir "$tmp"
fi
ln -sfn "$out" "$cache/actionlint"
