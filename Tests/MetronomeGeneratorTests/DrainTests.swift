import Testing

@testable import MetronomeGenerator

/// Spec §5.7: DRAIN's tokenizer, data heuristic and clustering, as Tempo's `pkg/drain` does them.
struct DrainTests {
    static func tokens(_ name: String) -> [String] {
        var tokenizer = DrainTokenizer()
        let bytes = Array(name.utf8)
        return bytes.withUnsafeBytes { raw in
            tokenizer.tokenize(raw, limit: Drain.maxTokens)
            return zip(tokenizer.starts, tokenizer.ends).map {
                String(decoding: bytes[Int($0)..<Int($1)], as: UTF8.self)
            }
        }
    }

    /// A distinct word of letters only (no token of it looks like data), for indices under 8,000.
    static func word(_ index: Int) -> String {
        let letters = Array("ghijklmnopqrstuvwxyz")
        return (0..<3).map { String(letters[(index / [1, 20, 400][$0]) % 20]) }.joined()
    }

    /// What DRAIN makes of `name`: its cluster's template, or nil when the name is not clustered.
    static func train(_ drain: inout Drain, _ name: String) -> String? {
        Array(name.utf8).withUnsafeBytes { raw in
            guard case .cluster(let slot) = drain.train(raw) else { return nil }
            return drain.withCluster(slot) { String(decoding: $0.template, as: UTF8.self) }
        }
    }

    @Test(
        arguments: [
            ("GET /api/users/123", ["GET", " ", "/", "api", "/", "users", "/", "123"]),
            ("a  \t b", ["a", "  \t ", "b"]),
            (
                "/orders/123e4567-e89b-12d3-a456-426614174000",
                ["/", "orders", "/", "123e4567-e89b-12d3-a456-426614174000"]
            ),
            // A hex run that meets a letter or digit becomes alphanumeric; on `-` it becomes UUID-like.
            ("deadbeef-x cafe42g abc", ["deadbeef-", "x", " ", "cafe42g", " ", "abc"]),
            ("q=a%20b%zz", ["q", "=", "a", "%20", "b", "%", "zz"]),
            // At the very end, `%X` is one token whatever X is (Tempo's lexer).
            ("x%4", ["x", "%4"]),
            ("x%", ["x", "%"]),
            ("users_100", ["users", "_", "100"]),
            ("grpc.client/svc.Method", ["grpc", ".", "client", "/", "svc", ".", "Method"]),
            ("café über ①②", ["café", " ", "über", " ", "①②"]),
            ("", []),
        ]
    )
    func tokenizerSplitsLikeTempo(name: String, expected: [String]) {
        #expect(Self.tokens(name) == expected)
        #expect(Self.tokens(name).joined() == name)
    }

    @Test func invalidUTF8IsOneByteTokensAndNeverCrashes() {
        var tokenizer = DrainTokenizer()
        let bytes: [UInt8] = [0x61, 0xFF, 0xC3, 0x62, 0xE2, 0x82]
        bytes.withUnsafeBytes { tokenizer.tokenize($0, limit: Drain.maxTokens) }
        #expect(tokenizer.tokenCount == 7)  // a, FF, C3 (no continuation), b, E2, 82 (truncated), <END>
    }

    @Test(
        arguments: [
            ("123", true), ("1", true), ("123e4567-e89b", true), ("%20", true), ("user42", true), ("v1", false),
            ("abc", false), ("deadbeef", false), ("users", false), ("a1b2c3d4", true), ("version2", false),
        ]
    )
    func dataHeuristic(token: String, isData: Bool) {
        let bytes = Array(token.utf8)
        #expect(bytes.withUnsafeBytes { DrainTokenizer.isLikelyData($0) } == isData)
    }

    @Test(
        arguments: [
            (["GET /api/users/123", "GET /api/users/456", "GET /api/users/789"], "GET /api/users/<_>"),
            (["POST /api/orders/100/items/1", "POST /api/orders/200/items/2"], "POST /api/orders/<_>/items/<_>"),
            (["SELECT * FROM users_100", "SELECT * FROM users_200"], "SELECT * FROM users_<_>"),
            (["grpc.client/service.Method/123", "grpc.client/service.Method/456"], "grpc.client/service.Method/<_>"),
            (
                [
                    "GET /orders/123e4567-e89b-12d3-a456-426614174000",
                    "GET /orders/9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0",
                ],
                "GET /orders/<_>"
            ),
            (["GET /files/report%201", "GET /files/report%202"], "GET /files/report%20<_>"),
        ]
    )
    func similarNamesShareATemplateAfterTheFirst(names: [String], template: String) {
        var drain = Drain()
        #expect(Self.train(&drain, names[0]) == names[0])  // first occurrence: unchanged
        for name in names.dropFirst() { #expect(Self.train(&drain, name) == template) }
        #expect(Self.train(&drain, names[0]) == template)  // the first one again: sanitized now
        #expect(drain.clusterCount == 1)
    }

    @Test func differentConstantsMakeDifferentClusters() {
        var drain = Drain()
        #expect(Self.train(&drain, "GET /users/list") == "GET /users/list")
        #expect(Self.train(&drain, "GET /users/settings") == "GET /users/settings")
        #expect(Self.train(&drain, "GET /users/123/data") == "GET /users/123/data")
        #expect(Self.train(&drain, "GET /users/456/settings") == "GET /users/456/settings")
        #expect(drain.clusterCount == 4)
    }

    @Test func tooFewAndTooManyTokensAreNotClustered() {
        var drain = Drain()
        Array("a".utf8).withUnsafeBytes { #expect(drain.train($0) == .tooFewTokens) }
        Array("".utf8).withUnsafeBytes { #expect(drain.train($0) == .tooFewTokens) }
        // 80 tokens with <END> is the most clustered: 79 here, then 80 (81 with <END>).
        let longest = (0..<39).map { "w\($0 % 10)" }.joined(separator: "/") + "/"  // 39 words + 39 slashes + 1
        #expect(Self.tokens(longest).count == 78)
        #expect(Self.train(&drain, longest + "x") == longest + "x")
        Array((longest + "x/").utf8).withUnsafeBytes { #expect(drain.train($0) == .tooManyTokens) }
    }

    @Test func aNodeWithAThousandChildrenSendsNewTokensToTheWildcard() {
        var drain = Drain()
        let word = Self.word
        for index in 0..<999 { #expect(Self.train(&drain, "GET /\(word(index))/x") == "GET /\(word(index))/x") }
        // The 1,000th child is `<_>`: its first name stays, the next one there is sanitized…
        #expect(Self.train(&drain, "GET /\(word(999))/x") == "GET /\(word(999))/x")
        #expect(Self.train(&drain, "GET /\(word(1000))/x") == "GET /<_>/x")
        // … and lookups prefer the wildcard branch, so known names now join it too.
        #expect(Self.train(&drain, "GET /\(word(5))/x") == "GET /<_>/x")
    }

    @Test func aLearnedTemplateGathersNamesFromTheirFirstOccurrence() {
        var drain = Drain()
        for template in [
            "GET /api/users/<_>", "POST /api/orders/<_>/items/<_>", "GET /files/<_>%20<_>", "GET /api/users/<_>",
        ] {
            Array(template.utf8).withUnsafeBytes { drain.learn($0) }
        }
        #expect(drain.clusterCount == 3)
        #expect(Self.train(&drain, "GET /api/users/77") == "GET /api/users/<_>")
        #expect(Self.train(&drain, "POST /api/orders/5/items/6") == "POST /api/orders/<_>/items/<_>")
        #expect(Self.train(&drain, "GET /files/7%205") == "GET /files/<_>%20<_>")
        #expect(drain.clusterCount == 3)
    }

    @Test func theCacheEvictsTheLeastRecentlyUsedClusterAndPrunesTheTree() {
        var drain = Drain(limits: .init(maxClusters: 2))
        _ = Self.train(&drain, "GET /a/one")
        _ = Self.train(&drain, "GET /b/two")
        _ = Self.train(&drain, "GET /a/one")  // a is now the most recently used
        _ = Self.train(&drain, "GET /c/three")
        #expect(drain.clusterCount == 2 && drain.evicted == [.maxClusters: 1])
        // b was evicted: it starts again as a new cluster (evicting a, now the oldest).
        #expect(Self.train(&drain, "GET /b/two") == "GET /b/two")
        #expect(drain.detected == 4 && drain.evicted == [.maxClusters: 2])
        let bytesWithTwo = drain.heapBytes
        for index in 0..<50 { _ = Self.train(&drain, "GET /z\(String(repeating: "q", count: index))/v") }
        #expect(drain.clusterCount == 2 && drain.heapBytes <= bytesWithTwo * 2)  // evicted branches were pruned
    }

    @Test func aLeafHoldsABoundedNumberOfClusters() {
        var drain = Drain(limits: .init(maxClustersPerLeaf: 4))
        // Mostly data: every name takes the same wildcard path, and no two are 30 % alike.
        for index in 0..<10 {
            let name = (0..<6).map { "\(index * 10 + $0)%\(String(index * 6 + $0 + 16, radix: 16))" }.joined()
            _ = Self.train(&drain, name)
        }
        #expect(drain.clusterCount == 4 && drain.evicted[.leafFull] == 6)
    }

    @Test func theByteBudgetBoundsTheClusters() {
        var drain = Drain(limits: .init(maxBytes: 64 * 1024))
        let long = String(repeating: "/segment", count: 9)
        for index in 0..<500 { _ = Self.train(&drain, "\(Self.word(index))\(long)") }
        #expect(drain.heapBytes <= 64 * 1024 && drain.evicted[.maxBytes, default: 0] > 0)
    }
}
