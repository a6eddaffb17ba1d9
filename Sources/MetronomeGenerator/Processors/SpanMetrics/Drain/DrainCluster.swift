import MetronomeWire

/// A DRAIN cluster ("log cluster" in the paper): the tokens of the span names it gathered, `<_>` where they differ
/// (spec §5.7), and the span name they make.
struct DrainCluster {
    /// A token's bytes in ``bytes``; a wildcard has `count == -1`. The `<END>` token is implicit.
    struct Token {
        var start: Int32
        var count: Int32

        var isWildcard: Bool { count < 0 }
    }

    static let wildcard: [UInt8] = Array("<_>".utf8)

    private(set) var tokens: [Token]
    private var bytes: [UInt8]
    /// The tokens joined, `<_>` for each wildcard: the sanitized span name.
    private(set) var template: [UInt8]
    private(set) var templateHash: UInt64
    /// The prefix-tree leaf that lists it.
    let leaf: Int32

    /// A cluster of one name (or template: its wildcard tokens stay wildcards), split into `tokenizer`'s tokens.
    init(name: UnsafeRawBufferPointer, tokenizer: DrainTokenizer, leaf: Int32) {
        bytes = Array(name)
        tokens = zip(tokenizer.starts, tokenizer.ends).enumerated().map { index, token in
            Token(start: token.0, count: tokenizer.isWildcard(index) ? -1 : token.1 - token.0)
        }
        template = bytes
        templateHash = template.withUnsafeBytes { SeriesHash.hash($0) }
        self.leaf = leaf
    }

    /// Tempo's similarity of a name to the cluster: the share of positions (`<END>` included) where the tokens are
    /// equal, wildcards not counting as equal; and the number of wildcards, which breaks ties.
    func similarity(to name: UnsafeRawBufferPointer, _ tokenizer: DrainTokenizer) -> (share: Double, wildcards: Int) {
        var equal = 1  // <END>
        var wildcards = 0
        bytes.withUnsafeBytes { own in
            for (index, token) in tokens.enumerated() {
                if token.isWildcard {
                    wildcards += 1
                } else if Self.equal(token, own, name, tokenizer, index) {
                    equal += 1
                }
            }
        }
        return (Double(equal) / Double(tokens.count + 1), wildcards)
    }

    /// Gathers a name into the cluster: positions where its token differs become wildcards.
    /// - Returns: whether the template changed.
    mutating func absorb(_ name: UnsafeRawBufferPointer, _ tokenizer: DrainTokenizer) -> Bool {
        var changed = false
        bytes.withUnsafeBytes { own in
            for (index, token) in tokens.enumerated()
            where !token.isWildcard && !Self.equal(token, own, name, tokenizer, index) {
                tokens[index].count = -1
                changed = true
            }
        }
        guard changed else { return false }
        var joined: [UInt8] = []
        joined.reserveCapacity(template.count)
        for token in tokens {
            if token.isWildcard {
                joined += Self.wildcard
            } else {
                joined += bytes[Int(token.start)..<Int(token.start + token.count)]
            }
        }
        template = joined
        templateHash = template.withUnsafeBytes { SeriesHash.hash($0) }
        return true
    }

    /// Whether `template` is `name`.
    func isTemplate(_ name: UnsafeRawBufferPointer) -> Bool {
        template.withUnsafeBytes { $0.bytesEqual(name) }
    }

    /// Heap bytes held, for the sanitizer's memory budget.
    var heapBytes: Int { bytes.capacity + template.capacity + tokens.capacity * MemoryLayout<Token>.stride + 96 }

    @inline(__always)
    private static func equal(
        _ token: Token,
        _ own: UnsafeRawBufferPointer,
        _ name: UnsafeRawBufferPointer,
        _ tokenizer: DrainTokenizer,
        _ index: Int
    ) -> Bool {
        let start = Int(tokenizer.starts[index])
        let count = Int(tokenizer.ends[index]) - start
        guard count == Int(token.count) else { return false }
        let ownStart = Int(token.start)
        return UnsafeRawBufferPointer(rebasing: own[ownStart..<ownStart + count])
            .bytesEqual(UnsafeRawBufferPointer(rebasing: name[start..<start + count]))
    }
}
