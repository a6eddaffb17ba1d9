/// DRAIN's tokenizer for span names (spec §5.7), as byte ranges into the name: no copy, and a buffer reused from
/// one name to the next.
///
/// Runs of letters and digits are one token; a run that starts with a hex digit is read greedily as hex and becomes
/// alphanumeric on a letter or digit, or UUID-like (hex digits and `-`) on a `-`; a run of white space is one token;
/// `%XY` with two hex digits is one token; any other character is a token of its own. Joining the tokens gives the
/// name back. The `<END>` token Tempo appends is not stored: ``tokenCount`` counts it.
struct DrainTokenizer {
    /// Start offsets of the tokens of the last name tokenized.
    private(set) var starts: [Int32] = []
    /// End offsets.
    private(set) var ends: [Int32] = []

    /// The tokens of the last name, counting `<END>`.
    var tokenCount: Int { starts.count + 1 }

    /// Per token, whether it is a `<_>` wildcard; empty unless ``markWildcards(in:)`` found one.
    private(set) var wildcards: [Bool] = []

    /// Whether token `index` is a wildcard.
    @inline(__always)
    func isWildcard(_ index: Int) -> Bool { !wildcards.isEmpty && wildcards[index] }

    /// Makes each `<_>` of the last name tokenized, a template, one wildcard token.
    mutating func markWildcards(in template: UnsafeRawBufferPointer) {
        var flags: [Bool] = []
        var kept = 0
        var index = 0
        while index < starts.count {
            let start = Int(starts[index])
            let isWildcard =
                index + 2 < starts.count && template[start] == UInt8(ascii: "<")
                && template[start + 1] == UInt8(ascii: "_") && template[start + 2] == UInt8(ascii: ">")
            starts[kept] = starts[index]
            ends[kept] = ends[isWildcard ? index + 2 : index]
            flags.append(isWildcard)
            index += isWildcard ? 3 : 1
            kept += 1
        }
        starts.removeLast(starts.count - kept)
        ends.removeLast(ends.count - kept)
        wildcards = flags.contains(true) ? flags : []
    }

    /// Splits `name` into tokens, stopping once there are more than `limit` (counting `<END>`).
    mutating func tokenize(_ name: UnsafeRawBufferPointer, limit: Int) {
        starts.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        wildcards.removeAll(keepingCapacity: true)
        var position = 0
        while position < name.count && starts.count < limit {
            let start = position
            let first = DrainCharacter(in: name, at: position)
            position += first.length
            if first.scalar == "%" {
                position = urlEncodedEnd(name, afterPercent: position, start: start)
            } else if first.isSpace {
                position = end(of: name, from: position) { $0.isSpace }
            } else if first.isHexDigit {
                position = hexEnd(name, from: position)
            } else if first.isLetterOrNumber {
                position = end(of: name, from: position) { $0.isLetterOrNumber }
            }
            starts.append(Int32(start))
            ends.append(Int32(position))
        }
    }

    /// The end of a run of characters that `belongs` to it.
    @inline(__always)
    private func end(of name: UnsafeRawBufferPointer, from start: Int, while belongs: (DrainCharacter) -> Bool)
        -> Int
    {
        var position = start
        while position < name.count {
            let character = DrainCharacter(in: name, at: position)
            guard belongs(character) else { break }
            position += character.length
        }
        return position
    }

    /// The end of a token that started with a hex digit.
    private func hexEnd(_ name: UnsafeRawBufferPointer, from start: Int) -> Int {
        var position = start
        while position < name.count {
            let character = DrainCharacter(in: name, at: position)
            if character.isHexDigit {
                position += character.length
            } else if character.scalar == "-" {
                return end(of: name, from: position + 1) { $0.isHexDigit || $0.scalar == "-" }
            } else if character.isLetterOrNumber {
                return end(of: name, from: position + character.length) { $0.isLetterOrNumber }
            } else {
                break
            }
        }
        return position
    }

    /// The end of a token that started with `%`: `%XY` when X and Y are hex digits, else `%` alone. As in Tempo's
    /// lexer, when the name ends right after `%X`, the token is `%X` whatever X is.
    private func urlEncodedEnd(_ name: UnsafeRawBufferPointer, afterPercent position: Int, start: Int) -> Int {
        guard position < name.count else { return position }
        let first = DrainCharacter(in: name, at: position)
        let second = position + first.length
        guard second < name.count else { return second }
        let secondCharacter = DrainCharacter(in: name, at: second)
        return first.isHexDigit && secondCharacter.isHexDigit ? second + secondCharacter.length : start + 1
    }

    /// Whether a token "looks like data" and so takes a wildcard branch of the prefix tree: it has a digit and is
    /// otherwise hex digits and punctuation (ids, UUIDs, `%20`), or digits are more than a quarter of its bytes
    /// (and more than one). Spec §5.7.
    static func isLikelyData(_ token: UnsafeRawBufferPointer) -> Bool {
        var numbers = 0
        var hexLike = true
        var position = 0
        while position < token.count {
            let character = DrainCharacter(in: token, at: position)
            position += character.length
            if character.isNumber {
                numbers += 1
            } else if !(character.isHexDigit || character.isPunctuation) {
                hexLike = false
            }
        }
        return (hexLike && numbers > 0) || numbers > max(token.count / 4, 1)
    }
}
