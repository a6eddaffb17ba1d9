import MetronomeGenerator

/// One tenant as the server runs it: its generator and its self-metric handles.
final class Tenant: Sendable {
    let id: TenantID
    let generator: Generator
    let metrics: TenantSelfMetrics

    init(_ id: TenantID, generator: Generator) {
        self.id = id
        self.generator = generator
        self.metrics = TenantSelfMetrics(tenant: id, limiter: generator.limiter.mode)
    }
}
