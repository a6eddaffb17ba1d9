import Testing

@testable import MetronomeWire

struct ProtobufReaderTests {
    private func read<R>(_ bytes: [UInt8], _ body: (inout ProtobufReader) throws(WireError) -> R) -> Result<
        R, WireError
    > {
        bytes.withUnsafeBytes { raw in
            var reader = ProtobufReader(bytes: raw)
            do throws(WireError) { return .success(try body(&reader)) } catch { return .failure(error) }
        }
    }

    @Test(
        arguments: [
            ([0x00], UInt64(0)), ([0x01], 1), ([0x7F], 127), ([0x80, 0x01], 128), ([0xAC, 0x02], 300),
            ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], UInt64.max),
        ] as [([UInt8], UInt64)]
    )
    func varintsDecode(bytes: [UInt8], expected: UInt64) {
        #expect(read(bytes) { (r) throws(WireError) in try r.readVarint() } == .success(expected))
    }

    @Test func varintLongerThan64BitsIsRejected() {
        let bytes: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]
        #expect(read(bytes) { (r) throws(WireError) in try r.readVarint() } == .failure(.varintOverflow(offset: 10)))
        let eleven = [UInt8](repeating: 0x80, count: 10) + [0x01]
        guard case .failure = read(eleven, { (r) throws(WireError) in try r.readVarint() }) else {
            Issue.record("an 11-byte varint was accepted")
            return
        }
    }

    @Test func truncatedInputIsAnErrorForEveryWireType() {
        #expect(read([0x80]) { (r) throws(WireError) in try r.readVarint() } == .failure(.truncated(offset: 1)))
        #expect(read([1, 2, 3]) { (r) throws(WireError) in try r.readFixed32() } == .failure(.truncated(offset: 0)))
        #expect(
            read([1, 2, 3, 4, 5, 6, 7]) { (r) throws(WireError) in try r.readFixed64() }
                == .failure(.truncated(offset: 0))
        )
        #expect(
            read([0x05, 1, 2]) { (r) throws(WireError) in try r.readLengthDelimited() }
                == .failure(.lengthOutOfBounds(offset: 1))
        )
    }

    @Test func fixedWidthValuesAreLittleEndian() {
        #expect(
            read([0x78, 0x56, 0x34, 0x12]) { (r) throws(WireError) in try r.readFixed32() } == .success(0x1234_5678)
        )
        #expect(
            read([8, 7, 6, 5, 4, 3, 2, 1]) { (r) throws(WireError) in try r.readFixed64() }
                == .success(0x0102_0304_0506_0708)
        )
    }

    @Test func tagsCarryFieldNumberAndWireType() {
        // field 15, length-delimited; then field 1, varint.
        let result = read([0x7A, 0x00, 0x08, 0x01]) { (r) throws(WireError) in
            let first = try r.nextTag()
            try r.skip(.lengthDelimited)
            let second = try r.nextTag()
            try r.skip(.varint)
            let end = try r.nextTag()
            return [first, second, end]
        }
        #expect(
            result
                == .success([
                    .init(fieldNumber: 15, wireType: .lengthDelimited), .init(fieldNumber: 1, wireType: .varint), nil,
                ])
        )
    }

    @Test func groupsAndFieldZeroAreRejected() {
        #expect(
            read([0x0B]) { (r) throws(WireError) in try r.nextTag() } == .failure(.unsupportedWireType(3, offset: 1))
        )
        #expect(
            read([0x0C]) { (r) throws(WireError) in try r.nextTag() } == .failure(.unsupportedWireType(4, offset: 1))
        )
        #expect(read([0x00]) { (r) throws(WireError) in try r.nextTag() } == .failure(.invalidFieldNumber(offset: 1)))
    }

    @Test func writerAndReaderRoundTrip() {
        var writer = ProtobufWriter()
        writer.writeVarintField(1, 300)
        writer.writeDoubleField(2, 1.5)
        writer.writeStringField(3, "héllo")
        writer.writeMessage(4) { $0.writeVarintField(1, UInt64.max) }
        let result = read(writer.bytes) { (r) throws(WireError) in
            var values: [String] = []
            while let tag = try r.nextTag() {
                switch tag.wireType {
                case .varint: values.append("\(tag.fieldNumber)=\(try r.readVarint())")
                case .fixed64: values.append("\(tag.fieldNumber)=\(Double(bitPattern: try r.readFixed64()))")
                case .lengthDelimited: values.append("\(tag.fieldNumber):\(try r.readLengthDelimited().count)")
                case .fixed32: values.append("\(tag.fieldNumber)~\(try r.readFixed32())")
                }
            }
            return values
        }
        #expect(result == .success(["1=300", "2=1.5", "3:6", "4:11"]))
    }

    @Test(arguments: [0, 1, 127, 128, 16_383, 16_384, UInt64(1) << 35, UInt64.max])
    func varintSizeMatchesEncodedLength(value: UInt64) {
        var writer = ProtobufWriter()
        writer.writeVarint(value)
        #expect(ProtobufWriter.varintSize(value) == writer.bytes.count)
    }
}
