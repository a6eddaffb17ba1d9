/// Appends protobuf wire-format fields to a growable byte buffer.
///
/// Callers that know sizes up front (the remote-write encoder) write length prefixes directly with
/// ``writeVarint(_:)``; callers that do not (the OTLP/JSON transcoder) use ``writeMessage(_:_:)``, which writes the
/// body first and moves it behind its prefix.
public struct ProtobufWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Removes everything written, keeping the capacity for reuse.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
    }

    @inlinable
    public mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    @inlinable
    public mutating func writeTag(_ field: UInt32, _ wireType: ProtobufReader.WireType) {
        writeVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    @inlinable
    public mutating func writeVarintField(_ field: UInt32, _ value: UInt64) {
        writeTag(field, .varint)
        writeVarint(value)
    }

    @inlinable
    public mutating func writeFixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable
    public mutating func writeFixed32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable
    public mutating func writeDoubleField(_ field: UInt32, _ value: Double) {
        writeTag(field, .fixed64)
        writeFixed64(value.bitPattern)
    }

    @inlinable
    public mutating func writeBytesField(_ field: UInt32, _ value: some Collection<UInt8>) {
        writeTag(field, .lengthDelimited)
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    @inlinable
    public mutating func writeStringField(_ field: UInt32, _ value: String) {
        writeBytesField(field, value.utf8)
    }

    /// Writes a nested message whose size is not known in advance.
    public mutating func writeMessage(_ field: UInt32, _ body: (inout ProtobufWriter) throws -> Void) rethrows {
        let start = beginMessage(field)
        try body(&self)
        endMessage(start)
    }

    /// Starts a nested message whose size is not known in advance: writes its tag and one byte for its length.
    /// - Returns: the position to pass to ``endMessage(_:)`` once the message's fields are written.
    public mutating func beginMessage(_ field: UInt32) -> Int {
        writeTag(field, .lengthDelimited)
        bytes.append(0)
        return bytes.count
    }

    /// Ends the message begun at `start`: writes its length, moving the body only when the length takes more than the
    /// one byte reserved (a body of 128 bytes or more).
    public mutating func endMessage(_ start: Int) {
        let length = UInt64(bytes.count - start)
        let size = Self.varintSize(length)
        if size > 1 { bytes.insert(contentsOf: repeatElement(0, count: size - 1), at: start) }
        var position = start - 1
        var value = length
        while value >= 0x80 {
            bytes[position] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
            position += 1
        }
        bytes[position] = UInt8(value)
    }

    /// The number of bytes `value` takes as a varint.
    @inlinable
    public static func varintSize(_ value: UInt64) -> Int {
        // 1 byte per started 7 bits; 0 still takes one byte.
        (70 - (value | 1).leadingZeroBitCount) / 7
    }
}
