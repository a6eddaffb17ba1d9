import Foundation
import Logging
import Metrics
import MetronomeGenerator
import ServiceLifecycle

/// Expires service-graph edges every second (Tempo: every 2 s), so a half whose partner never comes becomes a
/// virtual-node edge or an expired count about `wait` after it arrived, traffic or not.
final class EdgeExpiryLoop: Service, Sendable {
    private let tenants: Tenants
    private let logger: Logger

    init(tenants: Tenants, logger: Logger) {
        self.tenants = tenants
        self.logger = logger
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            expireOnce(nowMs: Int64(Date().timeIntervalSince1970 * 1000))
        }
    }

    func expireOnce(nowMs: Int64) {
        for generator in tenants.all {
            guard let result = generator.expireEdges(nowMs: nowMs) else { continue }
            ServiceGraphSelfMetrics.record(result, tenant: generator.tenant.value, logger: logger)
            let pending = generator.pendingEdges
            Gauge(label: "metronome_service_graph_pending_edges", dimensions: [("tenant", generator.tenant.value)])
                .record(pending.count)
            Gauge(label: "metronome_service_graph_pending_bytes", dimensions: [("tenant", generator.tenant.value)])
                .record(pending.bytes)
        }
    }
}
