/// Writes Thrift values in the binary or compact protocol, for tests and benchmarks to build Jaeger batches field by
/// field as a Thrift library encodes them.
public struct ThriftTestWriter {
    public enum ThriftProtocol: Sendable { case binary, compact }

    public let thriftProtocol: ThriftProtocol
    public private(set) var bytes: [UInt8] = []
    private var lastFieldIDs: [Int16] = []
    private var lastFieldID: Int16 = 0

    public init(_ thriftProtocol: ThriftProtocol) {
        self.thriftProtocol = thriftProtocol
    }

    /// Binary type numbers, and the compact protocol's.
    enum FieldType: UInt8 {
        case bool = 2, double = 4, i32 = 8, i64 = 10, string = 11, structure = 12, list = 15
        var compact: UInt8 {
            switch self {
            case .bool: 1
            case .double: 7
            case .i32: 5
            case .i64: 6
            case .string: 8
            case .structure: 12
            case .list: 9
            }
        }
    }

    public mutating func structure(_ id: Int16, _ body: (inout ThriftTestWriter) -> Void) {
        field(id, .structure)
        structBody(body)
    }

    public mutating func structBody(_ body: (inout ThriftTestWriter) -> Void) {
        lastFieldIDs.append(lastFieldID)
        lastFieldID = 0
        body(&self)
        bytes.append(0)
        lastFieldID = lastFieldIDs.removeLast()
    }

    public mutating func i64(_ id: Int16, _ value: Int64) {
        field(id, .i64)
        integer(value, width: 8)
    }

    public mutating func i32(_ id: Int16, _ value: Int32) {
        field(id, .i32)
        integer(Int64(value), width: 4)
    }

    public mutating func string(_ id: Int16, _ value: some Collection<UInt8>) {
        field(id, .string)
        binary(value)
    }

    public mutating func string(_ id: Int16, _ value: String) { string(id, Array(value.utf8)) }

    public mutating func double(_ id: Int16, _ value: Double) {
        field(id, .double)
        let bits = value.bitPattern
        switch thriftProtocol {
        case .binary: withUnsafeBytes(of: bits.bigEndian) { bytes += $0 }
        case .compact: withUnsafeBytes(of: bits.littleEndian) { bytes += $0 }
        }
    }

    public mutating func bool(_ id: Int16, _ value: Bool) {
        switch thriftProtocol {
        case .binary:
            field(id, .bool)
            bytes.append(value ? 1 : 0)
        case .compact:
            compactHeader(id, value ? 1 : 2)
        }
    }

    /// A list of structs, each written by `element`.
    public mutating func structList(_ id: Int16, count: Int, _ element: (inout ThriftTestWriter, Int) -> Void) {
        field(id, .list)
        switch thriftProtocol {
        case .binary:
            bytes.append(FieldType.structure.rawValue)
            integer(Int64(count), width: 4)
        case .compact:
            if count < 15 {
                bytes.append(UInt8(count) << 4 | FieldType.structure.compact)
            } else {
                bytes.append(0xf0 | FieldType.structure.compact)
                varint(UInt64(count))
            }
        }
        for index in 0..<count { structBody { element(&$0, index) } }
    }

    /// A Jaeger tag's value, of its `TagType`.
    public enum TagValue: Sendable {
        case string(String), double(Double), bool(Bool), long(Int64), binary([UInt8])
    }

    /// The fields of a Jaeger `Tag` (`key = 1, vType = 2`, then the value's field).
    public mutating func tag(_ key: String, _ value: TagValue) {
        string(1, key)
        switch value {
        case .string(let text):
            i32(2, 0)
            string(3, text)
        case .double(let number):
            i32(2, 1)
            double(4, number)
        case .bool(let flag):
            i32(2, 2)
            bool(5, flag)
        case .long(let number):
            i32(2, 3)
            i64(6, number)
        case .binary(let bytes):
            i32(2, 4)
            string(7, bytes)
        }
    }

    private mutating func field(_ id: Int16, _ type: FieldType) {
        switch thriftProtocol {
        case .binary:
            bytes.append(type.rawValue)
            integer(Int64(id), width: 2)
        case .compact: compactHeader(id, type.compact)
        }
    }

    private mutating func compactHeader(_ id: Int16, _ type: UInt8) {
        let delta = id - lastFieldID
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type)
        } else {
            bytes.append(type)
            varint(zigzag(Int64(id)))
        }
        lastFieldID = id
    }

    private mutating func integer(_ value: Int64, width: Int) {
        switch thriftProtocol {
        case .binary:
            for shift in stride(from: (width - 1) * 8, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: value >> shift))
            }
        case .compact: varint(zigzag(value))
        }
    }

    private mutating func binary(_ value: some Collection<UInt8>) {
        switch thriftProtocol {
        case .binary: integer(Int64(value.count), width: 4)
        case .compact: varint(UInt64(value.count))
        }
        bytes += value
    }

    private mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
}
