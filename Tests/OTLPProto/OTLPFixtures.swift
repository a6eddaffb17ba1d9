import Foundation
import SwiftProtobuf

/// Builders of OTLP requests with the generated SwiftProtobuf types: an encoder that shares no code with
/// MetronomeWire, for tests and benchmarks.
public enum OTLPFixtures {
    public typealias Request = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest
    public typealias Span = Opentelemetry_Proto_Trace_V1_Span
    public typealias KeyValue = Opentelemetry_Proto_Common_V1_KeyValue
    public typealias ResourceSpans = Opentelemetry_Proto_Trace_V1_ResourceSpans

    /// A string attribute.
    public static func attribute(_ key: String, _ value: String) -> KeyValue {
        KeyValue.with {
            $0.key = key
            $0.value.stringValue = value
        }
    }

    /// A 16-byte trace id and an 8-byte span id derived from `seed` (never zero).
    public static func ids(_ seed: Int) -> (trace: Data, span: Data) {
        var trace = Data(count: 16)
        var span = Data(count: 8)
        withUnsafeBytes(of: UInt64(seed + 1).bigEndian) { bytes in
            trace.replaceSubrange(8..<16, with: bytes)
            span.replaceSubrange(0..<8, with: bytes)
        }
        trace[0] = 0x4b
        return (trace, span)
    }

    /// A span ending `endOffsetNanos` after `nowNanos`, lasting `durationNanos`.
    public static func span(
        name: String,
        kind: Span.SpanKind = .server,
        status: Opentelemetry_Proto_Trace_V1_Status.StatusCode = .ok,
        message: String = "",
        seed: Int = 0,
        nowNanos: UInt64,
        durationNanos: UInt64 = 1_000_000_000,
        attributes: [KeyValue] = []
    ) -> Span {
        let ids = ids(seed)
        return Span.with {
            $0.traceID = ids.trace
            $0.spanID = ids.span
            $0.name = name
            $0.kind = kind
            $0.startTimeUnixNano = nowNanos - durationNanos
            $0.endTimeUnixNano = nowNanos
            $0.attributes = attributes
            $0.status.code = status
            $0.status.message = message
        }
    }

    /// One `ResourceSpans` with the given resource attributes and spans in one scope.
    public static func resourceSpans(_ resource: [KeyValue], _ spans: [Span]) -> ResourceSpans {
        ResourceSpans.with {
            $0.resource.attributes = resource
            $0.scopeSpans = [
                Opentelemetry_Proto_Trace_V1_ScopeSpans.with {
                    $0.scope.name = "fixture"
                    $0.spans = spans
                }
            ]
        }
    }

    /// A request shaped like Tempo's `spanmetrics_default` benchmark: `resources` resources of 9 attributes, each
    /// with `spansPerResource` SERVER spans named by `names` different names.
    public static func tempoShaped(
        resources: Int = 4,
        spansPerResource: Int = 100,
        names: Int = 10,
        nowNanos: UInt64
    ) -> Request {
        Request.with { request in
            request.resourceSpans = (0..<resources).map { resource in
                let attributes = [
                    attribute("service.name", "service-\(resource)"),
                    attribute("service.namespace", "shop"),
                    attribute("service.instance.id", "instance-\(resource)"),
                    attribute("cloud.region", "eu-west-1"),
                    attribute("cloud.availability_zone", "eu-west-1a"),
                    attribute("deployment.environment", "production"),
                    attribute("k8s.cluster.name", "prod-cluster"),
                    attribute("k8s.namespace.name", "shop"),
                    attribute("service.version", "1.4.2"),
                ]
                let spans = (0..<spansPerResource).map { index in
                    span(
                        name: "GET /api/endpoint/\(index % names)",
                        seed: resource * 10_000 + index,
                        nowNanos: nowNanos,
                        durationNanos: UInt64(1_000_000 + index * 10_000),
                        attributes: [
                            attribute("http.method", "GET"), attribute("http.route", "/api/endpoint/\(index % names)"),
                        ]
                    )
                }
                return resourceSpans(attributes, spans)
            }
        }
    }
}
