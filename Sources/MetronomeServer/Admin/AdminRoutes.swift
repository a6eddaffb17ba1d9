import Hummingbird
import MetronomeGenerator
import MetronomeWire
import NIOCore
import Prometheus

/// The admin endpoints on `server.http_listen_port`: `/ready`, `/metrics` (Metronome's own metrics) and
/// `/metrics/generated` (the generated series in Prometheus text format, for setups without remote write).
struct AdminRoutes: Sendable {
    let distributor: Distributor
    let selfMetrics: PrometheusCollectorRegistry

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/ready") { _, _ in "ready\n" }
        router.get("/metrics") { _, _ in
            var bytes: [UInt8] = []
            selfMetrics.emit(into: &bytes)
            return Self.text(bytes)
        }
        router.get("/metrics/generated") { _, _ in
            var encoder = PrometheusTextEncoder()
            for generator in distributor.allGenerators.sorted(by: { $0.tenant.value < $1.tenant.value }) {
                _ = generator.collect(.snapshot, timestampMs: 0, into: &encoder)
            }
            return Self.text(encoder.render())
        }
    }

    private static func text(_ bytes: [UInt8]) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
