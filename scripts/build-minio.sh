#!/usr/bin/env bash
# Build MinIO, the S3-compatible server the storage tests run the S3 backend against, from the Go
# module proxy into a cache outside the repo. Pinned to one commit; built only when it is missing.
set -euo pipefail
cache="${REELSCOPE_CACHE:-$HOME/.cache/reelscope}"
# MinIO tags releases as RELEASE.<date>, which the module proxy does not serve; the pseudo-version
# names the last commit of github.com/minio/minio (its go.mod has no replace directives, so
# `go install pkg@version` works).
version=v0.0.0-20260212201848-7aac2a2c5b7c
out="$cache/minio/$version"
if [ -x "$out/minio" ]; then
  echo "minio: up to date ($out/minio)"
  ln -sfn "$out/minio" "$cache/minio-server"
  exit 0
fi
command -v go >/dev/null || { echo "minio: Go is required to build MinIO" >&2; exit 1; }
echo "minio: building MinIO $version (several minutes the first time)"
mkdir -p "$out"
staging=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$staging"' EXIT
GOBIN="$staging" CGO_ENABLED=0 go install -trimpath "github.com/minio/minio@$version"
mv "$staging/minio" "$out/minio"
ln -sfn "$out/minio" "$cache/minio-server"
echo "minio: built $cache/minio-server"
