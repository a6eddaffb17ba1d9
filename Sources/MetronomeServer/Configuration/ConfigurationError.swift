import Foundation

/// Why a configuration file was rejected, with the key path and, where known, the line.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The dotted key path, e.g. `metrics_generator.registry.collection_interval`.
    public var path: String
    public var message: String
    /// 1-based line in the file, when the loader could locate the key.
    public var line: Int?

    public init(path: String, message: String, line: Int? = nil) {
        self.path = path
        self.message = message
        self.line = line
    }

    public var description: String {
        let location = line.map { "line \($0): " } ?? ""
        return path.isEmpty ? "\(location)\(message)" : "\(location)\(path): \(message)"
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }
}
