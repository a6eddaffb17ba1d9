import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads the per-tenant overrides file every `per_tenant_override_period`, and at once on SIGHUP; when the
/// overrides changed, every tenant gets its new settings from its next push on.
final class OverridesReloadLoop: Service, Sendable {
    private let overrides: RuntimeOverrides
    private let tenants: Tenants
    private let periodMs: Int64
    private let logger: Logger

    init(overrides: RuntimeOverrides, tenants: Tenants, periodMs: Int64, logger: Logger) {
        self.overrides = overrides
        self.tenants = tenants
        self.periodMs = periodMs
        self.logger = logger
    }

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups {
                    self.logger.info("SIGHUP: re-reading the overrides file")
                    self.reload()
                }
            }
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(self.periodMs)) }
                reload()
            }
            group.cancelAll()
        }
    }

    /// Re-reads the file and, if it changed, applies it to every tenant.
    func reload() {
        guard overrides.reload() else { return }
        tenants.reconfigure(nowMs: Int64(Date().timeIntervalSince1970 * 1000))
    }
}
