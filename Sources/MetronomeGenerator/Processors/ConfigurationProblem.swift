/// Why a processor's configuration cannot be used; the configuration loader adds the key path and line.
public struct ConfigurationProblem: Error, Equatable, CustomStringConvertible {
    public let message: String
    /// The configuration key at fault, when it is one key.
    public let key: String?
    public var description: String { message }

    public init(_ message: String, key: String? = nil) {
        self.message = message
        self.key = key
    }
}

extension HistogramBounds {
    /// Checks histogram buckets as every processor takes them: finite and distinct, in any order.
    static func validate(_ buckets: [Double]) throws(ConfigurationProblem) {
        let sorted = buckets.sorted()
        guard sorted.allSatisfy(\.isFinite), zip(sorted, sorted.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw ConfigurationProblem("histogram buckets must be finite and distinct", key: "histogram_buckets")
        }
    }
}
