import Foundation
import Yams

/// Reads the YAML configuration, rejecting unknown keys and bad values with the key path and line.
public enum ConfigurationLoader {
    /// Loads a configuration file; `nil` gives the embedded defaults.
    public static func load(path: String?) throws(ConfigurationError) -> MetronomeConfiguration {
        guard let path else { return MetronomeConfiguration() }
        return try load(yaml: text(ofFile: path, what: "config file"))
    }

    /// Parses configuration YAML.
    public static func load(yaml: String) throws(ConfigurationError) -> MetronomeConfiguration {
        try decode(MetronomeConfiguration.self, yaml: yaml) ?? MetronomeConfiguration()
    }

    /// Reads a UTF-8 file, for the configuration and the overrides file.
    static func text(ofFile path: String, what: String) throws(ConfigurationError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(path: "", message: "cannot read \(what) '\(path)'")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(path: "", message: "\(what) '\(path)' is not UTF-8")
        }
        return text
    }

    /// Decodes YAML into `type`, locating errors by key path and line; nil for an empty document.
    static func decode<T: Decodable>(_ type: T.Type, yaml: String) throws(ConfigurationError) -> T? {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigurationError(
                path: "",
                message: "invalid YAML: \(Self.problem(of: error))",
                line: Self.line(of: error)
            )
        }
        guard let node, node.mapping != nil || node.scalar?.string.isEmpty == false else { return nil }
        do {
            return try YAMLDecoder().decode(T.self, from: node)
        } catch var error as ConfigurationError {
            error.line = line(of: error.path, in: node)
            throw error
        } catch let DecodingError.typeMismatch(type, context) {
            throw located("expected \(describe(type))", context, in: node)
        } catch let DecodingError.valueNotFound(type, context) {
            throw located("expected \(describe(type))", context, in: node)
        } catch let DecodingError.keyNotFound(key, context) {
            throw located("missing required key '\(key.stringValue)'", context, in: node)
        } catch let DecodingError.dataCorrupted(context) {
            throw located(context.debugDescription, context, in: node)
        } catch {
            throw ConfigurationError(path: "", message: "\(error)")
        }
    }

    /// The line a YAML syntax error is on.
    private static func line(of error: any Error) -> Int? {
        switch error as? YamlError {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }

    /// A YAML syntax error without the document excerpt Yams appends.
    private static func problem(of error: any Error) -> String {
        switch error as? YamlError {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
            .composer(let context, let problem, _, _):
            (context.map { "\($0.text) " } ?? "") + problem
        default: "\(error)"
        }
    }

    private static func located(_ message: String, _ context: DecodingError.Context, in node: Node)
        -> ConfigurationError
    {
        let path = ConfigurationError.path(context.codingPath)
        return ConfigurationError(path: path, message: message, line: line(of: path, in: node))
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Double].Type: "a list of numbers"
        case is [String].Type: "a list of strings"
        default: "a value of type \(type)"
        }
    }

    /// The 1-based line of the key or item at a dotted path (`a.b[2].c`), for error messages.
    static func line(of path: String, in root: Node) -> Int? {
        var node = root
        var line = root.mark?.line
        for component in path.replacingOccurrences(of: "[", with: ".[").split(separator: ".") {
            if component.hasPrefix("["), let index = Int(component.dropFirst().dropLast()),
                let sequence = node.sequence, index < sequence.count
            {
                node = sequence[index]
                line = node.mark?.line ?? line
            } else if let mapping = node.mapping,
                let pair = mapping.first(where: { $0.key.string == String(component) })
            {
                line = pair.key.mark?.line ?? line
                node = pair.value
            } else {
                break
            }
        }
        return line
    }
}
