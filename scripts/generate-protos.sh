#!/usr/bin/env bash
# Regenerates the SwiftProtobuf types in Tests/OTLPProto: the OTLP trace schema, Prometheus remote write and the
# Prometheus protobuf exposition format.
# They serve tests (an encoder/decoder independent of MetronomeWire) and the decode benchmark's baseline; the server
# never uses them. The output is committed, so builds and CI do not need protoc.
#
# Versions: swift-protobuf 1.39.0 (protoc-gen-swift, built from this package's dependencies), protoc 3.21.12
# (Debian bookworm's protobuf-compiler), opentelemetry-proto 1.45.2 (PyPI; the descriptors of the OTLP schema).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "install protoc: apt-get install -y protobuf-compiler" >&2; exit 1; }
swift build --product protoc-gen-swift
plugin="$(swift build --show-bin-path)/protoc-gen-swift"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q opentelemetry-proto==1.45.2
"$work/venv/bin/python" scripts/export_otlp_descriptors.py "$work/otlp.binpb"
out=Tests/OTLPProto
rm -f "$out"/*.pb.swift
protoc --descriptor_set_in="$work/otlp.binpb" \
  --plugin=protoc-gen-swift="$plugin" --swift_out="$out" \
  --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
  opentelemetry/proto/common/v1/common.proto opentelemetry/proto/resource/v1/resource.proto \
  opentelemetry/proto/trace/v1/trace.proto opentelemetry/proto/collector/trace/v1/trace_service.proto
# remote.proto: remote write; metrics.proto: the exposition format (it imports the well-known Timestamp, which
# Debian's protobuf-compiler installs under /usr/include).
protoc --proto_path=scripts --proto_path=/usr/include --plugin=protoc-gen-swift="$plugin" --swift_out="$out" \
  --swift_opt=Visibility=Public remote.proto metrics.proto
echo "generated into $out:"
ls "$out"
