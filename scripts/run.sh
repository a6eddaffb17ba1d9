#!/usr/bin/env bash
# Builds Metronome in release mode (the first build takes 10+ minutes on 2 cores) and runs it. Arguments go to
# `metronome`: no arguments runs the embedded defaults (OTLP on :4317/:4318, admin on :3200, no remote write);
# `--config FILE` uses a file (see config/metronome.example.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --runtime-only
swift build -c release --product metronome
exec "$(swift build -c release --show-bin-path)/metronome" "$@"
