import MetronomeWire

/// A tenant's cumulative series state (every store's label sets and values), so counters continue across restarts
/// instead of resetting (ARCHITECTURE.md, "State and durability").
///
/// Layout: the magic `MTRCKPT1`, a protobuf-encoded body, then the body's CRC-32 (little-endian), so a torn or
/// corrupted file is detected rather than loaded. Body: repeated `Store` (field 1) { name = 1, signature = 2,
/// repeated `Entry` = 3 { repeated column bytes = 1, packed little-endian doubles = 2, last update ms = 3 },
/// overflow doubles = 4 }.
public struct Checkpoint: Equatable {
    static let magic = Array("MTRCKPT1".utf8)

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

    /// The file's bytes.
    func encoded() -> [UInt8] {
        var body = ProtobufWriter()
        for (name, store) in stores.sorted(by: { $0.key < $1.key }) {
            body.writeMessage(1) { writer in
                writer.writeStringField(1, name)
                writer.writeStringField(2, store.signature)
                for entry in store.entries {
                    writer.writeMessage(3) { entryWriter in
                        for column in entry.columns { entryWriter.writeBytesField(1, column) }
                        entryWriter.writeBytesField(2, Self.pack(entry.values))
                        entryWriter.writeVarintField(3, UInt64(bitPattern: entry.lastUpdatedMs))
                    }
                }
                if let overflow = store.overflow { writer.writeBytesField(4, Self.pack(overflow)) }
            }
        }
        var bytes = Self.magic + body.bytes
        withUnsafeBytes(of: CRC32.checksum(body.bytes).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Reads a checkpoint, verifying its magic and checksum.
    init(decoding bytes: [UInt8]) throws(Checkpoint.Error) {
        guard bytes.count >= Self.magic.count + 4, bytes.starts(with: Self.magic) else { throw .notACheckpoint }
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

    init(stores: [String: StoreSnapshot]) {
        self.stores = stores
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
            while let field = try store.nextTag() {
                switch field.fieldNumber {
                case 1: name = string(raw, try store.readBytes(field, in: "Store"))
                case 2: snapshot.signature = string(raw, try store.readBytes(field, in: "Store"))
                case 3:
                    let range = try store.readBytes(field, in: "Store").range
                    snapshot.entries.append(try decodeEntry(ProtobufReader(bytes: raw, range: range), raw))
                case 4: snapshot.overflow = unpack(raw, try store.readBytes(field, in: "Store"))
                default: try store.skip(field.wireType)
                }
            }
            stores[name] = snapshot
        }
        return stores
    }

    private static func decodeEntry(_ reader: ProtobufReader, _ raw: UnsafeRawBufferPointer) throws(WireError)
        -> StoreSnapshot.Entry
    {
        var reader = reader
        var entry = StoreSnapshot.Entry(columns: [], values: [], lastUpdatedMs: 0)
        while let field = try reader.nextTag() {
            switch field.fieldNumber {
            case 1: entry.columns.append(Array(raw[try reader.readBytes(field, in: "Entry").range]))
            case 2: entry.values = unpack(raw, try reader.readBytes(field, in: "Entry"))
            case 3:
                try reader.expect(field, .varint, in: "Entry")
                entry.lastUpdatedMs = Int64(bitPattern: try reader.readVarint())
            default: try reader.skip(field.wireType)
            }
        }
        return entry
    }

    private static func string(_ raw: UnsafeRawBufferPointer, _ range: ByteRange) -> String {
        String(decoding: raw[range.range], as: UTF8.self)
    }

    private static func pack(_ values: [Double]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 8)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return bytes
    }

    private static func unpack(_ raw: UnsafeRawBufferPointer, _ range: ByteRange) -> [Double] {
        stride(from: Int(range.offset), to: Int(range.offset) + Int(range.count) - 7, by: 8).map {
            Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0, as: UInt64.self)))
        }
    }
}
