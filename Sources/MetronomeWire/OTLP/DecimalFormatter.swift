/// Formats doubles as Go's `strconv.FormatFloat(v, 'f', -1, 64)` does: the shortest decimal that round-trips,
/// never in exponent form (`100`, `1.1`, `0.000001`, `+Inf`, `NaN`).
///
/// Tempo uses this form for attribute values (spec §2.6) and histogram `le` labels (spec §2.1), so series created
/// from doubles match Tempo's byte for byte.
public enum DecimalFormatter {
    /// Appends the decimal form of `value` to `output`.
    public static func append(_ value: Double, to output: inout [UInt8]) {
        if value.isNaN { return output.append(contentsOf: "NaN".utf8) }
        if value.isInfinite { return output.append(contentsOf: (value < 0 ? "-Inf" : "+Inf").utf8) }
        // Swift's description is the shortest round-trip form, possibly with an exponent ("1e-06", "1.5e+16").
        let text = value.description
        guard let exponentIndex = text.firstIndex(where: { $0 == "e" || $0 == "E" }) else {
            // "100.0" → "100"; "1.25" stays.
            var digits = Array(text.utf8)
            if digits.count >= 2 && digits[digits.count - 2] == UInt8(ascii: ".") && digits.last == UInt8(ascii: "0") {
                digits.removeLast(2)
            }
            return output.append(contentsOf: digits)
        }
        let mantissa = text[..<exponentIndex]
        let exponent = Int(text[text.index(after: exponentIndex)...]) ?? 0
        var negative = false
        var integerDigits: [UInt8] = []
        var fractionDigits: [UInt8] = []
        var inFraction = false
        for byte in mantissa.utf8 {
            switch byte {
            case UInt8(ascii: "-"): negative = true
            case UInt8(ascii: "."): inFraction = true
            default: if inFraction { fractionDigits.append(byte) } else { integerDigits.append(byte) }
            }
        }
        let allDigits = integerDigits + fractionDigits
        let pointPosition = integerDigits.count + exponent  // digits before the decimal point
        if negative { output.append(UInt8(ascii: "-")) }
        if pointPosition <= 0 {
            output.append(contentsOf: "0.".utf8)
            output.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -pointPosition))
            output.append(contentsOf: trimmingTrailingZeros(allDigits))
        } else if pointPosition >= allDigits.count {
            output.append(contentsOf: allDigits)
            output.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: pointPosition - allDigits.count))
        } else {
            output.append(contentsOf: allDigits[..<pointPosition])
            let fraction = trimmingTrailingZeros(Array(allDigits[pointPosition...]))
            if !fraction.isEmpty {
                output.append(UInt8(ascii: "."))
                output.append(contentsOf: fraction)
            }
        }
    }

    /// The decimal form of `value` as a string.
    public static func string(_ value: Double) -> String {
        var bytes: [UInt8] = []
        append(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func trimmingTrailingZeros(_ digits: [UInt8]) -> ArraySlice<UInt8> {
        var end = digits.count
        while end > 0 && digits[end - 1] == UInt8(ascii: "0") { end -= 1 }
        return digits[..<end]
    }
}
