import Foundation
import Logging
import MetronomeGenerator
import MetronomeWire
import Testing

@testable import MetronomeServer

struct TenantsTests {
    private let logger = Logger(label: "test")

    @Test func tenantsWithCheckpointsAreRestoredAndACorruptOneIsSetAside() throws {
        let dataPath = FileManager.default.temporaryDirectory.appendingPathComponent("metronome-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dataPath) }
        var configuration = Generator.Configuration()
        configuration.processors = [SpanMetricsProcessor.name]
        let first = Tenants(overrides: .fixed(configuration), dataPath: dataPath, logger: logger)
        let nowNanos = Distributor.nowNanos()
        let batch = try SpanBatch.oneSpan(endingAt: nowNanos)
        for name in ["kept", "broken"] {
            let tenant = try first.tenant(TenantID(validating: name), nowMs: Int64(nowNanos / 1_000_000))
            _ = tenant.generator.push(batch, nowMs: Int64(nowNanos / 1_000_000))
            first.writeCheckpoint(tenant)
        }
        let broken = CheckpointFile(dataPath: dataPath, tenant: try TenantID(validating: "broken"))
        try Data("not a checkpoint".utf8).write(to: broken.url)

        let second = Tenants(overrides: .fixed(configuration), dataPath: dataPath, logger: logger)
        #expect(second.all.map(\.id.value) == ["kept"])
        #expect(FileManager.default.fileExists(atPath: broken.url.path + ".corrupt"))
        #expect(Set(second.storedTenantNames) == ["kept", "broken"])
        #expect(second.walDirectory(forTenantNamed: "kept") == dataPath + "/kept/wal")
        #expect(second.walDirectory(forTenantNamed: "a/b") == nil)
    }
}
