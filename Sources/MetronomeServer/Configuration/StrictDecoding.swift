/// A coding key for any string, to list every key a YAML mapping holds.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

extension Decoder {
    /// Returns a container for `Keys` after checking that the mapping holds no other key (none but `allowed`, when
    /// given), so a misspelt key is an error naming it instead of a silently ignored setting.
    func strictContainer<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type, allowed: [Keys]? = nil) throws
        -> KeyedDecodingContainer<Keys>
    {
        let all = try container(keyedBy: AnyCodingKey.self)
        let allowedKeys = allowed ?? Array(Keys.allCases)
        let known = Set(allowedKeys.map(\.stringValue))
        if let unknown = all.allKeys.first(where: { !known.contains($0.stringValue) }) {
            let path = ConfigurationError.path(codingPath + [unknown])
            let allowed = allowedKeys.map(\.stringValue).sorted().joined(separator: ", ")
            throw ConfigurationError(
                path: path,
                message: "unknown key '\(unknown.stringValue)' (allowed here: \(allowed))"
            )
        }
        return try container(keyedBy: Keys.self)
    }
}

extension KeyedDecodingContainer {
    /// The value at `key`, or `fallback` when the key is absent or null.
    func value<T: Decodable>(_ key: Key, or fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}
