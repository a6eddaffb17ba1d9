/// Writes protobuf wire-format fields into a region whose size is known before it is written, handed out by
/// ``ProtobufWriter/writeInPlace(count:_:)``.
///
/// A field written here costs a bounds check and the stores: ``ProtobufWriter``'s methods append to an array piece by
/// piece, each append checking the array's uniqueness and capacity; a remote-write series of eight labels took about
/// 70 appends, and writing labels was 37% of the CPU of a collection.
struct FixedProtobufWriter: ~Copyable {
    private let region: UnsafeMutableRawBufferPointer
    private var position = 0

    init(_ region: UnsafeMutableRawBufferPointer) {
        self.region = region
    }

    /// Whether every byte of the region has been written.
    var isFull: Bool { position == region.count }

    @inline(__always)
    private mutating func claim(_ count: Int) -> Int {
        precondition(count <= region.count - position, "a field past the end of its region")
        defer { position += count }
        return position
    }

    @inline(__always)
    mutating func writeVarint(_ value: UInt64) {
        var at = claim(ProtobufWriter.varintSize(value))
        var value = value
        while value >= 0x80 {
            storeByte(UInt8(truncatingIfNeeded: value) | 0x80, at: at)
            value >>= 7
            at += 1
        }
        storeByte(UInt8(value), at: at)
    }

    @inline(__always)
    mutating func writeTag(_ field: UInt32, _ wireType: ProtobufReader.WireType) {
        writeVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    @inline(__always)
    mutating func writeVarintField(_ field: UInt32, _ value: UInt64) {
        writeTag(field, .varint)
        writeVarint(value)
    }

    @inline(__always)
    mutating func writeDoubleField(_ field: UInt32, _ value: Double) {
        writeTag(field, .fixed64)
        region.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: claim(8), as: UInt64.self)
    }

    @inline(__always)
    mutating func writeBytesField(_ field: UInt32, _ value: UnsafeRawBufferPointer) {
        writeTag(field, .lengthDelimited)
        writeVarint(UInt64(value.count))
        let at = claim(value.count)
        if let source = value.baseAddress {
            (region.baseAddress! + at).copyMemory(from: source, byteCount: value.count)
        }
    }

    @inline(__always)
    private func storeByte(_ byte: UInt8, at offset: Int) {
        region.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
    }
}

extension ProtobufWriter {
    /// Appends exactly `count` bytes, which `body` writes in place: written into temporary memory (on the stack when
    /// small), then appended with one copy, one capacity and uniqueness check for all of them. Traps when `body`
    /// writes more or fewer.
    mutating func writeInPlace(count: Int, _ body: (inout FixedProtobufWriter) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { region in
            var writer = FixedProtobufWriter(region)
            body(&writer)
            precondition(writer.isFull, "fewer bytes written in place than declared")
            bytes.append(contentsOf: UnsafeRawBufferPointer(region))
        }
    }
}
