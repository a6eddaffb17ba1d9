import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads the per-tenant overrides file every `per_tenant_override_period`, and at once on SIGHUP; when the
/// overrides changed, every tenant gets its new settings from its next push on. Without an overrides file, SIGHUP is
/// logged and ignored (its default action would end the process).
final class OverridesReloadLoop: Service, Sendable {
    private let overrides: RuntimeOverrides
    private let tenants: Tenants
    private let periodMs: Int64
    private let hangups: UnixSignalsSequence
    private let logger: Logger

    /// - Parameter hangups: SIGHUP, trapped by the caller before the server starts listening, so a SIGHUP sent once
    ///   it is ready never meets the default action.
    init(
        overrides: RuntimeOverrides,
        tenants: Tenants,
        periodMs: Int64,
        hangups: UnixSignalsSequence,
        logger: Logger
    ) {
        self.overrides = overrides
        self.tenants = tenants
        self.periodMs = periodMs
        self.hangups = hangups
        self.logger = logger
    }

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in self.hangups {
                    guard self.overrides.path != nil else {
                        self.logger.notice("SIGHUP: no overrides file configured; nothing to re-read")
                        continue
                    }
                    self.logger.info("SIGHUP: re-reading the overrides file")
                    self.reload()
                }
            }
            while overrides.path != nil && !Task.isShuttingDownGracefully && !Task.isCancelled {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(self.periodMs)) }
                reload()
            }
            if overrides.path == nil { try? await gracefulShutdown() }
            group.cancelAll()
        }
    }

    /// Re-reads the file and, if it changed, applies it to every tenant.
    func reload() {
        guard overrides.reload() else { return }
        tenants.reconfigure(nowMs: Int64(Date().timeIntervalSince1970 * 1000))
    }
}
