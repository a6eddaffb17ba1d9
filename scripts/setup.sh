#!/usr/bin/env bash
# Installs what building and testing Metronome needs on a fresh Debian machine with Swift 6.3:
# libsnappy (remote-write compression), zlib (its headers, for the WAL's CRC-32), Prometheus (integration tests' real receiver), and a Python venv with the
# OpenTelemetry SDK clients the integration tests drive. Idempotent; needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
dpkg -s libsnappy-dev >/dev/null 2>&1 || need_apt+=(libsnappy-dev)
dpkg -s zlib1g-dev >/dev/null 2>&1 || need_apt+=(zlib1g-dev)
if [ "${1:-}" != "--runtime-only" ]; then
  command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
  # The integration tests' clients live in a venv: python3 with its venv module (Debian splits it out).
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3 python3-venv)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need_apt[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "${1:-}" != "--runtime-only" ]; then
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
  # The Jaeger and Zipkin protobuf exporters need an older SDK and protobuf than the other clients: a venv of their own.
  if [ ! -x .venv-legacy/bin/python ]; then
    python3 -m venv .venv-legacy
  fi
  .venv-legacy/bin/pip install -q --disable-pip-version-check -r requirements-legacy-clients.txt
fi
