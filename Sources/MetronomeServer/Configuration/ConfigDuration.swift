/// A duration in Prometheus/Go syntax: `15s`, `1m30s`, `500ms`, `2h`, `1.5h`, `1d`.
///
/// Units: `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, `d`, `w`, `y`; a bare number is rejected rather than guessed at.
public struct ConfigDuration: Decodable, Equatable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = Self.parse(text) else {
            throw ConfigurationError(
                path: ConfigurationError.path(decoder.codingPath),
                message: "'\(text)' is not a duration; use a number with a unit, e.g. 15s, 1m30s, 500ms"
            )
        }
        self = parsed
    }

    /// Parses `text`, or returns nil when it is not a duration.
    public static func parse(_ text: String) -> ConfigDuration? {
        let units: [(String, Double)] = [
            ("ns", 1e-6), ("us", 1e-3), ("µs", 1e-3), ("ms", 1), ("s", 1e3), ("m", 60e3), ("h", 3600e3),
            ("d", 86400e3), ("w", 604800e3), ("y", 31536000e3),
        ]
        var rest = Substring(text.trimmingCharacters(in: " "))
        guard !rest.isEmpty else { return nil }
        if rest == "0" { return ConfigDuration(milliseconds: 0) }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !$0.isNumber && $0 != "." }
            // Longest unit first so "ms" is not read as "m".
            guard let unit = units.filter({ unitText == $0.0 }).first else { return nil }
            rest = rest.dropFirst(unitText.count)
            total += value * unit.1
        }
        return ConfigDuration(milliseconds: Int64(total.rounded()))
    }

    public var description: String { "\(milliseconds)ms" }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}

extension KeyedDecodingContainer {
    /// The positive duration at `key` (a timeout), or `fallback` when the key is absent or null.
    func timeout(_ key: Key, or fallback: Duration) throws -> Duration {
        guard let duration = try decodeIfPresent(ConfigDuration.self, forKey: key) else { return fallback }
        guard duration.milliseconds > 0 else {
            throw ConfigurationError(
                path: ConfigurationError.path(codingPath + [key]),
                message: "a timeout must be positive, e.g. 10s"
            )
        }
        return .milliseconds(duration.milliseconds)
    }
}
