import Foundation
import Logging
import Metrics
import MetronomeGenerator
import MetronomeSelfMetrics
import Synchronization

/// The one owner of the tenants: creates each ``Tenant`` on first use (up to `distributor.max_tenants`) with its
/// settings from the ``RuntimeOverrides``, restores them from their checkpoints at start, reconfigures them when
/// their overrides change, writes their checkpoints, lets idle ones go, and lists them for the distributor, the
/// collection and expiry loops and the admin routes. The on-disk layout of a tenant (its checkpoint and WAL under
/// `storage.path`) is ``CheckpointFile``'s, and only this type and the WAL's directory lookup use it.
final class Tenants: Sendable {
    /// Where each tenant's settings come from.
    let overrides: RuntimeOverrides
    /// How many tenants may exist.
    let limit: Int
    /// Where tenants' state lives; nil keeps no state.
    let dataPath: String?
    private let tenants = Mutex<[TenantID: Tenant]>([:])
    private let count = SelfMetric.tenants.gauge()
    private let reconfigured = SelfMetric.tenantsReconfigured.counter()
    private let removed = SelfMetric.tenantsRemoved.counter()
    private let logger: Logger

    /// Restores every tenant that has a checkpoint under `dataPath` (they count towards `limit`, and are restored even
    /// past it: their state exists already).
    init(overrides: RuntimeOverrides, limit: Int = 1000, dataPath: String?, logger: Logger) {
        self.overrides = overrides
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
    /// - Returns: whether the tenant exists already, and its ingestion rate limit.
    /// - Throws: ``Refusal`` naming `distributor.max_tenants` otherwise.
    @discardableResult
    func admit(_ tenant: TenantID) throws(Refusal) -> (exists: Bool, ingestion: IngestionRateLimiter.Configuration) {
        let (existing, room) = tenants.withLock { ($0[tenant], $0.count < limit) }
        guard existing != nil || room else { throw limitRefusal(tenant) }
        return (existing != nil, existing?.settings.ingestion ?? overrides.settings(for: tenant).ingestion)
    }

    /// Runs `body` with the tenant `id`, created when it is new; the tenant is not let go while `body` runs.
    /// - Throws: ``Refusal`` when the tenant is new and `limit` tenants exist already.
    func withTenant<R>(_ id: TenantID, nowMs: Int64, _ body: (Tenant) -> R) throws(Refusal) -> R {
        let tenant = tenants.withLock { tenants -> Tenant? in
            guard tenants[id] != nil || tenants.count < limit else { return nil }
            let tenant = self.tenant(id, in: &tenants, nowMs: nowMs)
            tenant.pushesInProgress.add(1, ordering: .relaxed)
            return tenant
        }
        guard let tenant else { throw limitRefusal(id) }
        defer { tenant.pushesInProgress.subtract(1, ordering: .relaxed) }
        tenant.lastPushMs.store(nowMs, ordering: .relaxed)
        return body(tenant)
    }

    /// The tenant `id`, created when it is new.
    /// - Throws: ``Refusal`` when the tenant is new and `limit` tenants exist already.
    func tenant(_ id: TenantID, nowMs: Int64) throws(Refusal) -> Tenant {
        try withTenant(id, nowMs: nowMs) { $0 }
    }

    /// Applies the current overrides to every tenant, from its next push on (after a reload of the overrides file).
    /// Each change is logged in one line saying which processors' series continue, restart (and why) or end.
    func reconfigure(nowMs: Int64) {
        for tenant in all {
            guard let continuation = tenant.reconfigure(overrides.settings(for: tenant.id), nowMs: nowMs) else {
                continue
            }
            reconfigured.increment()
            var metadata: Logger.Metadata = ["tenant": "\(tenant.id)", "block": "\(tenant.settings.source)"]
            if !continuation.kept.isEmpty { metadata["kept"] = "\(continuation.kept.joined(separator: ","))" }
            if !continuation.added.isEmpty { metadata["added"] = "\(continuation.added.joined(separator: ","))" }
            if !continuation.removed.isEmpty {
                metadata["removed"] =
                    "\(continuation.removed.joined(separator: ",")) (series end with staleness markers)"
            }
            if !continuation.restarted.isEmpty {
                metadata["restarted"] =
                    "\(continuation.restarted.joined(separator: ",")) (labels or buckets changed: series restart)"
            }
            logger.info("tenant settings changed", metadata: metadata)
        }
    }

    /// Lets `tenant` go if it is idle — no series left, nothing pending, no push for `idleMs` and none in progress —
    /// freeing its memory; its directory (checkpoint and WAL) stays, so its WAL is still sent.
    /// - Returns: whether it was removed.
    @discardableResult
    func removeIfIdle(_ tenant: Tenant, nowMs: Int64, idleMs: Int64) -> Bool {
        let gone = tenants.withLock { tenants in
            guard tenants[tenant.id] === tenant, tenant.pushesInProgress.load(ordering: .relaxed) == 0,
                nowMs - tenant.lastPushMs.load(ordering: .relaxed) >= idleMs, tenant.generator.isIdle
            else { return false }
            tenants[tenant.id] = nil
            count.record(tenants.count)
            return true
        }
        guard gone else { return false }
        removed.increment()
        writeCheckpoint(tenant)
        logger.info("removed idle tenant: no series left", metadata: ["tenant": "\(tenant.id)"])
        return true
    }

    /// The directory of a tenant's remote-write WAL (the tenant given as the WAL names it), nil without `dataPath`
    /// or for a name that is not a tenant id.
    func walDirectory(forTenantNamed name: String) -> String? {
        guard let dataPath, let tenant = try? TenantID(validating: name) else { return nil }
        return CheckpointFile(dataPath: dataPath, tenant: tenant).walDirectory.path
    }

    /// A tenant's `remote_write_headers` override, by the tenant's name as the WAL gives it.
    @Sendable
    func remoteWriteHeaders(forTenantNamed name: String) -> [String: String] {
        guard let id = try? TenantID(validating: name) else { return [:] }
        let existing = tenants.withLock { $0[id] }
        return existing?.settings.remoteWriteHeaders ?? overrides.settings(for: id).remoteWriteHeaders
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
        let tenant = Tenant(id, settings: overrides.settings(for: id), nowMs: nowMs)
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
