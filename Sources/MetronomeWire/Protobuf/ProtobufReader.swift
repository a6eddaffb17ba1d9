/// A cursor over protobuf wire-format bytes that never reads outside its bounds.
///
/// The reader works on borrowed memory (`UnsafeRawBufferPointer`) so that decoding builds indexes of offsets into the
/// request buffer instead of copying. Every malformed input — truncation, an over-long varint, a length that points
/// past the end, an unknown wire type — is reported as a ``WireError``; nothing traps.
public struct ProtobufReader {
    /// The wire types of protobuf's encoding (groups are obsolete and rejected).
    public enum WireType: UInt8, Sendable {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// One field tag: its number and how its payload is encoded.
    public struct Tag: Equatable, Sendable {
        public var fieldNumber: UInt32
        public var wireType: WireType
    }

    let base: UnsafeRawBufferPointer
    /// Offset of the next byte to read, relative to the start of `base`.
    public private(set) var position: Int
    /// Offset one past the last byte this reader may read.
    public let end: Int

    /// Creates a reader over `bytes[range]`; offsets it reports are relative to the start of `bytes`.

    public init(bytes: UnsafeRawBufferPointer, range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "reader range outside its buffer")
        self.base = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
    }

    /// Creates a reader over all of `bytes`.

    public init(bytes: UnsafeRawBufferPointer) {
        self.init(bytes: bytes, range: 0..<bytes.count)
    }

    /// Whether every byte has been consumed.

    public var isAtEnd: Bool { position >= end }

    /// Reads the next field tag, or returns nil at the end of the message.

    public mutating func nextTag() throws(WireError) -> Tag? {
        if isAtEnd { return nil }
        let key = try readVarint()
        let fieldNumber = key >> 3
        guard fieldNumber != 0, fieldNumber <= 0x1FFF_FFFF else { throw .invalidFieldNumber(offset: position) }
        guard let wireType = WireType(rawValue: UInt8(key & 7)) else {
            throw .unsupportedWireType(UInt8(key & 7), offset: position)
        }
        return Tag(fieldNumber: UInt32(fieldNumber), wireType: wireType)
    }

    /// Reads a base-128 varint of at most 10 bytes.

    public mutating func readVarint() throws(WireError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw .truncated(offset: position) }
            let byte = base[position]
            position &+= 1
            if shift == 63 && byte > 1 { throw .varintOverflow(offset: position) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift &+= 7
        }
    }

    /// Reads 8 little-endian bytes.

    public mutating func readFixed64() throws(WireError) -> UInt64 {
        guard end - position >= 8 else { throw .truncated(offset: position) }
        let value = base.loadUnaligned(fromByteOffset: position, as: UInt64.self)
        position &+= 8
        return UInt64(littleEndian: value)
    }

    /// Reads 4 little-endian bytes.

    public mutating func readFixed32() throws(WireError) -> UInt32 {
        guard end - position >= 4 else { throw .truncated(offset: position) }
        let value = base.loadUnaligned(fromByteOffset: position, as: UInt32.self)
        position &+= 4
        return UInt32(littleEndian: value)
    }

    /// Reads a length prefix and returns the range of the payload it announces, which the reader skips.

    public mutating func readLengthDelimited() throws(WireError) -> Range<Int> {
        let length = try readVarint()
        guard length <= UInt64(end - position) else { throw .lengthOutOfBounds(offset: position) }
        let start = position
        position &+= Int(length)
        return start..<position
    }

    /// Skips the payload of a field whose tag was just read.

    public mutating func skip(_ wireType: WireType) throws(WireError) {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited()
        }
    }

    /// Reads a length-delimited payload as a ``ByteRange``, checking that the field has that wire type.

    public mutating func readBytes(_ tag: Tag, in message: StaticString) throws(WireError) -> ByteRange {
        try expect(tag, .lengthDelimited, in: message)
        return ByteRange(try readLengthDelimited())
    }

    /// Throws unless the tag has the wire type the schema gives its field.

    public func expect(_ tag: Tag, _ wireType: WireType, in message: StaticString) throws(WireError) {
        guard tag.wireType == wireType else {
            throw .wrongWireType(message: "\(message)", field: tag.fieldNumber, got: tag.wireType.rawValue)
        }
    }
}

/// A range of bytes inside a ``SpanBatch``'s storage, stored in 8 bytes.
public struct ByteRange: Hashable, Sendable {
    public var offset: UInt32
    public var count: UInt32

    /// The empty range: an absent string or bytes field.
    public static let empty = ByteRange(offset: 0, count: 0)

    public init(offset: UInt32, count: UInt32) {
        self.offset = offset
        self.count = count
    }

    init(_ range: Range<Int>) {
        self.offset = UInt32(truncatingIfNeeded: range.lowerBound)
        self.count = UInt32(truncatingIfNeeded: range.count)
    }

    /// The range as `Int` offsets.

    public var range: Range<Int> { Int(offset)..<(Int(offset) + Int(count)) }

    public var isEmpty: Bool { count == 0 }
}

/// Why bytes could not be decoded as protobuf, with the byte offset where decoding stopped.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(offset: Int)
    case varintOverflow(offset: Int)
    case lengthOutOfBounds(offset: Int)
    case invalidFieldNumber(offset: Int)
    case unsupportedWireType(UInt8, offset: Int)
    case wrongWireType(message: String, field: UInt32, got: UInt8)
    case tooLarge(bytes: Int)
    /// A span the request may not carry (its ids); `index` counts spans from 0 across the request.
    case invalidSpan(index: Int, reason: String)
    /// An attribute value nested deeper than the decoder's limit; `location` names the span or resource and the key.
    case valueTooDeep(limit: Int, location: String)

    /// Whether the bytes are not protobuf of the schema, as opposed to well-formed protobuf carrying a value the
    /// request may not carry.
    public var isMalformed: Bool {
        switch self {
        case .invalidSpan, .valueTooDeep: false
        default: true
        }
    }

    public var description: String {
        switch self {
        case .truncated(let offset): "protobuf truncated at byte \(offset)"
        case .varintOverflow(let offset): "varint longer than 64 bits at byte \(offset)"
        case .lengthOutOfBounds(let offset): "length prefix at byte \(offset) points past the end of its message"
        case .invalidFieldNumber(let offset): "invalid field number 0 at byte \(offset)"
        case .unsupportedWireType(let type, let offset): "unsupported wire type \(type) at byte \(offset)"
        case .wrongWireType(let message, let field, let got):
            "field \(field) of \(message) has wire type \(got), which its schema does not allow"
        case .tooLarge(let bytes): "message of \(bytes) bytes exceeds the 4 GiB a span batch can index"
        case .invalidSpan(let index, let reason): "span \(index) \(reason)"
        case .valueTooDeep(let limit, let location):
            "\(location) nests array or key-value-list values deeper than \(limit) levels"
        }
    }
}
