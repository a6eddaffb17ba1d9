import Foundation
import MetronomeGenerator

/// Why a configuration file was rejected, with the key path and, where known, the line.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The dotted key path, e.g. `metrics_generator.registry.collection_interval`.
    public var path: String
    public var message: String
    /// 1-based line in the file, when the loader could locate the key.
    public var line: Int?
    /// The file, when it is not the main configuration file (the overrides file).
    public var file: String?

    public init(path: String, message: String, line: Int? = nil, file: String? = nil) {
        self.path = path
        self.message = message
        self.line = line
        self.file = file
    }

    public var description: String {
        let location = (file.map { "\($0): " } ?? "") + (line.map { "line \($0): " } ?? "")
        return path.isEmpty ? "\(location)\(message)" : "\(location)\(path): \(message)"
    }

    /// A processor's configuration problem in the section at `codingPath`.
    init(problem: ConfigurationProblem, in codingPath: [any CodingKey]) {
        let section = Self.path(codingPath)
        self.init(
            path: problem.key.map { section.isEmpty ? $0 : "\(section).\($0)" } ?? section,
            message: problem.message
        )
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }
}
