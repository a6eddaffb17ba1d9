import Foundation
import Hummingbird
import MetronomeGenerator
import MetronomeWire
import NIOCore
import Prometheus

/// The admin endpoints on `server.http_listen_port`: `/ready`, `/metrics` (Metronome's own metrics),
/// `/metrics/generated` (the generated series in Prometheus text or, when asked for, protobuf format, for setups
/// without remote write),
/// `/status/overrides` (each tenant's effective settings) and `/status/config` (the running configuration).
struct AdminRoutes: Sendable {
    let tenants: Tenants
    let selfMetrics: PrometheusCollectorRegistry
    let configuration: MetronomeConfiguration

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/ready") { _, _ in "ready\n" }
        router.get("/status/overrides") { _, _ in Self.yaml(StatusDocument.overrides(tenants)) }
        router.get("/status/config") { _, _ in Self.yaml(StatusDocument.configuration(configuration)) }
        router.get("/metrics") { _, _ in
            var bytes: [UInt8] = []
            selfMetrics.emit(into: &bytes)
            return Self.text(bytes)
        }
        router.get("/metrics/generated") { request, _ in
            let generators = tenants.all.sorted(by: { $0.id.value < $1.id.value }).map(\.generator)
            let format = ExpositionFormat(accept: request.headers[.accept])
            let contentType = format == .protobuf ? PrometheusProtobufEncoder.contentType : Self.textContentType
            return Response(
                status: .ok,
                headers: [.contentType: contentType],
                body: ResponseBody { writer in
                    try await Self.writeGenerated(generators, format: format, to: &writer)
                    try await writer.finish(nil)
                }
            )
        }
    }

    /// Streams every tenant's series, family by family (the text format wants each family's lines together), one
    /// slice of a family's series at a time: the response never holds more than one slice's text (or one
    /// `MetricFamily` message per slice), whatever the number of series, and no registry lock is held while the
    /// client reads. It costs one pass over a processor's series per family it has.
    private static func writeGenerated(
        _ generators: [Generator],
        format: ExpositionFormat,
        to writer: inout any ResponseBodyWriter
    ) async throws {
        var families: [(name: String, type: MetricType)] = []
        for generator in generators {
            for family in generator.families where !families.contains(where: { $0.name == family.name }) {
                families.append(family)
            }
        }
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        for family in families {
            var typeLine: [UInt8]? = format == .text ? PrometheusTextEncoder.typeLine(family.name, family.type) : []
            for generator in generators where generator.families.contains(where: { $0.name == family.name }) {
                for slice in 0..<Generator.snapshotSlices {
                    let bytes: [UInt8]
                    switch format {
                    case .text:
                        var encoder = PrometheusTextEncoder(onlyFamily: family.name)
                        generator.snapshot(slice: slice, timestampMs: nowMs, into: &encoder)
                        bytes = encoder.render(typeLines: false)
                    case .protobuf:
                        var encoder = PrometheusProtobufEncoder(onlyFamily: family.name)
                        generator.snapshot(slice: slice, timestampMs: nowMs, into: &encoder)
                        bytes = encoder.render()
                    }
                    guard !bytes.isEmpty else { continue }
                    try await writer.write(ByteBuffer(bytes: (typeLine.take() ?? []) + bytes))
                }
            }
        }
    }

    private static let textContentType = "text/plain; version=0.0.4; charset=utf-8"

    private static func text(_ bytes: [UInt8]) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: textContentType],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    private static func yaml(_ text: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/yaml; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }
}
