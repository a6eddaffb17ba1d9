#!/usr/bin/env bash
# Runs every test: formatting lint, Swift unit tests, then the integration tests against a real Prometheus and the
# real OpenTelemetry SDK. Run scripts/setup.sh once first (CI's .ci/run does).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== swift format lint"
git ls-files '*.swift' | grep -v '\.pb\.swift$' | grep -v '^Package.swift$' | xargs swift format lint --strict

echo "== build (debug)"
swift build --build-tests

echo "== unit tests"
swift test

echo "== integration tests"
METRONOME_BIN="$(swift build --show-bin-path)/metronome" .venv/bin/python -m pytest -q tests/integration
