import Foundation
import Logging
import Metrics
import MetronomeGenerator
import MetronomeSelfMetrics
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
        for tenant in tenants.all {
            tenant.metrics.record(tenant.generator.expire(nowMs: nowMs), logger: logger)
            let pending = tenant.generator.pending
            tenant.metrics.pendingEdges.record(pending.count)
            tenant.metrics.pendingBytes.record(pending.bytes)
        }
    }
}
