import Foundation
import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// ARCHITECTURE.md "State and durability": checkpoints make counters continue across restarts.
struct CheckpointTests {
    private func filled() -> Generator {
        let generator = Fixtures.generator { $0.limits.maxActiveSeries = 14 }
        for service in ["a", "b", "c"] {
            _ = generator.push(Fixtures.makeBatch(2, service: service), nowMs: Fixtures.nowMs)
        }
        _ = Fixtures.collect(generator)
        return generator
    }

    @Test func aRestoredGeneratorContinuesItsCountersWithoutASecondZero() throws {
        let original = filled()
        let restored = Fixtures.generator { $0.limits.maxActiveSeries = 14 }
        #expect(restored.restore(Fixtures.checkpoint(original).decoded, nowMs: Fixtures.nowMs) == ["span-metrics"])
        _ = restored.push(Fixtures.makeBatch(1, service: "a"), nowMs: Fixtures.nowMs + 1_000)
        let sink = Fixtures.collect(restored, at: Fixtures.nowMs + 15_000)
        #expect(sink.find("traces_spanmetrics_calls_total", ["service": "a"]).first?.samples.map(\.value) == [3])
        #expect(sink.value("traces_spanmetrics_calls_total", ["service": "b"]) == 2)
        // c was in overflow (limit: two label sets); the overflow series continues too, with no zero.
        #expect(
            sink.find("traces_spanmetrics_calls_total", ["metric_overflow": "true"]).first?.samples.map(\.value) == [2]
        )
        #expect(restored.limiter.statistics.active == 14)
    }

    @Test func corruptionIsDetected() throws {
        var bytes = Fixtures.checkpoint(filled()).bytes
        bytes[bytes.count / 2] ^= 0x01
        #expect(throws: Checkpoint.Error.checksumMismatch) { try Checkpoint(decoding: bytes) }
        #expect(throws: Checkpoint.Error.notACheckpoint) { try Checkpoint(decoding: Array("hello".utf8)) }
        let torn = Array(Fixtures.checkpoint(filled()).bytes.dropLast(10))
        #expect(throws: Checkpoint.Error.self) { try Checkpoint(decoding: torn) }
    }

    @Test func aStoreOfAnotherShapeIsNotLoaded() throws {
        let checkpoint = Fixtures.checkpoint(filled()).decoded
        let otherBuckets = Fixtures.generator(buckets: [0.1, 0.2])
        #expect(otherBuckets.restore(checkpoint, nowMs: Fixtures.nowMs).isEmpty)
        #expect(Fixtures.collect(otherBuckets).series.isEmpty)
    }

    @Test func filesAreWrittenAtomicallyAndTenantNamesEncoded() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metronome-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tenant = try TenantID(validating: "team.a*(b)'")
        #expect(tenant.directoryName == "team%2Ea%2A%28b%29%27")
        #expect(TenantID(directoryName: tenant.directoryName) == tenant)
        #expect(TenantID(directoryName: "..") == nil)
        #expect(TenantID(directoryName: "a%2") == nil)
        let file = CheckpointFile(dataPath: directory.path, tenant: tenant)
        #expect(try file.read() == nil)
        let generator = filled()
        try file.write(generator)
        try file.write(generator)
        #expect(try file.read() == Fixtures.checkpoint(generator).decoded)
        #expect(CheckpointFile.tenants(in: directory.path) == [tenant])
        #expect(!FileManager.default.fileExists(atPath: file.directory.appendingPathComponent("checkpoint.tmp").path))
    }

    @Test func storesSplitByShardAreMergedAndFirstVersionFilesStillRead() throws {
        let generator = Fixtures.generator()
        let spans = (0..<200).map { OTLPFixtures.span(name: "op-\($0)", seed: $0, nowNanos: Fixtures.nowNanos) }
        _ = generator.push(
            Fixtures.batch([OTLPFixtures.resourceSpans([OTLPFixtures.attribute("service.name", "s")], spans)]),
            nowMs: Fixtures.nowMs
        )
        let (bytes, decoded) = Fixtures.checkpoint(generator)
        #expect(Array(bytes.prefix(8)) == Array("MTRCKPT2".utf8))
        #expect(decoded.stores[SpanMetricsProcessor.name]?.entries.count == 200)
        // A first-version file differs only in its magic (it held one message per store, which reads the same).
        let firstVersion = Array("MTRCKPT1".utf8) + bytes.dropFirst(8)
        #expect(try Checkpoint(decoding: firstVersion) == decoded)
        let restored = Fixtures.generator()
        #expect(restored.restore(decoded, nowMs: Fixtures.nowMs) == [SpanMetricsProcessor.name])
        #expect(Fixtures.collect(restored).find("traces_spanmetrics_calls_total").count == 200)
    }
}
