// What the translators of other trace formats into OTLP share: their error, the ranges they read, and the memory
// they account for.

/// Why a request in another trace format could not be translated into OTLP: not of its format (the message names
/// where and what), or refused memory.
public struct TranslationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// The bytes the translation's `reserve` callback refused, when that is why it stopped (the input may be valid).
    public var refusedBytes: Int? = nil

    static func refused(_ bytes: Int) -> TranslationError {
        TranslationError(
            description: "translating the request needs \(bytes) more bytes than could be reserved",
            refusedBytes: bytes
        )
    }

    /// The largest request translated: ranges into it (``TextRange``), and its text with addresses formatted (at
    /// most 4× their bytes), stay under 4 GiB.
    static let maxInputBytes = 1 << 30

    static func checkSize(_ input: UnsafeRawBufferPointer) throws(TranslationError) {
        guard input.count <= maxInputBytes else {
            throw TranslationError(
                description: "a request of \(input.count) bytes exceeds the \(maxInputBytes) bytes one may hold"
            )
        }
    }
}

/// A range of bytes in a reader's text or input (which ``TranslationError/maxInputBytes`` keeps under 4 GiB).
struct TextRange: Equatable {
    var start: UInt32
    var count: UInt32
    static let none = TextRange(start: 0, count: 0)
    var isEmpty: Bool { count == 0 }
    var range: Range<Int> { Int(start)..<(Int(start) + Int(count)) }

    init(start: UInt32, count: UInt32) {
        self.start = start
        self.count = count
    }

    /// The range of text appended to a buffer that was `start` bytes long and is now `end` bytes.
    init(from start: Int, to end: Int) {
        self.init(start: UInt32(start), count: UInt32(end - start))
    }
}

/// The memory a translation holds, granted through its `reserve` callback in steps that at least double what was
/// granted (so a request of n bytes makes O(log n) calls).
struct TranslationMemory {
    private let reserve: (Int) -> Bool
    private(set) var granted = 0
    /// The request `reserve` refused, if one was.
    private(set) var refusedBytes: Int?

    init(reserve: @escaping (Int) -> Bool) {
        self.reserve = reserve
    }

    /// Makes sure `held` bytes are granted; returns false (and records the refusal) if `reserve` refused them.
    mutating func cover(_ held: Int) -> Bool {
        guard held > granted else { return true }
        let more = max(held - granted, granted)
        guard reserve(more) else {
            refusedBytes = more
            return false
        }
        granted += more
        return true
    }
}

extension UInt64 {
    /// The big-endian integer of up to 8 bytes (an id as trace formats write it).
    init(bigEndianBytes bytes: some Collection<UInt8>) {
        self = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

extension Collection<UInt8> {
    /// Whether the bytes are `literal`'s UTF-8 (a tag name compared in place).
    func isLiteral(_ literal: StaticString) -> Bool {
        count == literal.utf8CodeUnitCount
            && elementsEqual(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }
}

extension ProtobufWriter {
    /// An id field of 8 big-endian bytes, or 16 with `high` (a trace id).
    mutating func writeID(_ field: UInt32, high: UInt64? = nil, _ low: UInt64) {
        writeTag(field, .lengthDelimited)
        writeVarint(high == nil ? 8 : 16)
        if let high { withUnsafeBytes(of: high.bigEndian) { bytes.append(contentsOf: $0) } }
        withUnsafeBytes(of: low.bigEndian) { bytes.append(contentsOf: $0) }
    }
}
