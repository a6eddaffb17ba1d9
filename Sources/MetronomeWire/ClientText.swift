/// Renders bytes a client sent (a header, an id, an attribute key) for an error message or a log line: at most
/// ``maxBytes`` of them, quoted, with every control character escaped, so that a 15 MiB field cannot be echoed whole
/// and a `\n` inside one cannot forge a log line.
public enum ClientText {
    /// The most bytes of client input any message quotes.
    public static let maxBytes = 256

    /// `bytes` as `'text'`: the first ``maxBytes`` bytes (cut on a character boundary), control characters (C0, DEL,
    /// C1, U+2028/U+2029), `'` and `\` escaped as `\n`, `\u{1b}`, `\'`…; invalid UTF-8 as U+FFFD. When cut, the total
    /// length follows: `'aaaa…' (15728640 bytes)`.
    public static func quoted(_ bytes: some Collection<UInt8>) -> String {
        var prefix = Array(bytes.prefix(maxBytes + 4))
        let total = bytes.count
        let cut = total > maxBytes
        if cut {
            // Back off continuation bytes so the cut does not split a character into a replacement character.
            var end = maxBytes
            while end > 0 && prefix[end] & 0xC0 == 0x80 { end -= 1 }
            prefix.removeSubrange(end...)
        }
        var text = "'"
        for scalar in String(decoding: prefix, as: UTF8.self).unicodeScalars {
            text.append(contentsOf: escaped(scalar))
        }
        return cut ? text + "…' (\(total) bytes)" : text + "'"
    }

    /// A string a client sent, quoted as ``quoted(_:)-(Collection<UInt8>)`` quotes bytes.
    public static func quoted(_ string: String) -> String {
        quoted(string.utf8)
    }

    /// `text` with its control characters escaped, for text that may carry client bytes but is not quoted as a whole
    /// (a log message or metadata value).
    public static func escapingControlCharacters(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                result.append(contentsOf: escaped(scalar))
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "'": return "\\'"
        case "\\": return "\\\\"
        default:
            guard isControl(scalar) else { return String(scalar) }
            return "\\u{" + String(scalar.value, radix: 16) + "}"
        }
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }
}
