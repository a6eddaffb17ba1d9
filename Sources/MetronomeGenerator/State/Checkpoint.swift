import MetronomeWire

/// A tenant's cumulative series state (every store's label sets and values), so counters continue across restarts
/// instead of resetting (ARCHITECTURE.md, "State and durability").
///
/// Layout: the magic `MTRCKPT2`, a protobuf-encoded body, then the body's CRC-32 (little-endian), so a torn or
/// corrupted file is detected rather than loaded. Body: repeated `Store` (field 1) { name = 1, signature = 2,
/// repeated `Entry` = 3 { repeated column bytes = 1, packed little-endian doubles = 2, last update ms = 3, repeated
/// native histograms = 4 }, overflow doubles = 4, repeated overflow native histograms = 5 } (native histograms as
/// `NativeHistogram-checkpoint.swift` writes them). A store's entries may be split over several `Store` messages of the same name (one per
/// registry shard: see ``encode(_:emit:)``); they are merged when read.
///
/// `MTRCKPT1` files (one message per store) are read the same way; the magic changed so that an older Metronome,
/// which would keep only the last part of a split store, refuses a new file instead of half-restoring it.
public struct Checkpoint: Equatable {
    static let magic = Array("MTRCKPT2".utf8)
    static let magics = [Array("MTRCKPT1".utf8), magic]

    var stores: [String: StoreSnapshot]

    /// Why a checkpoint could not be read.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case notACheckpoint
        case checksumMismatch
        case malformed(String)

        public var description: String {
            switch self {
            case .notACheckpoint: "not a Metronome checkpoint (bad magic)"
            case .checksumMismatch: "checksum mismatch: the file is torn or corrupted"
            case .malformed(let reason): "malformed checkpoint: \(reason)"
            }
        }
    }

    /// Encodes the named stores as a checkpoint, handing its bytes to `emit` in order, one shard's `Store` message
    /// at a time: the magic, the messages, then the checksum.
    static func encode(_ stores: [(name: String, store: SeriesStore)], emit: ([UInt8]) throws -> Void) rethrows {
        try emit(magic)
        var crc: UInt32 = 0
        for (name, store) in stores.sorted(by: { $0.name < $1.name }) {
            for shard in 0..<SeriesStore.shardCount {
                var writer = ProtobufWriter()
                store.encodeCheckpoint(shard: shard, name: name, into: &writer)
                crc = writer.bytes.withUnsafeBytes { CRC32.update(crc, $0) }
                try emit(writer.bytes)
            }
        }
        try emit(withUnsafeBytes(of: crc.littleEndian) { Array($0) })
    }

    /// Writes `values` as one length-delimited field of little-endian doubles.
    static func writePacked(_ values: some Collection<Double>, field: UInt32, to writer: inout ProtobufWriter) {
        writer.writeTag(field, .lengthDelimited)
        writer.writeVarint(UInt64(values.count * 8))
        for value in values { writer.writeFixed64(value.bitPattern) }
    }

    /// Reads a checkpoint, verifying its magic and checksum.
    init(decoding bytes: [UInt8]) throws(Checkpoint.Error) {
        guard bytes.count >= Self.magic.count + 4, Self.magics.contains(where: { bytes.starts(with: $0) }) else {
            throw .notACheckpoint
        }
        let body = Array(bytes[Self.magic.count..<(bytes.count - 4)])
        let stored = bytes[(bytes.count - 4)...].enumerated().reduce(UInt32(0)) {
            $0 | UInt32($1.element) << (8 * UInt32($1.offset))
        }
        guard CRC32.checksum(body) == stored else { throw .checksumMismatch }
        let decoded: Result<[String: StoreSnapshot], WireError> = body.withUnsafeBytes { raw in
            do throws(WireError) { return .success(try Self.decodeStores(raw)) } catch { return .failure(error) }
        }
        switch decoded {
        case .success(let stores): self.stores = stores
        case .failure(let error): throw .malformed("\(error)")
        }
    }

    private static func decodeStores(_ raw: UnsafeRawBufferPointer) throws(WireError) -> [String: StoreSnapshot] {
        var stores: [String: StoreSnapshot] = [:]
        var reader = ProtobufReader(bytes: raw)
        while let tag = try reader.nextTag() {
            guard tag.fieldNumber == 1 else {
                try reader.skip(tag.wireType)
                continue
            }
            var store = ProtobufReader(bytes: raw, range: try reader.readBytes(tag, in: "Checkpoint").range)
            var name = ""
            var snapshot = StoreSnapshot(signature: "", entries: [], overflow: nil)
            var overflowNatives: [NativeHistogram?] = []
            while let field = try store.nextTag() {
                switch field.fieldNumber {
                case 1: name = string(raw, try store.readBytes(field, in: "Store"))
                case 2: snapshot.signature = string(raw, try store.readBytes(field, in: "Store"))
                case 3:
                    let range = try store.readBytes(field, in: "Store").range
                    snapshot.entries.append(try decodeEntry(ProtobufReader(bytes: raw, range: range), raw))
                case 4: snapshot.overflow = unpack(raw, try store.readBytes(field, in: "Store"))
                case 5:
                    let range = try store.readBytes(field, in: "Store")
                    overflowNatives.append(try NativeHistogram.decodeCheckpoint(raw, range))
                default: try store.skip(field.wireType)
                }
            }
            snapshot.overflowNatives = overflowNatives.contains(nil) ? [] : overflowNatives.compactMap { $0 }
            if var earlier = stores[name], earlier.signature == snapshot.signature {
                earlier.entries += snapshot.entries
                if snapshot.overflow != nil {
                    earlier.overflow = snapshot.overflow
                    earlier.overflowNatives = snapshot.overflowNatives
                }
                stores[name] = earlier
            } else {
                stores[name] = snapshot
            }
        }
        return stores
    }

    private static func decodeEntry(_ reader: ProtobufReader, _ raw: UnsafeRawBufferPointer) throws(WireError)
        -> StoreSnapshot.Entry
    {
        var reader = reader
        var entry = StoreSnapshot.Entry(columns: [], values: [], lastUpdatedMs: 0)
        var natives: [NativeHistogram?] = []
        while let field = try reader.nextTag() {
            switch field.fieldNumber {
            case 1: entry.columns.append(Array(raw[try reader.readBytes(field, in: "Entry").range]))
            case 2: entry.values = unpack(raw, try reader.readBytes(field, in: "Entry"))
            case 3:
                try reader.expect(field, .varint, in: "Entry")
                entry.lastUpdatedMs = Int64(bitPattern: try reader.readVarint())
            case 4: natives.append(try NativeHistogram.decodeCheckpoint(raw, try reader.readBytes(field, in: "Entry")))
            default: try reader.skip(field.wireType)
            }
        }
        entry.natives = natives.compactMap { $0 }
        // An entry with a histogram that is none is not restored.
        entry.isDamaged = entry.natives.count != natives.count
        return entry
    }

    private static func string(_ raw: UnsafeRawBufferPointer, _ range: ByteRange) -> String {
        String(decoding: raw[range.range], as: UTF8.self)
    }

    private static func unpack(_ raw: UnsafeRawBufferPointer, _ range: ByteRange) -> [Double] {
        stride(from: Int(range.offset), to: Int(range.offset) + Int(range.count) - 7, by: 8).map {
            Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0, as: UInt64.self)))
        }
    }
}
