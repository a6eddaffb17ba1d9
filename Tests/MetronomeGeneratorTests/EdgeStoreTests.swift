import MetronomeWire
import Testing

@testable import MetronomeGenerator

/// Spec §9.2, the pairing store's own cases (`store_test.go`): pairing, capacity, expiry, dropped-side markers, keys.
struct EdgeStoreTests {
    /// Service names the updates point at: `svc-a` at 0, `svc-b` at 5.
    static let names = Array("svc-asvc-b".utf8)
    var shard = EdgeShard(labels: EdgeLabels(configuration: .init(), maxValueLength: 2048))
    var completed = CompletedEdges()
    var expired: [Int32: Int] = [:]

    static func key(_ span: UInt64, root: Bool = false) -> EdgeKey {
        var bytes = [UInt8](repeating: 1, count: 16) + withUnsafeBytes(of: span.bigEndian) { Array($0) }
        return bytes.withUnsafeMutableBytes { raw in
            EdgeKey(
                trace: ByteRange(offset: 0, count: 16),
                span: ByteRange(offset: 16, count: root ? 0 : 8),
                bytes: UnsafeRawBufferPointer(raw)
            )
        }
    }

    static func update(_ key: EdgeKey, _ side: EdgeSide) -> SideUpdate {
        SideUpdate(
            key: key,
            side: side,
            kind: side == .client ? SpanKind.client : SpanKind.server,
            service: ValueRef(inScratch: false, offset: side == .client ? 0 : 5, count: 5),
            latency: 0.01,
            timeNanos: 0,
            failed: false,
            multiplier: 1,
            peer: .absent,
            dimensionsStart: 0
        )
    }

    mutating func upsert(
        _ key: EdgeKey,
        _ side: EdgeSide,
        nowMs: Int64 = 0,
        waitMs: Int64 = 10_000,
        capacity: Int = .max
    ) -> EdgeShard.Outcome {
        let pending = shard.pendingCount
        return Self.names.withUnsafeBytes { names in
            [SideValue]().withUnsafeBufferPointer { dimensions in
                shard.upsert(
                    Self.update(key, side),
                    bytes: SideBytes(batch: names, scratch: names),
                    dimensions: dimensions,
                    nowMs: nowMs,
                    waitMs: waitMs,
                    admit: { _ in pending < capacity },
                    completed: &completed
                )
            }
        }
    }

    mutating func expire(at nowMs: Int64) -> Int {
        shard.expire(nowMs: nowMs, virtualNodeLabel: false, completed: &completed, expiredKinds: &expired)
    }

    @Test mutating func upsertEdge() {
        #expect(upsert(Self.key(1), .client) == .buffered(new: true))
        #expect(shard.pendingCount == 1)
        #expect(upsert(Self.key(1), .server) == .completed(new: false))
        #expect(shard.pendingCount == 0 && completed.edges.count == 1)
        // An edge whose time is up is expired by the head check, once.
        #expect(upsert(Self.key(2), .client, waitMs: 0) == .buffered(new: true))
        _ = expire(at: 0)
        _ = expire(at: 1_000)
        #expect(expired == [SpanKind.client: 1] && shard.pendingCount == 0)
    }

    @Test mutating func tooManyItemsButAnExistingKeyMayBeUpdated() {
        #expect(upsert(Self.key(1), .server, capacity: 1) == .buffered(new: true))
        #expect(upsert(Self.key(2), .server, capacity: 1) == .tooManyItems)
        #expect(upsert(Self.key(1), .server, capacity: 1) == .buffered(new: false))
        #expect(shard.pendingCount == 1)
    }

    @Test mutating func expireEverything() {
        for span in 1...100 { _ = upsert(Self.key(UInt64(span)), .client, waitMs: -5_000) }
        _ = expire(at: 0)
        #expect(expired == [SpanKind.client: 100])
        #expect(completed.edges.isEmpty && shard.pendingCount == 0)
    }

    @Test mutating func interiorRemovalKeepsExpiryOrder() {
        _ = upsert(Self.key(1), .client, nowMs: 0)
        _ = upsert(Self.key(2), .client, nowMs: 1_000)
        _ = upsert(Self.key(3), .client, nowMs: 2_000)
        #expect(upsert(Self.key(2), .server) == .completed(new: false))
        _ = expire(at: 10_000)
        #expect(expired == [SpanKind.client: 1] && shard.pendingCount == 1)
        _ = expire(at: 12_000)
        #expect(expired == [SpanKind.client: 2] && shard.pendingCount == 0)
    }

    @Test mutating func markersDropTheCounterpartAndExpire() {
        var admitted = 0
        func admit() -> Bool {
            admitted += 1
            return admitted <= 1
        }
        // A filtered client: its server half is refused while the marker lives.
        #expect(shard.addMarker(Self.key(1), side: .client, nowMs: 0, waitMs: 10_000, admit: admit) == (false, false))
        #expect(upsert(Self.key(1), .server, nowMs: 5_000) == .droppedSide)
        // At capacity a new key overflows, a refresh of a known one does not and extends its life.
        #expect(shard.addMarker(Self.key(2), side: .client, nowMs: 0, waitMs: 10_000, admit: admit) == (false, true))
        #expect(
            shard.addMarker(Self.key(1), side: .client, nowMs: 8_000, waitMs: 10_000, admit: admit) == (false, false)
        )
        #expect(expire(at: 12_000) == 0)
        #expect(upsert(Self.key(1), .server, nowMs: 12_000) == .droppedSide)
        #expect(expire(at: 18_001) == 1)
        #expect(upsert(Self.key(1), .server, nowMs: 18_001) == .buffered(new: true))
        // The same side's marker does not refuse it; markers expire independently of edges.
        #expect(shard.markerCount == 0)
    }

    @Test mutating func aMarkerDropsABufferedCounterpart() {
        #expect(upsert(Self.key(1), .server) == .buffered(new: true))
        #expect(shard.addMarker(Self.key(1), side: .server, nowMs: 0, waitMs: 10_000) { true } == (false, false))
        #expect(shard.pendingCount == 1, "a marker of the buffered side itself drops nothing")
        #expect(shard.addMarker(Self.key(1), side: .client, nowMs: 0, waitMs: 10_000) { true } == (true, false))
        #expect(shard.pendingCount == 0)
    }

    @Test func keysFromBytes() {
        #expect(Self.key(7, root: true).isRoot)
        #expect(!Self.key(7).isRoot)
        #expect(Self.key(7) == Self.key(7) && Self.key(7) != Self.key(8))
        // An id of another length is hashed, not truncated: it never equals the 8-byte id it starts with.
        var bytes = [UInt8](repeating: 1, count: 16) + [0, 0, 0, 0, 0, 0, 0, 7, 9]
        let long = bytes.withUnsafeMutableBytes {
            EdgeKey(
                trace: ByteRange(offset: 0, count: 16),
                span: ByteRange(offset: 16, count: 9),
                bytes: UnsafeRawBufferPointer($0)
            )
        }
        #expect(long != Self.key(7) && !long.isRoot)
    }

    @Test func theIndexAgreesWithADictionaryUnderRandomInsertsAndRemoves() {
        var index = EdgeIndex()
        var keys: [EdgeKey] = []
        var reference: [EdgeKey: Int] = [:]
        var generator = SystemRandomNumberGenerator()
        for step in 0..<20_000 {
            if reference.isEmpty || Bool.random(using: &generator) {
                let key = Self.key(UInt64.random(in: 0..<5_000, using: &generator))
                guard reference[key] == nil else { continue }
                keys.append(key)
                index.insert(key, slot: keys.count - 1) { keys[$0] }
                reference[key] = keys.count - 1
            } else {
                let (key, slot) = reference.randomElement(using: &generator)!
                index.remove(key, slot: slot) { keys[$0] }
                reference[key] = nil
            }
            if step % 97 == 0 {
                for (key, slot) in reference { #expect(index.find(key) { keys[$0] } == slot) }
                #expect(index.find(Self.key(9_999_999)) { keys[$0] } == nil)
                #expect(index.count == reference.count)
            }
        }
    }
}
