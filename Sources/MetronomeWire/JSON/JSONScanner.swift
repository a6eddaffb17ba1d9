#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A one-pass JSON tokenizer over borrowed bytes (RFC 8259): it reads objects, arrays, strings, numbers and literals
/// in order and never builds a tree, so a schema-driven reader (``OTLPJSONTranscoder``) can convert a document in
/// memory linear in its size. Skipped values are walked with an explicit stack, bounded by `maxSkipDepth`.
///
/// Errors carry the byte offset where scanning stopped; ``JSONScanner/Failure/location(in:)`` turns it into a line
/// and column.
struct JSONScanner {
    /// Why the document could not be read: what was expected, where, and the path of keys and indices to it (filled
    /// in, innermost first, as the error travels out of the schema's readers).
    struct Failure: Error {
        var message: String
        var offset: Int
        /// Path components, innermost first: `.key` for an object member, `.index` for an array element.
        var reversedPath: [PathComponent] = []

        enum PathComponent {
            case key(String)
            case index(Int)
        }

        /// `resourceSpans[0].scopeSpans[0].spans[3].traceId`, or nil at the document's top level.
        var path: String? {
            guard !reversedPath.isEmpty else { return nil }
            var text = ""
            for component in reversedPath.reversed() {
                switch component {
                case .key(let key): text += text.isEmpty ? key : "." + key
                case .index(let index): text += "[\(index)]"
                }
            }
            return text
        }

        /// The failure inside the member whose key is at `keyRange` of `bytes` (quotes included): the key as sent,
        /// cut to 64 bytes and escaped, goes on the path.
        func inMember(keyAt keyRange: Range<Int>, of bytes: UnsafeRawBufferPointer) -> Failure {
            var failure = self
            let raw = bytes[(keyRange.lowerBound + 1)..<(keyRange.upperBound - 1)].prefix(64)
            failure.reversedPath.append(
                .key(ClientText.escapingControlCharacters(String(decoding: raw, as: UTF8.self)))
            )
            return failure
        }

        /// The 1-based line and column (in bytes) of `offset` in `bytes`.
        func location(in bytes: UnsafeRawBufferPointer) -> (line: Int, column: Int) {
            var line = 1
            var lineStart = 0
            for index in 0..<min(offset, bytes.count) where bytes[index] == UInt8(ascii: "\n") {
                line += 1
                lineStart = index + 1
            }
            return (line, offset - lineStart + 1)
        }
    }

    let bytes: UnsafeRawBufferPointer
    private(set) var position = 0
    let maxSkipDepth: Int

    init(bytes: UnsafeRawBufferPointer, maxSkipDepth: Int) {
        self.bytes = bytes
        self.maxSkipDepth = maxSkipDepth
    }

    /// Whether `bytes` (an unescaped key or string) are `literal`'s: how schema readers match member names.
    static func bytes(_ bytes: [UInt8], equal literal: StaticString) -> Bool {
        bytes.count == literal.utf8CodeUnitCount
            && bytes.withUnsafeBytes { memcmp($0.baseAddress!, literal.utf8Start, bytes.count) == 0 }
    }

    func failure(_ message: String) -> Failure {
        Failure(message: message, offset: position)
    }

    /// The next byte after whitespace, not consumed; nil at the end.
    mutating func peek() -> UInt8? {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return bytes[position]
            }
        }
        return nil
    }

    /// Fails unless only whitespace is left.
    mutating func expectEnd() throws(Failure) {
        if peek() != nil { throw failure("unexpected \(describeNext()) after the document") }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
        guard peek() == byte else { throw failure("expected \(what), found \(describeNext())") }
        position += 1
    }

    /// Consumes a `null` literal if one is next.
    mutating func consumeNull() -> Bool {
        guard peek() == UInt8(ascii: "n"), matches("null") else { return false }
        position += 4
        return true
    }

    private func matches(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count else { return false }
        return memcmp(bytes.baseAddress! + position, literal.utf8Start, count) == 0
    }

    /// A short description of what comes next, for error messages (never more than a few bytes of the input).
    mutating func describeNext() -> String {
        guard let byte = peek() else { return "the end of the document" }
        switch byte {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
        default: return ClientText.quoted(CollectionOfOne(byte))
        }
    }

    // MARK: Objects and arrays

    /// Reads the `{` of an object.
    mutating func beginObject() throws(Failure) {
        try expect(UInt8(ascii: "{"), "an object")
    }

    /// Reads the next member's key and its `:`, or the closing `}` (then returns nil). `first` is true for the first
    /// call on an object and is cleared. The key is unescaped into `key`; the returned range is where it is in the
    /// document (for error paths).
    mutating func nextKey(into key: inout [UInt8], first: inout Bool) throws(Failure) -> Range<Int>? {
        if peek() == UInt8(ascii: "}") {
            position += 1
            return nil
        }
        if !first { try expect(UInt8(ascii: ","), "',' or '}'") }
        first = false
        guard peek() == UInt8(ascii: "\"") else { throw failure("expected a member name, found \(describeNext())") }
        let start = position
        key.removeAll(keepingCapacity: true)
        try readString(into: &key)
        let range = start..<position
        try expect(UInt8(ascii: ":"), "':' after a member name")
        return range
    }

    /// Reads the `[` of an array.
    mutating func beginArray() throws(Failure) {
        try expect(UInt8(ascii: "["), "an array")
    }

    /// Whether another element follows (consuming the `,` before it), or the array ended (consuming the `]`).
    mutating func nextElement(first: inout Bool) throws(Failure) -> Bool {
        if peek() == UInt8(ascii: "]") {
            position += 1
            return false
        }
        if !first { try expect(UInt8(ascii: ","), "',' or ']'") }
        first = false
        return true
    }

    // MARK: Scalars

    /// Whether a string is next.
    mutating func atString() -> Bool { peek() == UInt8(ascii: "\"") }

    /// Reads a string, appending its unescaped UTF-8 bytes to `output`.
    mutating func readString(into output: inout [UInt8]) throws(Failure) {
        try expect(UInt8(ascii: "\""), "a string")
        while true {
            // Copy the run of plain bytes up to the next quote, backslash or control character in one append.
            let runStart = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                position += 1
            }
            if position > runStart { output.append(contentsOf: bytes[runStart..<position]) }
            guard position < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "\"") { return }
            if byte < 0x20 {
                position -= 1
                throw failure("control character \(ClientText.quoted(CollectionOfOne(byte))) inside a string")
            }
            try readEscape(into: &output)
        }
    }

    private mutating func readEscape(into output: inout [UInt8]) throws(Failure) {
        guard position < bytes.count else { throw failure("unterminated string") }
        let escape = bytes[position]
        position += 1
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escape)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard matches("\\u") else { throw failure("unpaired UTF-16 surrogate in a \\u escape") }
                position += 2
                let low = try readHex4()
                guard (0xDC00..<0xE000).contains(low) else {
                    throw failure("unpaired UTF-16 surrogate in a \\u escape")
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw failure("unpaired UTF-16 surrogate in a \\u escape")
            }
            output.append(contentsOf: String(Unicode.Scalar(scalar)!).utf8)
        default:
            position -= 1
            throw failure("invalid escape \\\(ClientText.quoted(CollectionOfOne(escape)).dropFirst().dropLast())")
        }
    }

    private mutating func readHex4() throws(Failure) -> UInt32 {
        guard bytes.count - position >= 4 else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = HexDigits.value(of: bytes[position]) else { throw failure("invalid \\u escape") }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// Reads a number token and returns its bytes' range (validated against JSON's number grammar).
    mutating func readNumber() throws(Failure) -> Range<Int> {
        guard let first = peek(), first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
        else { throw failure("expected a number, found \(describeNext())") }
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard skipDigits() > 0 else { throw failure("invalid number") }
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard skipDigits() > 0 else { throw failure("invalid number") }
        }
        if position < bytes.count && (bytes[position] | 0x20) == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-"))
            {
                position += 1
            }
            guard skipDigits() > 0 else { throw failure("invalid number") }
        }
        return start..<position
    }

    private mutating func skipDigits() -> Int {
        let start = position
        while position < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
            position += 1
        }
        return position - start
    }

    /// Reads `true` or `false`.
    mutating func readBool() throws(Failure) -> Bool {
        _ = peek()
        if matches("true") {
            position += 4
            return true
        }
        if matches("false") {
            position += 5
            return false
        }
        throw failure("expected a boolean, found \(describeNext())")
    }

    // MARK: Skipping

    /// Skips one value of any kind (an unknown field's), checking its syntax, with an explicit stack of open
    /// containers at most `maxSkipDepth` deep.
    mutating func skipValue() throws(Failure) {
        var closers: [UInt8] = []
        var scratch: [UInt8] = []
        while true {
            // One value; a non-empty container is opened and its first member's value read next.
            switch peek() {
            case UInt8(ascii: "{")?, UInt8(ascii: "[")?:
                guard closers.count < maxSkipDepth else {
                    throw failure("values nested deeper than \(maxSkipDepth) levels")
                }
                let isObject = bytes[position] == UInt8(ascii: "{")
                let closer = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
                position += 1
                if peek() == closer {
                    position += 1
                } else {
                    closers.append(closer)
                    if isObject { try readMemberName(scratch: &scratch) }
                    continue
                }
            case UInt8(ascii: "\"")?:
                scratch.removeAll(keepingCapacity: true)
                try readString(into: &scratch)
            case UInt8(ascii: "t")?, UInt8(ascii: "f")?: _ = try readBool()
            case UInt8(ascii: "n")?:
                guard consumeNull() else { throw failure("expected a value, found \(describeNext())") }
            default: _ = try readNumber()
            }
            // After a value: close containers until one has another member.
            while let closer = closers.last {
                if peek() == closer {
                    position += 1
                    closers.removeLast()
                    continue
                }
                try expect(UInt8(ascii: ","), closer == UInt8(ascii: "}") ? "',' or '}'" : "',' or ']'")
                if closer == UInt8(ascii: "}") { try readMemberName(scratch: &scratch) }
                break
            }
            if closers.isEmpty { return }
        }
    }

    private mutating func readMemberName(scratch: inout [UInt8]) throws(Failure) {
        guard peek() == UInt8(ascii: "\"") else { throw failure("expected a member name, found \(describeNext())") }
        scratch.removeAll(keepingCapacity: true)
        try readString(into: &scratch)
        try expect(UInt8(ascii: ":"), "':' after a member name")
    }
}

/// Hex digit values, shared by the JSON scanner and the OTLP/JSON id decoding.
enum HexDigits {
    static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
