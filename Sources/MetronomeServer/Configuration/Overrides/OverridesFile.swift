import MetronomeGenerator

/// The per-tenant overrides file (`overrides.per_tenant_override_config`) in Tempo's runtime format:
/// `overrides: {<tenant>: <block>, "*": <block>}`. A tenant's block replaces `overrides.defaults` wholesale; `*`
/// serves every tenant without a block of its own.
public struct OverridesFile: Decodable, Sendable, Equatable {
    /// The blocks by tenant id, `*` included.
    public var tenants: [String: TenantOverrides] = [:]

    /// The wildcard tenant.
    public static let wildcard = "*"

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable { case overrides }

    public init(from decoder: any Decoder) throws {
        let keys = try decoder.strictContainer(CodingKeys.self)
        guard keys.contains(.overrides), try !keys.decodeNil(forKey: .overrides) else { return }
        let blocks = try keys.nestedContainer(keyedBy: AnyCodingKey.self, forKey: .overrides)
        for key in blocks.allKeys {
            if key.stringValue != Self.wildcard {
                do {
                    _ = try TenantID(validating: key.stringValue)
                } catch {
                    throw ConfigurationError(
                        path: ConfigurationError.path(blocks.codingPath + [key]),
                        message: "not a tenant id: \(error.message)"
                    )
                }
            }
            tenants[key.stringValue] =
                try blocks.decodeIfPresent(TenantOverrides.self, forKey: key) ?? TenantOverrides()
        }
    }

    /// Reads and checks an overrides file; processor keys a tenant leaves out keep the main file's `processor`
    /// settings.
    /// - Throws: ``ConfigurationError`` with the file, key path and line.
    public static func load(path: String, processor: MetricsGeneratorSection.Processor) throws(ConfigurationError)
        -> OverridesFile
    {
        var base = processor.base
        base.isOverride = true
        base.isTenantBlock = true
        do {
            let text = try ConfigurationLoader.text(ofFile: path, what: "overrides file")
            return try ProcessorSectionBase.$current.withValue(base) {
                try ConfigurationLoader.decode(OverridesFile.self, yaml: text)
            } ?? OverridesFile()
        } catch var error as ConfigurationError {
            error.file = path
            throw error
        } catch {
            throw ConfigurationError(path: "", message: "\(error)", file: path)
        }
    }
}
