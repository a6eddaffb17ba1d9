import Foundation
import Logging
import MetronomeGenerator
import Synchronization

/// One tenant as the server runs it: its settings, its generator (replaced when its settings change) and its
/// self-metric handles.
final class Tenant: Sendable {
    let id: TenantID
    let metrics: TenantSelfMetrics
    private let state: Mutex<State>
    /// Pushes between ``Tenants/withTenant(_:nowMs:_:)`` handing the tenant out and the push returning: an idle
    /// tenant is let go only when none is in progress.
    let pushesInProgress = Atomic<Int>(0)
    /// The time of its latest push, ms since the epoch.
    let lastPushMs: Atomic<Int64>
    /// The time of its latest collection (at first, of its creation), ms since the epoch.
    let lastCollectionMs: Atomic<Int64>

    private struct State {
        var settings: TenantSettings
        var generator: Generator
    }

    init(_ id: TenantID, settings: TenantSettings, nowMs: Int64) {
        self.id = id
        let generator = Generator(tenant: id, configuration: settings.generator, nowMs: nowMs)
        state = Mutex(State(settings: settings, generator: generator))
        metrics = TenantSelfMetrics(tenant: id, limiter: generator.limiter.mode)
        lastPushMs = Atomic(nowMs)
        lastCollectionMs = Atomic(nowMs)
    }

    /// The tenant's generator now.
    var generator: Generator { state.withLock { $0.generator } }

    /// The tenant's settings now.
    var settings: TenantSettings { state.withLock { $0.settings } }

    /// Applies new settings from the tenant's next push on: a new generator continues the current one, so series
    /// whose identity is unchanged keep their values (see ``Generator/init(tenant:configuration:nowMs:continuing:)``).
    /// - Returns: what became of each processor, or nil when the settings did not change.
    func reconfigure(_ settings: TenantSettings, nowMs: Int64) -> Generator.Continuation? {
        state.withLock { state in
            guard state.settings != settings else { return nil }
            let generator =
                state.settings.generator == settings.generator
                ? state.generator
                : Generator(tenant: id, configuration: settings.generator, nowMs: nowMs, continuing: state.generator)
            let continuation = generator === state.generator ? Generator.Continuation() : generator.continuation
            state = State(settings: settings, generator: generator)
            return continuation
        }
    }
}
