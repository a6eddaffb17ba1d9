import Foundation
import Logging
import MetronomeWire
import Testing

@testable import MetronomeRemoteWrite

/// A fresh directory per test, removed at the end.
final class TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "metronome-wal-" + UUID().uuidString
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var segmentFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
    }
}

struct WriteAheadLogTests {
    let directory = TemporaryDirectory()
    let reader = WALReader(endpoint: "prom", shard: 0)

    func open(
        readers: [WALReader]? = nil,
        maxBytes: Int = 1 << 30,
        maxAgeMs: Int64 = 3_600_000,
        segmentBytes: Int = 1 << 20,
        recentPayloadBytes: Int = 0,
        syncEachAppend: Bool = true
    ) throws -> WriteAheadLog {
        var limits = WriteAheadLog.Limits()
        limits.maxBytes = maxBytes
        limits.maxAgeMs = maxAgeMs
        limits.segmentBytes = segmentBytes
        limits.recentPayloadBytes = recentPayloadBytes
        limits.syncEachAppend = syncEachAppend
        return try WriteAheadLog(
            directory: directory.path,
            tenant: "t",
            readers: readers ?? [reader],
            limits: limits,
            logger: Logger(label: "test")
        )
    }

    /// A request of 100 incompressible bytes whose first byte is `marker`.
    func request(_ marker: UInt8, shard: Int = 0) -> RemoteWriteEncoder.Request {
        var generator = SplitMix(seed: UInt64(marker))
        let bytes = [marker] + (1..<100).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return RemoteWriteEncoder.Request(bytes: bytes, samples: Int(marker), shard: shard)
    }

    /// Reads every record available to `reader`, advancing past each, and returns their first bytes.
    func drain(_ log: WriteAheadLog, _ reader: WALReader, advance: Bool = true) throws -> [UInt8] {
        var markers: [UInt8] = []
        var seen: Set<WALPosition> = []
        while case .record(let record) = log.next(for: reader), seen.insert(record.next).inserted {
            markers.append(try Snappy.uncompress(log.payload(of: record))[0])
            if advance { log.advance(reader, to: record.next) }
        }
        return markers
    }

    @Test func readsBackWhatWasAppendedInOrder() throws {
        let log = try open()
        try log.append([request(1), request(2)], nowMs: 1000)
        try log.append([request(3)], nowMs: 2000)
        #expect(try drain(log, reader) == [1, 2, 3])
        guard case .caughtUp = log.next(for: reader) else {
            Issue.record("expected the reader to be caught up")
            return
        }
    }

    @Test func positionsChangedInQuickSuccessionReachTheCursorFileWithinTheWriteInterval() async throws {
        let log = try open()
        try log.append((1...5).map { request($0) }, nowMs: 1000)
        for _ in 1...3 {
            guard case .record(let record) = log.next(for: reader) else { throw CancellationError() }
            log.advance(reader, to: record.next)
        }
        guard case .record(let fourth) = log.next(for: reader) else { throw CancellationError() }
        // The log is still open: what a crash would leave is the cursor file as written.
        var stored: WALPosition?
        for _ in 0..<100 where stored != WALPosition(segment: fourth.segment, offset: fourth.offset) {
            try await Task.sleep(for: .milliseconds(50))
            let cursors = try #require(FileManager.default.contents(atPath: directory.path + "/cursors"))
            stored = WALCursorFile.decode(Array(cursors))?[reader]
        }
        #expect(stored == WALPosition(segment: fourth.segment, offset: fourth.offset))
        withExtendedLifetime(log) {}
    }

    @Test func appendsNotSyncedEachAreWrittenBeforeTheyReturnAndSyncedOnRequest() throws {
        let log = try open(segmentBytes: 300, syncEachAppend: false)
        for marker in 1...5 { try log.append([request(UInt8(marker))], nowMs: 1000) }
        log.sync()
        #expect(directory.segmentFiles.count > 1)
        // Another reader of the directory (what a restart after SIGKILL sees) finds every record at once.
        #expect(try drain(open(), reader) == [1, 2, 3, 4, 5])
    }

    @Test func recentPayloadsComeFromMemoryAndEqualWhatIsOnDisk() throws {
        let log = try open(recentPayloadBytes: 250)
        try log.append((1...4).map { request($0) }, nowMs: 1000)
        var records: [WriteAheadLog.Record] = []
        while case .record(let record) = log.next(for: reader) {
            records.append(record)
            log.advance(reader, to: record.next)
        }
        #expect(records.count == 4)
        let fromLog = try records.map { try log.payload(of: $0) }
        let reopened = try open()
        let fromDisk = try records.map { try reopened.payload(of: $0) }
        #expect(fromLog == fromDisk)
        #expect(try fromLog.map { try Snappy.uncompress($0)[0] } == [1, 2, 3, 4])
    }

    @Test func recentPayloadsKeepTheNewestWithinTheirBudget() {
        var recent = WALRecentPayloads(maxBytes: 250)
        for index in 0..<2000 {
            recent.add([UInt8](repeating: UInt8(index % 256), count: 100), at: WALPosition(segment: 1, offset: index))
        }
        #expect(recent.payload(at: WALPosition(segment: 1, offset: 1999))?.first == UInt8(1999 % 256))
        #expect(recent.payload(at: WALPosition(segment: 1, offset: 1998)) != nil)
        #expect(recent.payload(at: WALPosition(segment: 1, offset: 1997)) == nil)
        recent.add([UInt8](repeating: 0, count: 251), at: WALPosition(segment: 2, offset: 0))
        #expect(recent.payload(at: WALPosition(segment: 2, offset: 0)) == nil)
    }

    @Test func unsentRecordsAreReplayedAfterReopeningAndSentOnesAreNot() throws {
        do {
            let log = try open()
            try log.append([request(1), request(2), request(3)], nowMs: 1000)
            guard case .record(let first) = log.next(for: reader) else { throw CancellationError() }
            log.advance(reader, to: first.next)
        }
        let reopened = try open()
        #expect(try drain(reopened, reader) == [2, 3])
        try reopened.append([request(4)], nowMs: 2000)
        #expect(try drain(reopened, reader) == [4])
    }

    @Test func aTornTailIsCutOffAndAppendingContinues() throws {
        do {
            let log = try open()
            try log.append([request(1), request(2)], nowMs: 1000)
        }
        let segment = directory.path + "/" + directory.segmentFiles[0]
        let size = try FileManager.default.attributesOfItem(atPath: segment)[.size] as! Int
        try WALFile.truncate(segment, to: size - 10)
        let log = try open()
        let recoveredSize = try FileManager.default.attributesOfItem(atPath: segment)[.size] as! Int
        #expect(recoveredSize == size - WALRecord.headerSize - Snappy.compress(request(2).bytes).count)
        try log.append([request(3)], nowMs: 2000)
        #expect(try drain(log, reader) == [1, 3])
    }

    @Test func aCorruptedRecordIsCutWithEverythingAfterIt() throws {
        do {
            let log = try open()
            try log.append([request(1), request(2), request(3)], nowMs: 1000)
        }
        let segment = directory.path + "/" + directory.segmentFiles[0]
        var bytes = try WALFile.readAll(segment)
        let second = WALRecord.headerSize + Snappy.compress(request(1).bytes).count
        bytes[second + WALRecord.headerSize + 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let log = try open()
        #expect(try drain(log, reader) == [1])
    }

    @Test func aWholeGarbageSegmentIsRemoved() throws {
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        try Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }).write(
            to: URL(fileURLWithPath: directory.path + "/00000000000000000001.seg")
        )
        let log = try open()
        #expect(directory.segmentFiles.isEmpty)
        try log.append([request(5)], nowMs: 1000)
        #expect(try drain(log, reader) == [5])
    }

    @Test func segmentsEveryReaderPassedAreDeleted() throws {
        let log = try open(segmentBytes: 150)
        for marker in UInt8(1)...6 { try log.append([request(marker)], nowMs: 1000) }
        #expect(directory.segmentFiles.count == 6)
        #expect(try drain(log, reader) == [1, 2, 3, 4, 5, 6])
        #expect(directory.segmentFiles.count == 1, "only the segment still being appended to stays")
    }

    @Test func aDeletedSegmentsFileIsReusedAndWhatItHeldIsNeverReadAgain() throws {
        let crashed = TemporaryDirectory()
        let reused = directory.path + "/00000000000000000003.seg"
        do {
            let log = try open(segmentBytes: 150)
            try log.append([request(1), request(2)], nowMs: 1000)
            try log.append([request(3)], nowMs: 1000)
            #expect(try drain(log, reader) == [1, 2, 3])
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: directory.path).contains { $0.hasSuffix(".spare") }
            )
            try log.append([request(4)], nowMs: 1000)
            #expect(
                try !FileManager.default.contentsOfDirectory(atPath: directory.path).contains { $0.hasSuffix(".spare") }
            )
            #expect(try WALFile.readAll(reused).count > Snappy.compress(request(4).bytes).count + WALRecord.headerSize)
            // A crash now leaves segment 1's second record behind segment 3's only one, in the same file.
            try FileManager.default.copyItem(atPath: directory.path, toPath: crashed.path)
        }
        let recordSize = Snappy.compress(request(4).bytes).count + WALRecord.headerSize
        #expect(try WALFile.readAll(reused).count == recordSize, "closing cuts a reused file to its records")
        var limits = WriteAheadLog.Limits()
        limits.segmentBytes = 150
        let recovered = try WriteAheadLog(
            directory: crashed.path,
            tenant: "t",
            readers: [reader],
            limits: limits,
            logger: Logger(label: "test")
        )
        let markers = try drain(recovered, reader)
        #expect(markers.last == 4)
        #expect(!markers.contains(2), "a record of segment 1 is not read as one of segment 3")
    }

    @Test func recordsOfTheFirstVersionAreStillRead() throws {
        var bytes: [UInt8] = []
        _ = WALRecord.append(
            payload: Snappy.compress(request(7).bytes),
            shard: 0,
            samples: 7,
            appendedAtMs: 1000,
            to: &bytes
        )
        bytes[8] = 1
        let crc = CRC32.checksum(bytes[8...])
        withUnsafeBytes(of: crc.littleEndian) { for index in 0..<4 { bytes[4 + index] = $0[index] } }
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: directory.path + "/00000000000000000001.seg"))
        let log = try open()
        #expect(try drain(log, reader) == [7])
    }

    @Test func theOldestSegmentsGoWhenTheLogIsTooLarge() throws {
        let log = try open(maxBytes: 1000, segmentBytes: 150)
        for marker in UInt8(1)...10 { try log.append([request(marker)], nowMs: 1000) }
        let remaining = try drain(log, reader)
        #expect(remaining.last == 10)
        #expect(remaining.count < 10)
        #expect(remaining == Array(remaining.first!...10), "what remains is the newest, in order")
    }

    @Test func recordsOlderThanMaxAgeAreDropped() throws {
        let log = try open(maxAgeMs: 80_000, segmentBytes: 150)
        try log.append([request(1)], nowMs: 0)
        try log.append([request(2)], nowMs: 50_000)
        try log.append([request(3)], nowMs: 100_000)
        #expect(try drain(log, reader) == [2, 3])
    }

    @Test func shardsReadOnlyTheirRecordsAndAnIdleShardHoldsNothing() throws {
        let readers = [WALReader(endpoint: "prom", shard: 0), WALReader(endpoint: "prom", shard: 1)]
        let log = try open(readers: readers, segmentBytes: 150)
        try log.append([request(1, shard: 0), request(2, shard: 1), request(3, shard: 0)], nowMs: 1000)
        for marker in UInt8(4)...6 { try log.append([request(marker, shard: 0)], nowMs: 1000) }
        #expect(try drain(log, readers[1]) == [2])
        #expect(try drain(log, readers[0]) == [1, 3, 4, 5, 6])
        #expect(directory.segmentFiles.count == 1)
    }

    @Test func eachEndpointHasItsOwnPosition() throws {
        let other = WALReader(endpoint: "mimir", shard: 0)
        let log = try open(readers: [reader, other])
        try log.append([request(1), request(2)], nowMs: 1000)
        #expect(try drain(log, reader) == [1, 2])
        #expect(try drain(log, other) == [1, 2])
    }

    @Test func aNewEndpointStartsAtTheEndAndLostCursorsStartAtTheOldest() throws {
        do {
            let log = try open()
            try log.append([request(1)], nowMs: 1000)
        }
        let newcomer = WALReader(endpoint: "new", shard: 0)
        do {
            let log = try open(readers: [reader, newcomer])
            #expect(try drain(log, newcomer) == [])
            #expect(try drain(log, reader, advance: false) == [1])
        }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: directory.path + "/cursors"))
        let log = try open(readers: [reader, newcomer])
        #expect(try drain(log, newcomer) == [1])
    }

    @Test func waitingReadersWakeOnAppendAndOnFinish() async throws {
        let log = try open()
        guard case .caughtUp(let appends) = log.next(for: reader) else { throw CancellationError() }
        async let woken: Void = log.waitForAppend(after: appends)
        try log.append([request(1)], nowMs: 1000)
        await woken
        #expect(try drain(log, reader) == [1])
        guard case .caughtUp(let later) = log.next(for: reader) else { throw CancellationError() }
        async let finished: Void = log.waitForAppend(after: later)
        log.finishAppending()
        await finished
        #expect(log.next(for: reader) == .finished)
    }
}

/// A seeded generator, so a request's bytes are the same every time it is built.
struct SplitMix: RandomNumberGenerator {
    var seed: UInt64

    mutating func next() -> UInt64 {
        seed &+= 0x9E37_79B9_7F4A_7C15
        return SeriesHash.mix(seed)
    }
}

struct WALCursorFileTests {
    @Test func roundTripsAndRejectsDamage() {
        let positions = [
            WALReader(endpoint: "http://a/api/v1/write", shard: 0): WALPosition(segment: 3, offset: 120),
            WALReader(endpoint: "b", shard: 7): WALPosition(segment: 1 << 40, offset: 0),
        ]
        let bytes = WALCursorFile.encode(positions)
        #expect(WALCursorFile.decode(bytes) == positions)
        var damaged = bytes
        damaged[10] ^= 1
        #expect(WALCursorFile.decode(damaged) == nil)
        #expect(WALCursorFile.decode(Array(bytes.dropLast(3))) == nil)
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var bytewise: UInt32 = 0xFFFF_FFFF
        for byte in long {
            bytewise ^= UInt32(byte)
            for _ in 0..<8 { bytewise = bytewise & 1 == 1 ? 0xEDB8_8320 ^ (bytewise >> 1) : bytewise >> 1 }
        }
        #expect(CRC32.checksum(long) == ~bytewise)
    }
}
