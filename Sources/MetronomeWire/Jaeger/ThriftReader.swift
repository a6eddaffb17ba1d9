/// Reads Thrift's binary and compact protocols (the encodings Jaeger's Thrift clients and agents send) over a byte
/// buffer, without copying: strings and binaries come back as ranges into it.
///
/// Values are typed with the binary protocol's type numbers (``ThriftType``); the compact protocol's are converted.
/// Everything a client controls is checked against the bytes that remain: a list claiming more elements than the rest
/// of the input could hold, a string longer than it, nesting deeper than ``maxDepth`` when skipping unknown fields.
struct ThriftReader {
    enum ThriftProtocol { case binary, compact }

    /// A malformed input: what was wrong and at which byte.
    struct Failure: Error {
        let message: String
        let offset: Int
        var description: String { "\(message) at byte \(offset)" }
    }

    /// Deepest nesting of structs, lists and maps skipped (unknown fields).
    static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    let thriftProtocol: ThriftProtocol
    private(set) var offset: Int
    /// Compact protocol: the field ids of the enclosing structs (field ids are deltas from the previous one).
    private var lastFieldIDs: [Int16] = []
    private var lastFieldID: Int16 = 0
    /// Compact protocol: a bool field's value, which its header carries.
    private var pendingBool: Bool?

    init(bytes: UnsafeRawBufferPointer, protocol thriftProtocol: ThriftProtocol, offset: Int = 0) {
        self.bytes = bytes
        self.thriftProtocol = thriftProtocol
        self.offset = offset
    }

    var isAtEnd: Bool { offset == bytes.count }

    func failure(_ message: String) -> Failure { Failure(message: message, offset: offset) }

    // MARK: - Structs

    /// Starts reading a struct's fields.
    mutating func beginStruct() {
        guard thriftProtocol == .compact else { return }
        lastFieldIDs.append(lastFieldID)
        lastFieldID = 0
    }

    /// The next field's type and id, or nil at the struct's end (which ends the struct).
    mutating func nextField() throws(Failure) -> (type: ThriftType, id: Int16)? {
        switch thriftProtocol {
        case .binary:
            let type = try readByte()
            if type == 0 { return nil }
            return (try ThriftType(binary: type, at: offset - 1), Int16(bitPattern: try readBigEndian(UInt16.self)))
        case .compact:
            let header = try readByte()
            if header == 0 {
                lastFieldID = lastFieldIDs.popLast() ?? 0
                return nil
            }
            let compactType = header & 0x0f
            let type = try ThriftType(compact: compactType, at: offset - 1)
            let delta = Int16(header >> 4)
            let id = delta == 0 ? Int16(truncatingIfNeeded: try readZigZag()) : lastFieldID &+ delta
            lastFieldID = id
            if type == .bool { pendingBool = compactType == 1 }
            return (type, id)
        }
    }

    // MARK: - Values

    mutating func readBool() throws(Failure) -> Bool {
        if let value = pendingBool {
            pendingBool = nil
            return value
        }
        return try readByte() == 1
    }

    mutating func readI32() throws(Failure) -> Int32 {
        switch thriftProtocol {
        case .binary: Int32(bitPattern: try readBigEndian(UInt32.self))
        case .compact: Int32(truncatingIfNeeded: try readZigZag())
        }
    }

    mutating func readI64() throws(Failure) -> Int64 {
        switch thriftProtocol {
        case .binary: Int64(bitPattern: try readBigEndian(UInt64.self))
        case .compact: try readZigZag()
        }
    }

    /// A double's IEEE 754 bits (big-endian in the binary protocol, little-endian in the compact one).
    mutating func readDoubleBits() throws(Failure) -> UInt64 {
        switch thriftProtocol {
        case .binary: return try readBigEndian(UInt64.self)
        case .compact:
            try need(8)
            let value = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
            return value
        }
    }

    /// A string or binary, as the range of its bytes.
    mutating func readBinary() throws(Failure) -> Range<Int> {
        let length: Int
        switch thriftProtocol {
        case .binary:
            let declared = Int32(bitPattern: try readBigEndian(UInt32.self))
            guard declared >= 0 else { throw failure("negative string length \(declared)") }
            length = Int(declared)
        case .compact:
            let declared = try readVarint()
            guard declared <= UInt64(bytes.count) else { throw failure("string length \(declared) past the end") }
            length = Int(declared)
        }
        guard length <= bytes.count - offset else {
            throw failure("string of \(length) bytes past the end (\(bytes.count - offset) left)")
        }
        defer { offset += length }
        return offset..<(offset + length)
    }

    /// A list's (or set's) element type and count; the count is at most the bytes left, as every element takes one.
    mutating func readListHeader() throws(Failure) -> (element: ThriftType, count: Int) {
        let element: ThriftType
        let count: Int
        switch thriftProtocol {
        case .binary:
            element = try ThriftType(binary: try readByte(), at: offset)
            let declared = Int32(bitPattern: try readBigEndian(UInt32.self))
            guard declared >= 0 else { throw failure("negative list size \(declared)") }
            count = Int(declared)
        case .compact:
            let header = try readByte()
            element = try ThriftType(compact: header & 0x0f, at: offset - 1)
            let short = Int(header >> 4)
            let declared = short == 15 ? try readVarint() : UInt64(short)
            guard declared <= UInt64(bytes.count) else { throw failure("list size \(declared) past the end") }
            count = Int(declared)
        }
        guard count <= bytes.count - offset else {
            throw failure("list of \(count) elements longer than the \(bytes.count - offset) bytes left")
        }
        return (element, count)
    }

    /// A map's key and value types and count.
    private mutating func readMapHeader() throws(Failure) -> (key: ThriftType, value: ThriftType, count: Int) {
        switch thriftProtocol {
        case .binary:
            let key = try ThriftType(binary: try readByte(), at: offset)
            let value = try ThriftType(binary: try readByte(), at: offset)
            let declared = Int32(bitPattern: try readBigEndian(UInt32.self))
            guard declared >= 0, Int(declared) <= bytes.count - offset else {
                throw failure("map size \(declared) past the end")
            }
            return (key, value, Int(declared))
        case .compact:
            let declared = try readVarint()
            if declared == 0 { return (.bool, .bool, 0) }
            guard declared <= UInt64(bytes.count - offset) else { throw failure("map size \(declared) past the end") }
            let types = try readByte()
            return (
                try ThriftType(compact: types >> 4, at: offset - 1),
                try ThriftType(compact: types & 0x0f, at: offset - 1),
                Int(declared)
            )
        }
    }

    /// Skips a value of `type` (an unknown field, or one of an unexpected type).
    mutating func skip(_ type: ThriftType, depth: Int = 0) throws(Failure) {
        guard depth < Self.maxDepth else { throw failure("values nested deeper than \(Self.maxDepth) levels") }
        switch type {
        case .bool: _ = try readBool()
        case .byte: try advance(1)
        case .i16, .i32, .i64:
            if thriftProtocol == .compact {
                _ = try readVarint()
            } else {
                try advance(type == .i16 ? 2 : type == .i32 ? 4 : 8)
            }
        case .double: try advance(8)
        case .string: _ = try readBinary()
        case .structure:
            beginStruct()
            while let field = try nextField() { try skip(field.type, depth: depth + 1) }
        case .list, .set:
            let (element, count) = try readListHeader()
            for _ in 0..<count { try skipElement(element, depth: depth + 1) }
        case .map:
            let (key, value, count) = try readMapHeader()
            for _ in 0..<count {
                try skipElement(key, depth: depth + 1)
                try skipElement(value, depth: depth + 1)
            }
        }
    }

    /// A list element: like a field's value, but a compact bool is a byte of its own.
    mutating func skipElement(_ type: ThriftType, depth: Int) throws(Failure) {
        if type == .bool { try advance(1) } else { try skip(type, depth: depth) }
    }

    // MARK: - Messages

    /// A message envelope's method name (its range) and type (1 call, 2 reply, 3 exception, 4 oneway).
    mutating func readMessageHeader() throws(Failure) -> (name: Range<Int>, type: UInt8) {
        switch thriftProtocol {
        case .binary:
            let first = try readBigEndian(UInt32.self)
            if first & 0x8000_0000 != 0 {
                guard first & 0xffff_0000 == 0x8001_0000 else {
                    throw failure("unknown binary protocol version \(first >> 16 & 0x7fff)")
                }
                let name = try readBinary()
                _ = try readBigEndian(UInt32.self)  // sequence id
                return (name, UInt8(first & 0xff))
            }
            // An old, unversioned envelope: the name's length came first.
            offset -= 4
            let name = try readBinary()
            let type = try readByte()
            _ = try readBigEndian(UInt32.self)
            return (name, type)
        case .compact:
            guard try readByte() == 0x82 else { throw failure("not a compact protocol message (id 0x82)") }
            let versionAndType = try readByte()
            guard versionAndType & 0x1f == 1 else { throw failure("unknown compact protocol version") }
            _ = try readVarint()  // sequence id
            return (try readBinary(), versionAndType >> 5)
        }
    }

    // MARK: - Bytes

    private mutating func need(_ count: Int) throws(Failure) {
        guard count <= bytes.count - offset else { throw failure("input ends inside a value") }
    }

    private mutating func advance(_ count: Int) throws(Failure) {
        try need(count)
        offset += count
    }

    private mutating func readByte() throws(Failure) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func readBigEndian<T: FixedWidthInteger>(_: T.Type) throws(Failure) -> T {
        try need(MemoryLayout<T>.size)
        defer { offset += MemoryLayout<T>.size }
        return T(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    private mutating func readVarint() throws(Failure) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            guard shift < 64 else { throw failure("varint longer than 64 bits") }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    private mutating func readZigZag() throws(Failure) -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }
}

/// A Thrift value type, numbered as the binary protocol numbers it.
enum ThriftType: UInt8 {
    case bool = 2, byte = 3, double = 4, i16 = 6, i32 = 8, i64 = 10, string = 11, structure = 12, map = 13, set = 14
    case list = 15

    init(binary: UInt8, at offset: Int) throws(ThriftReader.Failure) {
        guard let type = ThriftType(rawValue: binary) else {
            throw ThriftReader.Failure(message: "unknown Thrift type \(binary)", offset: offset)
        }
        self = type
    }

    /// The compact protocol's type numbers: 1 and 2 are a bool field's true and false.
    init(compact: UInt8, at offset: Int) throws(ThriftReader.Failure) {
        switch compact {
        case 1, 2: self = .bool
        case 3: self = .byte
        case 4: self = .i16
        case 5: self = .i32
        case 6: self = .i64
        case 7: self = .double
        case 8: self = .string
        case 9: self = .list
        case 10: self = .set
        case 11: self = .map
        case 12: self = .structure
        default: throw ThriftReader.Failure(message: "unknown compact Thrift type \(compact)", offset: offset)
        }
    }
}
