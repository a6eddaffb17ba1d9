/// A size in bytes: a plain integer, or a number with a unit — `B`, `KB`/`MB`/`GB`/`TB` (powers of 1000) or
/// `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024), e.g. `1GiB`, `512MB`.
public struct ConfigByteSize: Decodable, Equatable, Sendable {
    public var bytes: Int

    public init(bytes: Int) { self.bytes = bytes }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let parsed: ConfigByteSize?
        if let number = try? container.decode(Int.self) {
            parsed = number >= 0 ? ConfigByteSize(bytes: number) : nil
        } else {
            parsed = Self.parse(try container.decode(String.self))
        }
        guard let parsed else {
            throw ConfigurationError(
                path: ConfigurationError.path(decoder.codingPath),
                message: "not a size; use bytes or a number with a unit, e.g. 1GiB, 512MiB, 100MB"
            )
        }
        self = parsed
    }

    /// Parses `text`, or returns nil when it is not a size.
    public static func parse(_ text: String) -> ConfigByteSize? {
        let units: [String: Double] = [
            "": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
            "KiB": 1024, "MiB": 1_048_576, "GiB": 1_073_741_824, "TiB": 1_099_511_627_776,
        ]
        let trimmed = text.filter { $0 != " " }
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        guard let value = Double(number), let unit = units[String(trimmed.dropFirst(number.count))] else { return nil }
        let bytes = value * unit
        guard bytes < Double(Int.max) else { return nil }
        return ConfigByteSize(bytes: Int(bytes.rounded()))
    }
}
