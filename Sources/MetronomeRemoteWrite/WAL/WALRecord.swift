import MetronomeWire

/// The on-disk layout of one WAL record: one compressed remote-write request of one send shard.
///
/// Little-endian: `payload length u32 | check u32 | version u8 (2) | shard u8 | reserved u16 | samples u32 |
/// appended-at ms i64 | payload`. The check is the CRC-32 of everything after itself, so a torn write or a flipped bit
/// anywhere in the record is detected, XORed (from version 2) with the low 32 bits of the segment's id: segment files
/// are reused (``WriteAheadLog``), and a record an earlier segment left in the file must not read as one of this
/// segment's. Version 1 records (no XOR) are still read.
enum WALRecord {
    static let headerSize = 24
    static let version: UInt8 = 2
    /// A length beyond this is corruption, not a record (a request is a few MiB at most).
    static let maxPayloadSize = 256 << 20

    /// What a record's header says; `offset` is where the record starts in its segment.
    struct Entry: Equatable {
        var offset: Int
        var payloadSize: Int
        var shard: Int
        var samples: Int
        var appendedAtMs: Int64

        /// Where the next record starts.
        var end: Int { offset + WALRecord.headerSize + payloadSize }
    }

    /// Appends one record holding `payload` to `bytes`, to be placed in a segment with ``assign(_:to:in:)``.
    /// - Returns: the record's entry, its offset being where it starts in `bytes`.
    static func append(
        payload: [UInt8],
        shard: Int,
        samples: Int,
        appendedAtMs: Int64,
        to bytes: inout [UInt8]
    ) -> Entry {
        let start = bytes.count
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        put(UInt32(payload.count))
        put(UInt32(0))
        bytes.append(version)
        bytes.append(UInt8(truncatingIfNeeded: shard))
        put(UInt16(0))
        put(UInt32(truncatingIfNeeded: samples))
        put(appendedAtMs)
        bytes.append(contentsOf: payload)
        let crc = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + 8)...])) }
        withUnsafeBytes(of: crc.littleEndian) { crcBytes in
            for index in 0..<4 { bytes[start + 4 + index] = crcBytes[index] }
        }
        return Entry(
            offset: start,
            payloadSize: payload.count,
            shard: shard,
            samples: samples,
            appendedAtMs: appendedAtMs
        )
    }

    /// Binds the records of `entries` in `bytes` (as ``append(payload:shard:samples:appendedAtMs:to:)`` wrote them) to
    /// `segment`, the one they are written to.
    static func assign(_ entries: [Entry], to segment: UInt64, in bytes: inout [UInt8]) {
        let tag = segmentTag(segment)
        bytes.withUnsafeMutableBytes { raw in
            for entry in entries {
                let check = raw.loadUnaligned(fromByteOffset: entry.offset + 4, as: UInt32.self)
                raw.storeBytes(of: check ^ tag.littleEndian, toByteOffset: entry.offset + 4, as: UInt32.self)
            }
        }
    }

    private static func segmentTag(_ segment: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: segment) }

    /// Why a record could not be read.
    enum Damage: Error, Equatable {
        /// The segment ends inside the record (a write cut short).
        case torn
        /// The header is impossible or the checksum does not match.
        case corrupt
    }

    /// Reads and checks the record starting at `offset` of the bytes of segment `segment`.
    static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int, segment: UInt64) -> Result<Entry, Damage> {
        guard bytes.count - offset >= headerSize else { return .failure(.torn) }
        func load<T: FixedWidthInteger>(_ position: Int, as type: T.Type) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + position, as: T.self))
        }
        let payloadSize = Int(load(0, as: UInt32.self))
        let recordVersion = bytes[offset + 8]
        guard payloadSize <= maxPayloadSize, recordVersion == 1 || recordVersion == version else {
            return .failure(.corrupt)
        }
        guard bytes.count - offset - headerSize >= payloadSize else { return .failure(.torn) }
        let covered = UnsafeRawBufferPointer(rebasing: bytes[(offset + 8)..<(offset + headerSize + payloadSize)])
        let tag = recordVersion == 1 ? 0 : segmentTag(segment)
        guard CRC32.checksum(covered) ^ tag == load(4, as: UInt32.self) else { return .failure(.corrupt) }
        return .success(
            Entry(
                offset: offset,
                payloadSize: payloadSize,
                shard: Int(bytes[offset + 9]),
                samples: Int(load(12, as: UInt32.self)),
                appendedAtMs: load(16, as: Int64.self)
            )
        )
    }
}
