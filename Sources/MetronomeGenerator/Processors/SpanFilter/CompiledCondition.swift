import MetronomeWire

/// One condition: where to look and how to compare.
struct CompiledCondition: Sendable {
    private enum Target: Sendable {
        case resource(key: [UInt8])
        case span(key: [UInt8])
        case name
        case status
        case kind
    }

    private enum Comparison: Sendable {
        case string([UInt8])
        case int(Int64)
        case double(Double)
        case bool(Bool)
        /// A `status` or `kind` value, compared as the enum number.
        case enumValue(Int32)
        case regex(FilterRegex)
        /// A regex on `status` or `kind`, decided once per defined enum value.
        case enumRegex(matches: [Bool], regex: FilterRegex)
    }

    private let target: Target
    private let comparison: Comparison

    init(key: String, value: PolicyMatch.Value, matchType: PolicyMatch.MatchType) throws(FilterPolicy.Error) {
        target = try Self.parseKey(key)
        switch (matchType, target, value) {
        case (.regex, .status, .string(let pattern)), (.regex, .kind, .string(let pattern)):
            let regex = try FilterRegex(pattern)
            let names = if case .status = target { OTLPEnumNames.statusCodes } else { OTLPEnumNames.spanKinds }
            comparison = .enumRegex(matches: names.map(regex.contains), regex: regex)
        case (.regex, _, .string(let pattern)):
            comparison = .regex(try FilterRegex(pattern))
        case (.regex, _, let value):
            throw FilterPolicy.Error(message: "regex filter on '\(key)' needs a string pattern, not \(value)")
        case (.strict, .status, .string(let name)):
            guard let code = OTLPEnumNames.statusCodes.firstIndex(of: name) else {
                throw FilterPolicy.Error(
                    message:
                        "'\(name)' is not a status; use one of \(OTLPEnumNames.statusCodes.joined(separator: ", "))"
                )
            }
            comparison = .enumValue(Int32(code))
        case (.strict, .kind, .string(let name)):
            guard let kind = OTLPEnumNames.spanKinds.firstIndex(of: name) else {
                throw FilterPolicy.Error(
                    message:
                        "'\(name)' is not a span kind; use one of \(OTLPEnumNames.spanKinds.joined(separator: ", "))"
                )
            }
            comparison = .enumValue(Int32(kind))
        case (.strict, .status, _), (.strict, .kind, _), (.strict, .name, .int), (.strict, .name, .double),
            (.strict, .name, .bool):
            throw FilterPolicy.Error(message: "filter on '\(key)' needs a string value")
        case (.strict, _, .string(let text)): comparison = .string(Array(text.utf8))
        case (.strict, _, .int(let value)): comparison = .int(value)
        case (.strict, _, .double(let value)): comparison = .double(value)
        case (.strict, _, .bool(let value)): comparison = .bool(value)
        }
    }

    /// TraceQL-style keys: `resource.<attr>`, `span.<attr>` (the attribute may be double-quoted), `name`, `status`,
    /// `kind`. Other scopes, unscoped `.attr` and other intrinsics are errors, as in Tempo.
    private static func parseKey(_ key: String) throws(FilterPolicy.Error) -> Target {
        switch key {
        case "name": return .name
        case "status": return .status
        case "kind": return .kind
        default: break
        }
        for (prefix, isResource) in [("resource.", true), ("span.", false)] where key.hasPrefix(prefix) {
            var attribute = String(key.dropFirst(prefix.count))
            if attribute.count >= 2 && attribute.hasPrefix("\"") && attribute.hasSuffix("\"") {
                attribute = String(attribute.dropFirst().dropLast())
            }
            guard !attribute.isEmpty else { break }
            return isResource ? .resource(key: Array(attribute.utf8)) : .span(key: Array(attribute.utf8))
        }
        throw FilterPolicy.Error(
            message: "unsupported filter key '\(key)'; use resource.<attribute>, span.<attribute>, name, status or kind"
        )
    }

    func matches(_ context: SpanContext) -> Bool {
        switch target {
        case .name: return matchesText(context.span.name, context)
        case .status: return matchesEnum(context.span.statusCode, names: OTLPEnumNames.statusCodes)
        case .kind: return matchesEnum(context.span.kind, names: OTLPEnumNames.spanKinds)
        case .resource(let key): return matchesAttribute(key, in: context.resourceAttributes, context)
        case .span(let key): return matchesAttribute(key, in: context.span.attributes, context)
        }
    }

    private func matchesText(_ range: ByteRange, _ context: SpanContext) -> Bool {
        switch comparison {
        case .string(let expected): return context.bytes.bytes(at: range, equal: expected)
        case .regex(let regex): return context.memo.matches(regex, range, in: context.bytes)
        default: return false
        }
    }

    private func matchesEnum(_ value: Int32, names: [String]) -> Bool {
        switch comparison {
        case .enumValue(let expected): return value == expected
        case .enumRegex(let matches, let regex):
            return value >= 0 && Int(value) < matches.count ? matches[Int(value)] : regex.contains(String(value))
        default: return false
        }
    }

    /// The first attribute with the key decides; a missing attribute never matches.
    private func matchesAttribute(_ key: [UInt8], in range: Range<Int>, _ context: SpanContext) -> Bool {
        let bytes = context.bytes
        guard let index = range.first(where: { bytes.bytes(at: context.attributes[$0].key, equal: key) })
        else {
            return false
        }
        let attribute = context.attributes[index]
        // Strict comparison is by the configured type; an attribute of another type compares as that type's zero.
        switch comparison {
        case .string(let expected):
            return attribute.type == .string ? bytes.bytes(at: attribute.value, equal: expected) : expected.isEmpty
        case .regex(let regex) where attribute.type == .string:
            return context.memo.matches(regex, attribute.value, in: bytes)
        case .int(let expected): return (attribute.type == .int ? attribute.intValue : 0) == expected
        case .double(let expected): return (attribute.type == .double ? attribute.doubleValue : 0) == expected
        case .bool(let expected): return (attribute.type == .bool ? attribute.boolValue : false) == expected
        case .regex(let regex):
            return regex.contains("")  // a non-string attribute's string value is empty, as in Tempo
        case .enumValue, .enumRegex: return false
        }
    }
}
