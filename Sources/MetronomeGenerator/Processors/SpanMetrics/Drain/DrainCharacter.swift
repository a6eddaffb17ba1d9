/// One code point of a span name as DRAIN's tokenizer sees it, with the character classes of Go's `unicode`
/// package that Tempo's tokenizer and data heuristic use (spec §5.7). Invalid UTF-8 decodes, as in Go, to U+FFFD
/// one byte long, which belongs to no class.
struct DrainCharacter {
    let scalar: Unicode.Scalar
    /// Its length in bytes.
    let length: Int

    /// Decodes the code point at `offset` (which must be inside `bytes`).
    @inline(__always)
    init(in bytes: UnsafeRawBufferPointer, at offset: Int) {
        let lead = bytes[offset]
        if lead < 0x80 {
            scalar = Unicode.Scalar(lead)
            length = 1
            return
        }
        var iterator = UTF8.ForwardParser()
        var input = UnsafeRawBufferPointer(rebasing: bytes[offset...]).makeIterator()
        if case .valid(let encoded) = iterator.parseScalar(from: &input) {
            scalar = UTF8.decode(encoded)
            length = encoded.count
        } else {
            scalar = "\u{FFFD}"
            length = 1
        }
    }

    /// Go's `unicode.IsSpace`: the White_Space property.
    var isSpace: Bool {
        if scalar.isASCII { return scalar == " " || (0x09...0x0D).contains(scalar.value) }
        return scalar.properties.isWhitespace
    }

    /// Go's `unicode.Is(unicode.Hex_Digit, r)`, which includes the fullwidth forms.
    var isHexDigit: Bool {
        if scalar.isASCII {
            let value = scalar.value | 0x20
            return (0x30...0x39).contains(scalar.value) || (0x61...0x66).contains(value)
        }
        return scalar.properties.isHexDigit
    }

    /// Go's `unicode.IsLetter`: general category L.
    var isLetter: Bool {
        if scalar.isASCII { return (0x61...0x7A).contains(scalar.value | 0x20) }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// Go's `unicode.IsNumber`: general category N (digits, letter numbers such as Ⅻ, others such as ²).
    var isNumber: Bool {
        if scalar.isASCII { return (0x30...0x39).contains(scalar.value) }
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Go's `unicode.IsPunct`: general category P (in ASCII `!"#%&'()*,-./:;?@[\]_{}`; `$+<=>^`|~` are symbols).
    var isPunctuation: Bool {
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }

    var isLetterOrNumber: Bool { isLetter || isNumber }
}
