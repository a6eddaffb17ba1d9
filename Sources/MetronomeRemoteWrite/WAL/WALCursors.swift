import Foundation
import MetronomeWire

/// A place in a WAL: a segment and a byte offset in it. A reader's position is where the first record it has not
/// finished starts; a position in a segment that does not exist yet means "from that segment on".
public struct WALPosition: Comparable, Hashable, Sendable {
    public var segment: UInt64
    public var offset: Int

    public init(segment: UInt64, offset: Int) {
        self.segment = segment
        self.offset = offset
    }

    public static func < (lhs: WALPosition, rhs: WALPosition) -> Bool {
        (lhs.segment, lhs.offset) < (rhs.segment, rhs.offset)
    }
}

/// One reader of a tenant's WAL: one send shard of one remote-write endpoint, named by the endpoint's key.
public struct WALReader: Hashable, Sendable, CustomStringConvertible {
    public var endpoint: String
    public var shard: Int

    public init(endpoint: String, shard: Int) {
        self.endpoint = endpoint
        self.shard = shard
    }

    public var description: String { "\(endpoint)#\(shard)" }
}

/// The readers' positions as one small file, replaced atomically (write a temporary file, rename it over).
///
/// Layout (little-endian): `MWC1 | count u32 | count × (key length u16, key, shard u16, segment u64, offset u64) |
/// crc32 u32` of everything before it.
enum WALCursorFile {
    static let magic = Array("MWC1".utf8)

    static func encode(_ positions: [WALReader: WALPosition]) -> [UInt8] {
        var bytes = magic
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        put(UInt32(positions.count))
        for (reader, position) in positions.sorted(by: { $0.key.description < $1.key.description }) {
            let key = Array(reader.endpoint.utf8.prefix(Int(UInt16.max)))
            put(UInt16(key.count))
            bytes += key
            put(UInt16(truncatingIfNeeded: reader.shard))
            put(position.segment)
            put(UInt64(position.offset))
        }
        put(CRC32.checksum(bytes))
        return bytes
    }

    /// The positions, or nil for a torn or corrupted file.
    static func decode(_ bytes: [UInt8]) -> [WALReader: WALPosition]? {
        guard bytes.count >= magic.count + 8, bytes.starts(with: magic) else { return nil }
        return bytes.withUnsafeBytes { raw -> [WALReader: WALPosition]? in
            let bodyEnd = raw.count - 4
            guard
                CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[..<bodyEnd]))
                    == UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: bodyEnd, as: UInt32.self))
            else { return nil }
            var offset = magic.count
            func take<T: FixedWidthInteger>(_ type: T.Type) -> T? {
                guard offset + MemoryLayout<T>.size <= bodyEnd else { return nil }
                defer { offset += MemoryLayout<T>.size }
                return T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
            }
            guard let count = take(UInt32.self) else { return nil }
            var positions: [WALReader: WALPosition] = [:]
            for _ in 0..<count {
                guard let keyLength = take(UInt16.self).map(Int.init), offset + keyLength <= bodyEnd else { return nil }
                let key = String(decoding: raw[offset..<(offset + keyLength)], as: UTF8.self)
                offset += keyLength
                guard let shard = take(UInt16.self), let segment = take(UInt64.self), let position = take(UInt64.self)
                else { return nil }
                positions[WALReader(endpoint: key, shard: Int(shard))] = WALPosition(
                    segment: segment,
                    offset: Int(position)
                )
            }
            return positions
        }
    }

    /// Replaces the file at `path`. Not fsynced: after a machine crash a reader may restart a little behind, which
    /// re-sends requests the endpoint already has, never skips one.
    static func write(_ positions: [WALReader: WALPosition], to path: String) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WALError("create", temporary) }
        let bytes = encode(positions)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let failure = written == bytes.count ? nil : WALError("write", temporary)
        close(fd)
        if let failure { throw failure }
        guard rename(temporary, path) == 0 else { throw WALError("rename", temporary) }
    }
}
