import Foundation
import Logging
import Metrics
import MetronomeGenerator
import MetronomeSelfMetrics
import Synchronization

/// The one owner of the tenants: creates each ``Tenant`` on first use (up to `distributor.max_tenants`),
/// restores them from their checkpoints at start, writes their checkpoints, and lists them for the distributor, the
/// collection and expiry loops and the admin routes. The on-disk layout of a tenant (its checkpoint and WAL under
/// `storage.path`) is ``CheckpointFile``'s, and only this type and the WAL's directory lookup use it.
final class Tenants: Sendable {
    private let generatorConfiguration: Generator.Configuration
    /// How many tenants may exist.
    let limit: Int
    /// Where tenants' state lives; nil keeps no state.
    let dataPath: String?
    private let tenants = Mutex<[TenantID: Tenant]>([:])
    private let count = SelfMetric.tenants.gauge()
    private let logger: Logger

    /// Restores every tenant that has a checkpoint under `dataPath` (they count towards `limit`, and are restored even
    /// past it: their state exists already).
    init(generatorConfiguration: Generator.Configuration, limit: Int = 1000, dataPath: String?, logger: Logger) {
        self.generatorConfiguration = generatorConfiguration
        self.limit = limit
        self.dataPath = dataPath
        self.logger = logger
        count.record(0)
        if let dataPath { restore(from: dataPath) }
    }

    /// Every tenant.
    var all: [Tenant] {
        tenants.withLock { Array($0.values) }
    }

    /// Checks that a request for `tenant` would be served: it exists, or there is room for it.
    /// - Returns: whether the tenant exists already.
    /// - Throws: ``Refusal`` naming `distributor.max_tenants` otherwise.
    @discardableResult
    func admit(_ tenant: TenantID) throws(Refusal) -> Bool {
        let (exists, room) = tenants.withLock { ($0[tenant] != nil, $0.count < limit) }
        guard exists || room else { throw limitRefusal(tenant) }
        return exists
    }

    /// The tenant `id`, created when it is new.
    /// - Throws: ``Refusal`` when the tenant is new and `limit` tenants exist already.
    func tenant(_ id: TenantID, nowMs: Int64) throws(Refusal) -> Tenant {
        let tenant = tenants.withLock { tenants in
            tenants[id] == nil && tenants.count >= limit ? nil : self.tenant(id, in: &tenants, nowMs: nowMs)
        }
        guard let tenant else { throw limitRefusal(id) }
        return tenant
    }

    /// The directory of a tenant's remote-write WAL (the tenant given as the WAL names it), nil without `dataPath`
    /// or for a name that is not a tenant id.
    func walDirectory(forTenantNamed name: String) -> String? {
        guard let dataPath, let tenant = try? TenantID(validating: name) else { return nil }
        return CheckpointFile(dataPath: dataPath, tenant: tenant).walDirectory.path
    }

    /// The names of the tenants with state on disk (whose WALs may hold unsent records).
    var storedTenantNames: [String] {
        dataPath.map { CheckpointFile.tenants(in: $0).map(\.value) } ?? []
    }

    /// Saves a tenant's cumulative state after a collection, so a restart continues its counters (a crash loses at
    /// most the spans since the last collection). A failure is logged and counted; the next collection tries again.
    func writeCheckpoint(_ tenant: Tenant) {
        guard let dataPath else { return }
        do {
            try CheckpointFile(dataPath: dataPath, tenant: tenant.id).write(tenant.generator)
        } catch {
            tenant.metrics.checkpointWriteFailures.increment()
            logger.error("could not write checkpoint", metadata: ["tenant": "\(tenant.id)", "error": "\(error)"])
        }
    }

    /// Recreates the generators of every tenant with a checkpoint, so their counters continue. A torn or corrupted
    /// checkpoint is logged, counted and set aside; that tenant starts empty.
    private func restore(from dataPath: String) {
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        for tenant in CheckpointFile.tenants(in: dataPath) {
            let file = CheckpointFile(dataPath: dataPath, tenant: tenant)
            do {
                guard let checkpoint = try file.read() else { continue }
                let restored = tenants.withLock { self.tenant(tenant, in: &$0, nowMs: nowMs) }.generator.restore(
                    checkpoint,
                    nowMs: nowMs
                )
                logger.info(
                    "restored series from checkpoint",
                    metadata: ["tenant": "\(tenant)", "stores": "\(restored.joined(separator: ","))"]
                )
            } catch {
                SelfMetric.checkpointLoadFailures.counter(tenant.value).increment()
                logger.error(
                    "checkpoint unreadable; the tenant starts empty",
                    metadata: ["tenant": "\(tenant)", "file": "\(file.url.path)", "error": "\(error)"]
                )
                try? FileManager.default.removeItem(at: file.url.appendingPathExtension("corrupt"))
                try? FileManager.default.moveItem(at: file.url, to: file.url.appendingPathExtension("corrupt"))
            }
        }
    }

    private func tenant(_ id: TenantID, in tenants: inout [TenantID: Tenant], nowMs: Int64) -> Tenant {
        if let tenant = tenants[id] { return tenant }
        let tenant = Tenant(id, generator: Generator(tenant: id, configuration: generatorConfiguration, nowMs: nowMs))
        tenants[id] = tenant
        count.record(tenants.count)
        logger.info("created generator for tenant", metadata: ["tenant": "\(id)"])
        return tenant
    }

    private func limitRefusal(_ tenant: TenantID) -> Refusal {
        Refusal(
            reason: .maxTenants,
            description:
                "tenant limit reached: \(limit) tenants exist (distributor.max_tenants); tenant \(tenant) was not created",
            retryAfterSeconds: nil
        )
    }
}
