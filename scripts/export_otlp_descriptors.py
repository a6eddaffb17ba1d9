"""Writes the OTLP trace schema as a protobuf FileDescriptorSet (dependencies first).

The descriptors come from PyPI's opentelemetry-proto, which embeds them in its generated modules; protoc reads
them with --descriptor_set_in, so no .proto source files are needed.
"""
import sys

from google.protobuf import descriptor_pb2
import opentelemetry.proto.collector.trace.v1.trace_service_pb2 as trace_service

seen = set()
out = descriptor_pb2.FileDescriptorSet()


def add(file_descriptor):
    if file_descriptor.name in seen:
        return
    for dependency in file_descriptor.dependencies:
        add(dependency)
    seen.add(file_descriptor.name)
    proto = descriptor_pb2.FileDescriptorProto()
    file_descriptor.CopyToProto(proto)
    out.file.append(proto)


add(trace_service.DESCRIPTOR)
with open(sys.argv[1], "wb") as f:
    f.write(out.SerializeToString())
