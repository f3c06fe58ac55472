#!/usr/bin/env bash
# Build the collector from otel-collector/builder-config.yaml with the official builder, into a
# cache outside the repo. Rebuilds only when the manifest changes (keyed by its sha256).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
manifest="$repo/otel-collector/builder-config.yaml"
cache="${REELSCOPE_CACHE:-$HOME/.cache/reelscope}"
builder_version=v0.155.0
key=$(sha256sum "$manifest" | cut -c1-16)
out="$cache/otelcol/$key"
if [ -x "$out/build/otelcol-reelscope" ]; then
  echo "collector: up to date ($out/build/otelcol-reelscope)"
  ln -sfn "$out/build/otelcol-reelscope" "$cache/otelcol-reelscope"
  exit 0
fi
command -v go >/dev/null || { echo "collector: Go is required to build the collector" >&2; exit 1; }
mkdir -p "$cache/bin" "$out"
if [ ! -x "$cache/bin/builder-$builder_version" ]; then
  echo "collector: installing the OpenTelemetry Collector Builder $builder_version"
  GOBIN="$cache/bin" go install "go.opentelemetry.io/collector/cmd/builder@$builder_version"
  mv "$cache/bin/builder" "$cache/bin/builder-$builder_version"
fi
echo "collector: building otelcol-reelscope (a few minutes the first time)"
cp "$manifest" "$out/builder-config.yaml"
# The builder writes go.mod and the sources, then its `go mod tidy` fails: tidy also resolves the
# test-only dependencies of every component, some of which the Go module proxy does not serve.
# `tidy -e` tolerates those (they are never compiled into the binary); the build itself must succeed.
rm -rf "$out/build"
(cd "$out" && "$cache/bin/builder-$builder_version" --config builder-config.yaml --skip-compilation) \
  >"$out/builder.log" 2>&1 || echo "collector: builder's own tidy failed as expected; resolving with tidy -e"
[ -f "$out/build/go.mod" ] || { cat "$out/builder.log" >&2; exit 1; }
(cd "$out/build" && go mod tidy -e >tidy.log 2>&1 && CGO_ENABLED=0 go build -trimpath -o otelcol-reelscope .)
ln -sfn "$out/build/otelcol-reelscope" "$cache/otelcol-reelscope"
echo "collector: built $cache/otelcol-reelscope"
