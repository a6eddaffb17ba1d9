/// A span filter policy (a `filter_policies` entry, spec §2.8): an `include`, `include_any` and `exclude` match,
/// at least one of them. Valid by construction: keys, values and regexes are checked when it is made.
public struct FilterPolicy: Sendable, Equatable {
    public let include: PolicyMatch?
    public let includeAny: PolicyMatch?
    public let exclude: PolicyMatch?

    /// - Throws: ``FilterPolicy/Error`` when all three are nil.
    public init(include: PolicyMatch? = nil, includeAny: PolicyMatch? = nil, exclude: PolicyMatch? = nil)
        throws(FilterPolicy.Error)
    {
        guard include != nil || includeAny != nil || exclude != nil else {
            throw Error(message: "a filter policy needs include, include_any or exclude")
        }
        self.include = include
        self.includeAny = includeAny
        self.exclude = exclude
    }

    /// Why a policy is invalid.
    public struct Error: Swift.Error, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}

/// A set of conditions that all have to hold for a span to match, compiled when made.
public struct PolicyMatch: Sendable, Equatable {
    public enum MatchType: String, Sendable, Equatable {
        case strict, regex
    }

    /// A condition's value, typed as the configuration wrote it: strict matching compares by this type.
    public enum Value: Sendable, Equatable {
        case string(String)
        case int(Int64)
        case double(Double)
        case bool(Bool)
    }

    public let matchType: MatchType
    /// The conditions as configured: TraceQL-style keys (`resource.x`, `span.x`, `name`, `status`, `kind`) and values.
    public let attributes: [(key: String, value: Value)]
    let compiled: [CompiledCondition]

    /// - Throws: ``FilterPolicy/Error`` for an unsupported key, a bad regex, or an unknown status or kind name.
    public init(matchType: MatchType, attributes: [(key: String, value: Value)]) throws(FilterPolicy.Error) {
        self.matchType = matchType
        self.attributes = attributes
        var compiled: [CompiledCondition] = []
        for attribute in attributes {
            compiled.append(try CompiledCondition(key: attribute.key, value: attribute.value, matchType: matchType))
        }
        self.compiled = compiled
    }

    public static func == (lhs: PolicyMatch, rhs: PolicyMatch) -> Bool {
        lhs.matchType == rhs.matchType
            && lhs.attributes.map(\.key) == rhs.attributes.map(\.key)
            && lhs.attributes.map(\.value) == rhs.attributes.map(\.value)
    }

    /// All conditions hold (an empty match holds for every span).
    func matches(_ context: SpanContext) -> Bool {
        compiled.allSatisfy { $0.matches(context) }
    }
}
