import Foundation
import Logging
import Metrics
import MetronomeSelfMetrics
import MetronomeWire
import Synchronization

/// A durable log of records appended to segment files before anything is sent, and read by readers (each endpoint's
/// send shards) from their own persisted positions: one tenant's remote-write requests (compressed), or a forwarder's
/// queue of OTLP requests.
///
/// A segment is deleted once every reader is past it, or — oldest first, counted and logged — when the log exceeds
/// ``Limits/maxBytes`` or its records are older than ``Limits/maxAgeMs``. Opening the log checks every record's CRC
/// and cuts a torn or corrupted tail off, so a power cut costs at most the records written last, never a crash loop.
///
/// The files of the last ``maxSpareSegments`` deleted segments are kept (`<id>.spare`) and reused for new segments:
/// overwriting pages the kernel still caches costs a fraction of filling a new file's. A reused file is cut to its
/// records' end when its segment is closed; until then (after a crash) what follows them is an earlier segment's,
/// which fails the records' checksums (``WALRecord``) and is cut at the next start like a torn tail.
public final class WriteAheadLog: Sendable {
    /// How large and how old the log may grow.
    public struct Limits: Sendable, Equatable {
        /// The log's size on disk at most (`wal.max_bytes`, default 1 GiB).
        public var maxBytes = 1 << 30
        /// The age of the oldest record kept (`wal.max_age`, default 2 h, Prometheus' head window).
        public var maxAgeMs: Int64 = 2 * 3_600_000
        /// A segment is closed once it holds this much (`wal.segment_size`, default 16 MiB) or an eighth of `maxAgeMs`
        /// has passed since its first record, so whole segments age out close to `maxAgeMs`.
        public var segmentBytes = 16 << 20
        /// The bytes of the payloads appended last that are kept in memory for readers close behind the writer
        /// (``WALRecentPayloads``); 0 (the default) keeps none.
        public var recentPayloadBytes = 0
        /// Whether each append is `fdatasync`ed before it returns, so what was appended survives a power cut. When
        /// false, an append is written to the file before it returns (it survives a crash or SIGKILL of the process)
        /// and made durable by ``sync()``, which the owner calls periodically, and when its segment is closed.
        public var syncEachAppend = true

        public init() {}
    }

    /// A record to append: its bytes, the reader shard it goes to, and how many items (samples, spans) it holds.
    public struct Payload: Sendable {
        public var bytes: [UInt8]
        public var shard: Int
        public var count: Int

        public init(bytes: [UInt8], shard: Int, count: Int) {
            self.bytes = bytes
            self.shard = shard
            self.count = count
        }
    }

    /// The self-metrics a log reports into: by default a tenant's remote-write WAL's (`metronome_wal_*{tenant}`).
    public struct Metrics: Sendable {
        /// Items (samples, spans) appended.
        public var appended: Counter
        public var bytesAppended: Counter
        /// Bytes and segments held.
        public var bytes: Gauge
        public var segments: Gauge
        /// Segments whose damaged tail was cut off at start.
        public var truncations: Counter
        /// Items a reader of `endpoint` had not consumed when their segment was dropped, by `reason` (`max_bytes`,
        /// `max_age`).
        public var dropped: @Sendable (_ endpoint: String, _ reason: String) -> Counter

        public init(
            appended: Counter,
            bytesAppended: Counter,
            bytes: Gauge,
            segments: Gauge,
            truncations: Counter,
            dropped: @escaping @Sendable (String, String) -> Counter
        ) {
            self.appended = appended
            self.bytesAppended = bytesAppended
            self.bytes = bytes
            self.segments = segments
            self.truncations = truncations
            self.dropped = dropped
        }

        /// A tenant's remote-write WAL's.
        public static func remoteWrite(tenant: String) -> Metrics {
            Metrics(
                appended: SelfMetric.walSamplesAppended.counter(tenant),
                bytesAppended: SelfMetric.walBytesAppended.counter(tenant),
                bytes: SelfMetric.walBytes.gauge(tenant),
                segments: SelfMetric.walSegments.gauge(tenant),
                truncations: SelfMetric.walTruncations.counter(tenant),
                dropped: { endpoint, reason in SelfMetric.walSamplesDropped.counter(tenant, endpoint, reason) }
            )
        }
    }

    /// A record found for a reader.
    public struct Record: Sendable, Equatable {
        public var segment: UInt64
        public var offset: Int
        public var payloadSize: Int
        public var samples: Int
        public var appendedAtMs: Int64
        /// Where the reader stands once it is done with this record.
        public var next: WALPosition {
            WALPosition(segment: segment, offset: offset + WALRecord.headerSize + payloadSize)
        }

        init(segment: UInt64, _ entry: WALRecord.Entry) {
            self.segment = segment
            offset = entry.offset
            payloadSize = entry.payloadSize
            samples = entry.samples
            appendedAtMs = entry.appendedAtMs
        }
    }

    /// What a reader finds at its position.
    public enum Lookup: Sendable, Equatable {
        /// The next record of the reader's shard.
        case record(Record)
        /// Nothing yet; `appends` identifies the log's state, for ``waitForAppend(after:)``.
        case caughtUp(appends: UInt64)
        /// Nothing, and no more appends will come (shutdown).
        case finished
    }

    private struct Segment {
        var id: UInt64
        var entries: [WALRecord.Entry] = []
        var bytes = 0
    }

    private struct State {
        var segments: [Segment] = []
        /// The segment appends go to; never deleted.
        var activeSegment: UInt64
        var positions: [WALReader: WALPosition] = [:]
        var positionsVersion = 0
        var appends: UInt64 = 0
        var appendingFinished = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Segments dropped, and the items (samples, spans) in them some reader had not consumed, since the last log line
    /// about it: a log over its limit drops a segment per few hundred milliseconds, which must not be a line each.
    private struct DropReport {
        var loggedAtMs: Int64?
        var segments = 0
        var unsent = 0
    }

    private static let dropLogIntervalMs: Int64 = 10_000

    /// How many deleted segments' files are kept for reuse.
    static let maxSpareSegments = 2

    /// What the cursor file holds: the positions version last written, when, and whether a later write is scheduled.
    private struct PositionsFile {
        var writtenVersion = 0
        var writtenAt: ContinuousClock.Instant?
        var laterWriteScheduled = false
    }

    /// The cursor file is rewritten at most this often: a reader that advances after every record (a forwarder
    /// keeping up) would otherwise replace a file per request. A change in between is written this long after the
    /// last write, or when the log is released; a crash meanwhile re-sends at most this much, never skips.
    private static let positionsWriteInterval = Duration.milliseconds(100)

    private struct Writer {
        var fd: Int32 = -1
        var bytes = 0
        var firstAppendMs: Int64?
    }

    public let directory: String
    public let tenant: String
    private let shards: Int
    private let limits: Limits
    private let logger: Logger
    private let state: Mutex<State>
    private let writer = Mutex(Writer())
    private let positionsFile = Mutex(PositionsFile())
    private let recent: Mutex<WALRecentPayloads>
    private let dropReport = Mutex(DropReport())
    /// The paths of deleted segments' files kept for reuse.
    private let spares: Mutex<[String]>
    private let metrics: Metrics

    /// Opens (creating) the log in `directory`, recovering what is on disk.
    ///
    /// A reader with a stored position continues from it; a reader new to an existing log starts at its end (a new
    /// endpoint does not get hours of history); when the cursor file is missing or damaged every reader starts at the
    /// oldest record, so nothing is skipped.
    public init(
        directory: String,
        tenant: String,
        readers: [WALReader],
        limits: Limits,
        metrics: Metrics? = nil,
        logger: Logger
    ) throws {
        self.directory = directory
        self.tenant = tenant
        let metrics = metrics ?? .remoteWrite(tenant: tenant)
        self.metrics = metrics
        self.shards = (readers.map(\.shard).max() ?? 0) + 1
        self.limits = limits
        recent = Mutex(WALRecentPayloads(maxBytes: limits.recentPayloadBytes))
        var logger = logger
        logger[metadataKey: "tenant"] = "\(tenant)"
        self.logger = logger
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

        let segments = try Self.recoverSegments(in: directory, truncations: metrics.truncations, logger: logger)
        spares = Mutex(try Self.recoverSpares(in: directory))
        let nextSegment = (segments.last?.id ?? 0) + 1
        let oldest = WALPosition(segment: segments.first?.id ?? nextSegment, offset: 0)
        let cursorPath = directory + "/cursors"
        let stored = FileManager.default.contents(atPath: cursorPath).map { WALCursorFile.decode(Array($0)) }
        if case .some(.none) = stored {
            logger.warning("WAL cursor file is damaged; every endpoint re-sends from the oldest record")
        }
        var positions: [WALReader: WALPosition] = [:]
        for reader in readers {
            switch stored {
            case .some(.some(let known)):
                positions[reader] = known[reader] ?? WALPosition(segment: nextSegment, offset: 0)
            default: positions[reader] = oldest
            }
        }
        state = Mutex(State(segments: segments, activeSegment: nextSegment, positions: positions))
        let pending = segments.reduce(0) { $0 + $1.entries.count }
        if pending > 0 {
            logger.info(
                "WAL recovered",
                metadata: ["segments": "\(segments.count)", "records": "\(pending)", "directory": "\(directory)"]
            )
        }
        removeConsumedSegments()
        persistPositions()
    }

    private static func segmentPath(_ directory: String, _ id: UInt64) -> String {
        let digits = String(id)
        return directory + "/" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".seg"
    }

    private func segmentPath(_ id: UInt64) -> String { Self.segmentPath(directory, id) }

    /// The spare files left by an earlier run, up to ``maxSpareSegments``; the others are deleted.
    private static func recoverSpares(in directory: String) throws -> [String] {
        let paths = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".spare") }
            .sorted()
            .map { directory + "/" + $0 }
        for extra in paths.dropFirst(maxSpareSegments) { unlink(extra) }
        return Array(paths.prefix(maxSpareSegments))
    }

    /// Reads every segment, checking each record; a damaged record and everything after it in its segment is cut.
    private static func recoverSegments(in directory: String, truncations: Counter, logger: Logger) throws
        -> [Segment]
    {
        let ids = try FileManager.default.contentsOfDirectory(atPath: directory)
            .compactMap { name in name.hasSuffix(".seg") ? UInt64(name.dropLast(4)) : nil }
            .sorted()
        var segments: [Segment] = []
        for id in ids {
            let path = segmentPath(directory, id)
            let bytes = try WALFile.readAll(path)
            var segment = Segment(id: id)
            var damage: WALRecord.Damage?
            bytes.withUnsafeBytes { raw in
                while segment.bytes < raw.count {
                    switch WALRecord.parse(raw, at: segment.bytes, segment: id) {
                    case .success(let entry):
                        segment.entries.append(entry)
                        segment.bytes = entry.end
                    case .failure(let found):
                        damage = found
                        return
                    }
                }
            }
            if let damage {
                truncations.increment()
                logger.warning(
                    "WAL segment has a \(damage == .torn ? "torn" : "corrupted") tail; cutting it off",
                    metadata: [
                        "segment": "\(path)", "kept_bytes": "\(segment.bytes)",
                        "cut_bytes": "\(bytes.count - segment.bytes)",
                    ]
                )
                try WALFile.truncate(path, to: segment.bytes)
            }
            if segment.entries.isEmpty {
                unlink(path)
            } else {
                segments.append(segment)
            }
        }
        return segments
    }

    // MARK: Appending

    /// Compresses remote-write `requests` and appends them as records.
    public func append(_ requests: [RemoteWriteEncoder.Request], nowMs: Int64) throws(WALError) {
        try append(
            requests.map { Payload(bytes: Snappy.compress($0.bytes), shard: $0.shard, count: $0.samples) },
            nowMs: nowMs
        )
    }

    /// Appends `payloads` as records with one write (then `fdatasync`, with ``Limits/syncEachAppend``), then wakes
    /// the readers.
    public func append(_ payloads: [Payload], nowMs: Int64) throws(WALError) {
        guard !payloads.isEmpty else { return }
        var bytes: [UInt8] = []
        var entries: [WALRecord.Entry] = []
        for payload in payloads {
            entries.append(
                WALRecord.append(
                    payload: payload.bytes,
                    shard: payload.shard,
                    samples: payload.count,
                    appendedAtMs: nowMs,
                    to: &bytes
                )
            )
        }
        let waiters = try writer.withLock {
            (writer: inout Writer) throws(WALError) -> [CheckedContinuation<Void, Never>] in
            if writer.fd >= 0, writer.bytes + bytes.count > limits.segmentBytes || segmentAged(writer, nowMs: nowMs) {
                closeSegment(&writer)
            }
            let active = state.withLock { $0.activeSegment }
            if writer.fd < 0 {
                writer.fd = try openSegmentFile(active)
                state.withLock { $0.segments.append(Segment(id: active)) }
            }
            WALRecord.assign(entries, to: active, in: &bytes)
            let (fd, offset, path) = (writer.fd, writer.bytes, segmentPath(active))
            let write = { [bytes, sync = limits.syncEachAppend] () throws(WALError) in
                try WALFile.write(bytes, fd: fd, at: offset, path: path, sync: sync)
            }
            var failure: WALError?
            do throws(WALError) { try write() } catch { failure = error }
            if failure != nil, removeSpareFiles() {
                // Spare files may be what fills the disk: with their space back, once more.
                failure = nil
                do throws(WALError) { try write() } catch { failure = error }
            }
            if let failure {
                // A full disk gets space back only as segments are deleted, and the active one never is: close it,
                // so it goes once it is read, and the log takes appends again.
                if writer.bytes > 0 { closeSegment(&writer) }
                throw failure
            }
            let base = writer.bytes
            writer.bytes += bytes.count
            if limits.recentPayloadBytes > 0 {
                recent.withLock { recent in
                    for (payload, entry) in zip(payloads, entries) {
                        recent.add(payload.bytes, at: WALPosition(segment: active, offset: base + entry.offset))
                    }
                }
            }
            writer.firstAppendMs = writer.firstAppendMs ?? nowMs
            return state.withLock { state in
                let last = state.segments.count - 1
                state.segments[last].entries += entries.map { entry in
                    var entry = entry
                    entry.offset += base
                    return entry
                }
                state.segments[last].bytes = writer.bytes
                state.appends += 1
                defer { state.waiters = [] }
                return state.waiters
            }
        }
        for waiter in waiters { waiter.resume() }
        metrics.appended.increment(by: payloads.reduce(0) { $0 + $1.count })
        metrics.bytesAppended.increment(by: bytes.count)
        enforceLimits(nowMs: nowMs)
    }

    /// Opens the file of new segment `id`: a spare one renamed, or else a new one.
    private func openSegmentFile(_ id: UInt64) throws(WALError) -> Int32 {
        let path = segmentPath(id)
        if let spare = spares.withLock({ $0.popLast() }), rename(spare, path) != 0 {
            unlink(spare)
        }
        let fd = try WALFile.openForWriting(path)
        WALFile.syncDirectory(directory)
        return fd
    }

    /// Deletes segment `id`'s file, or keeps it as a spare for a later segment.
    private func retireSegmentFile(_ id: UInt64) {
        let path = segmentPath(id)
        let spare = String(path.dropLast(4)) + ".spare"
        let kept = spares.withLock { spares in
            guard spares.count < Self.maxSpareSegments, rename(path, spare) == 0 else { return false }
            spares.append(spare)
            return true
        }
        if !kept { unlink(path) }
    }

    /// Deletes the spare files; returns whether there were any.
    private func removeSpareFiles() -> Bool {
        let removed = spares.withLock { spares in
            defer { spares = [] }
            return spares
        }
        for spare in removed { unlink(spare) }
        return !removed.isEmpty
    }

    private func segmentAged(_ writer: Writer, nowMs: Int64) -> Bool {
        guard let first = writer.firstAppendMs else { return false }
        return nowMs - first > limits.maxAgeMs / 8
    }

    /// Drops the oldest segments while the log is over `maxBytes` or their newest record is older than `maxAgeMs`,
    /// counting for each endpoint the samples it had not been sent.
    private func enforceLimits(nowMs: Int64) {
        var dropped: [(segment: UInt64, reason: String, unsent: [String: Int])] = []
        state.withLock { state in
            var total = state.segments.reduce(0) { $0 + $1.bytes }
            while let oldest = state.segments.first, oldest.id != state.activeSegment {
                let reason: String
                if total > limits.maxBytes {
                    reason = "max_bytes"
                } else if let newest = oldest.entries.last, newest.appendedAtMs < nowMs - limits.maxAgeMs {
                    reason = "max_age"
                } else {
                    break
                }
                state.segments.removeFirst()
                total -= oldest.bytes
                dropped.append((oldest.id, reason, unsentSamples(in: oldest, positions: state.positions)))
            }
        }
        for (segment, reason, unsent) in dropped {
            retireSegmentFile(segment)
            for (endpoint, items) in unsent where items > 0 {
                metrics.dropped(endpoint, reason).increment(by: items)
            }
            let report = dropReport.withLock { report -> DropReport? in
                report.segments += 1
                report.unsent += unsent.values.reduce(0, +)
                if let last = report.loggedAtMs, nowMs - last < Self.dropLogIntervalMs { return nil }
                defer { report = DropReport(loggedAtMs: nowMs) }
                return report
            }
            if let report {
                logger.error(
                    "WAL over its \(reason == "max_bytes" ? "size" : "age") limit; dropped its oldest segments (one line every 10 s)",
                    metadata: [
                        "reason": "\(reason)", "max_bytes": "\(limits.maxBytes)", "max_age_ms": "\(limits.maxAgeMs)",
                        "segments": "\(report.segments)", "unsent": "\(report.unsent)",
                    ]
                )
            }
        }
        recordSize()
    }

    /// Per endpoint, the samples of `segment`'s records that its reader of their shard had not passed.
    private func unsentSamples(in segment: Segment, positions: [WALReader: WALPosition]) -> [String: Int] {
        var unsent: [String: Int] = [:]
        for (reader, position) in positions {
            let samples = segment.entries.lazy
                .filter { $0.shard % self.shards == reader.shard }
                .filter { WALPosition(segment: segment.id, offset: $0.offset) >= position }
                .reduce(0) { $0 + $1.samples }
            unsent[reader.endpoint, default: 0] += samples
        }
        return unsent
    }

    // MARK: Reading

    /// The first record of `reader`'s shard at or after its position. When there is none, the reader's position
    /// moves to the end of the log, so a shard that gets no series never holds segments on disk.
    public func next(for reader: WALReader) -> Lookup {
        let (lookup, moved) = state.withLock { state -> (Lookup, Bool) in
            let position = state.positions[reader] ?? WALPosition(segment: 0, offset: 0)
            for segment in state.segments where segment.id >= position.segment {
                let start = segment.id == position.segment ? position.offset : 0
                var index = segment.entries.partitioningIndex { $0.offset >= start }
                while index < segment.entries.count {
                    let entry = segment.entries[index]
                    if entry.shard % shards == reader.shard {
                        return (.record(Record(segment: segment.id, entry)), false)
                    }
                    index += 1
                }
            }
            let end = state.segments.last.map { WALPosition(segment: $0.id, offset: $0.bytes) }
            var moved = false
            if let end, end > position {
                state.positions[reader] = end
                state.positionsVersion += 1
                moved = true
            }
            return (state.appendingFinished ? .finished : .caughtUp(appends: state.appends), moved)
        }
        if moved {
            removeConsumedSegments()
            persistPositions()
        }
        return lookup
    }

    /// The records of `reader`'s shard that follow `record`, in order, while their payloads total at most `maxBytes`
    /// (a reader that sends several records at once); the reader's position does not move.
    public func records(after record: Record, for reader: WALReader, upTo maxBytes: Int) -> [Record] {
        state.withLock { state in
            var found: [Record] = []
            var bytes = 0
            for segment in state.segments where segment.id >= record.segment {
                let start = segment.id == record.segment ? record.next.offset : 0
                var index = segment.entries.partitioningIndex { $0.offset >= start }
                while index < segment.entries.count {
                    let entry = segment.entries[index]
                    index += 1
                    guard entry.shard % shards == reader.shard else { continue }
                    guard bytes + entry.payloadSize <= maxBytes else { return found }
                    bytes += entry.payloadSize
                    found.append(Record(segment: segment.id, entry))
                }
            }
            return found
        }
    }

    /// The record's payload (for remote write, a snappy-compressed `WriteRequest`): from memory when it is one of the
    /// recent payloads kept, else read back with its checksum verified again.
    public func payload(of record: Record) throws(WALError) -> [UInt8] {
        if limits.recentPayloadBytes > 0,
            let kept = recent.withLock({ $0.payload(at: WALPosition(segment: record.segment, offset: record.offset)) })
        {
            return kept
        }
        let path = segmentPath(record.segment)
        let bytes = try WALFile.read(path, offset: record.offset, count: WALRecord.headerSize + record.payloadSize)
        let valid = bytes.withUnsafeBytes { raw in
            if case .success = WALRecord.parse(raw, at: 0, segment: record.segment) { return true }
            return false
        }
        guard valid else { throw WALError("checksum mismatch in", path, code: EIO) }
        return Array(bytes[WALRecord.headerSize...])
    }

    /// Records that `reader` is done with everything before `position`, deletes segments every reader has passed,
    /// and persists the positions.
    public func advance(_ reader: WALReader, to position: WALPosition) {
        state.withLock { state in
            state.positions[reader] = max(position, state.positions[reader] ?? position)
            state.positionsVersion += 1
        }
        removeConsumedSegments()
        persistPositions()
    }

    /// What the log holds now: bytes, records, and when its oldest record was appended.
    public var held: (bytes: Int, records: Int, oldestAppendedAtMs: Int64?) {
        state.withLock { state in
            (
                state.segments.reduce(0) { $0 + $1.bytes }, state.segments.reduce(0) { $0 + $1.entries.count },
                state.segments.first?.entries.first?.appendedAtMs
            )
        }
    }

    /// The bytes of records some reader has not passed yet (those after the slowest reader's position): what is
    /// still to be sent, unlike ``held``, which counts segments until every reader is past them.
    public var unreadBytes: Int {
        state.withLock { state in
            guard let slowest = state.positions.values.min() else { return 0 }
            return state.segments.reduce(0) { total, segment in
                if segment.id > slowest.segment { return total + segment.bytes }
                if segment.id == slowest.segment { return total + max(0, segment.bytes - slowest.offset) }
                return total
            }
        }
    }

    /// Waits until something is appended after the state `appends` identified, or appending has finished.
    public func waitForAppend(after appends: UInt64) async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state in
                guard state.appends == appends && !state.appendingFinished else { return true }
                state.waiters.append(waiter)
                return false
            }
            if resumeNow { waiter.resume() }
        }
    }

    /// Tells readers that nothing more will be appended in this run: once caught up they see ``Lookup/finished``.
    public func finishAppending() {
        let waiters = state.withLock { state in
            state.appendingFinished = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Closes the segment being appended to; a later append opens a new one.
    public func closeActiveSegment() {
        writer.withLock { writer in
            if writer.fd >= 0 { closeSegment(&writer) }
        }
    }

    /// Closes `writer`'s segment (cut to its records, which a reused file may outlast, and made durable first when
    /// appends are not) and moves appends to the next one.
    private func closeSegment(_ writer: inout Writer) {
        _ = ftruncate(writer.fd, off_t(writer.bytes))
        if !limits.syncEachAppend { _ = fdatasync(writer.fd) }
        close(writer.fd)
        writer = Writer()
        state.withLock { $0.activeSegment += 1 }
    }

    /// Makes what was appended so far durable (`fdatasync`), without holding appends up meanwhile, when appends are
    /// not synced each (``Limits/syncEachAppend`` false); otherwise there is nothing to do.
    public func sync() {
        guard !limits.syncEachAppend else { return }
        let fd = writer.withLock { $0.fd >= 0 ? dup($0.fd) : -1 }
        guard fd >= 0 else { return }
        if fdatasync(fd) != 0 {
            logger.error("could not sync the WAL", metadata: ["error": "\(String(cString: strerror(errno)))"])
        }
        close(fd)
    }

    deinit {
        closeActiveSegment()
        persistPositions(now: true)
    }

    // MARK: Bookkeeping

    private func removeConsumedSegments() {
        let consumed = state.withLock { state -> [UInt64] in
            guard let slowest = state.positions.values.min() else { return [] }
            var consumed: [UInt64] = []
            while let oldest = state.segments.first, oldest.id != state.activeSegment,
                slowest > WALPosition(segment: oldest.id, offset: oldest.bytes - 1)
            {
                consumed.append(oldest.id)
                state.segments.removeFirst()
            }
            return consumed
        }
        for segment in consumed { retireSegmentFile(segment) }
        if !consumed.isEmpty { recordSize() }
    }

    /// Writes the positions to the cursor file if they changed: now, or when ``positionsWriteInterval`` has passed
    /// since the last write (scheduling a write for then if it has not).
    private func persistPositions(now: Bool = false) {
        let (positions, version) = state.withLock { ($0.positions, $0.positionsVersion) }
        let wait = positionsFile.withLock { file -> Duration? in
            guard version > file.writtenVersion || version == 0 else { return nil }
            let clock = ContinuousClock.now
            if !now, let last = file.writtenAt, clock - last < Self.positionsWriteInterval {
                if file.laterWriteScheduled { return nil }
                file.laterWriteScheduled = true
                return Self.positionsWriteInterval - (clock - last)
            }
            do {
                try WALCursorFile.write(positions, to: directory + "/cursors")
                file.writtenVersion = version
                file.writtenAt = clock
            } catch {
                logger.error("could not write WAL cursors", metadata: ["error": "\(error)"])
            }
            return nil
        }
        guard let wait else { return }
        // On a Dispatch thread rather than the tasks' pool, which long synchronous work may hold.
        let nanoseconds = Int(wait / .nanoseconds(1))
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
            [weak self] in
            self?.positionsFile.withLock { $0.laterWriteScheduled = false }
            self?.persistPositions(now: true)
        }
    }

    private func recordSize() {
        let (bytes, segments) = state.withLock { state in
            (state.segments.reduce(0) { $0 + $1.bytes }, state.segments.count)
        }
        metrics.bytes.record(bytes)
        metrics.segments.record(segments)
    }
}

extension Array {
    /// The index of the first element for which `belongs` is true, given that it is false for a prefix and true for
    /// the rest (binary search).
    func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
