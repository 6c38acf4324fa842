#!/usr/bin/env bash
# Builds the Linux packages into dist/: the binaries (mfad, and mfad-daemon
# of the same build, which mfad serve hands over to), the systemd user unit
# rendered from packaging/systemd (the same template `mfad service install`
# uses), shell completions, then .deb and .rpm with nfpm.
#   MFAD_VERSION=1.2.3 packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export MFAD_VERSION="${MFAD_VERSION:-0.0.0-dev}"
export GOARCH="${GOARCH:-$(go env GOARCH)}"
NFPM_VERSION=v2.45.2

rm -rf dist && mkdir -p dist/completions
for cmd in mfad mfad-daemon; do
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${MFAD_VERSION}" -o "dist/$cmd" "./cmd/$cmd"
done
dist/mfad service unit --executable /usr/bin/mfad > dist/mfad.service
dist/mfad service unit --socket > dist/mfad.socket
for shell in bash zsh fish; do
  dist/mfad completion "$shell" > "dist/completions/mfad.$shell"
done
for format in deb rpm; do
  go run "github.com/goreleaser/nfpm/v2/cmd/nfpm@${NFPM_VERSION}" package -f packaging/nfpm.yaml -p "$format" -t dist/
done
ls dist/*.deb dist/*.rpm
