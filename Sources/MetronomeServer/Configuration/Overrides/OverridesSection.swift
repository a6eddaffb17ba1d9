import MetronomeGenerator

/// `overrides` in the main file: the block every tenant gets (`defaults`), and the per-tenant overrides file that
/// is re-read while the server runs (`per_tenant_override_config`, every `per_tenant_override_period`).
public struct OverridesSection: Decodable, Sendable, Equatable {
    /// `defaults`: what a tenant without a block of its own (and without a `*` block) gets.
    public var defaults = TenantOverrides()
    /// `per_tenant_override_config`: the overrides file; empty for none.
    public var perTenantOverrideConfig = ""
    /// `per_tenant_override_period`: how often the file is re-read (default 10 s).
    public var perTenantOverridePeriodMs: Int64 = 10_000

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case defaults
        case perTenantOverrideConfig = "per_tenant_override_config"
        case perTenantOverridePeriod = "per_tenant_override_period"
        case userConfigurableOverrides = "user_configurable_overrides"
    }

    public init(from decoder: any Decoder) throws {
        let keys = try decoder.strictContainer(CodingKeys.self)
        defaults = try keys.value(.defaults, or: TenantOverrides())
        perTenantOverrideConfig = try keys.value(.perTenantOverrideConfig, or: "")
        perTenantOverridePeriodMs = try keys.value(
            .perTenantOverridePeriod,
            or: ConfigDuration(milliseconds: perTenantOverridePeriodMs)
        ).milliseconds
        guard perTenantOverridePeriodMs >= 100 else {
            throw ConfigurationError(
                path: ConfigurationError.path(decoder.codingPath + [CodingKeys.perTenantOverridePeriod]),
                message: "must be at least 100ms"
            )
        }
        if keys.contains(.userConfigurableOverrides) { defaults.notApplied.append("user_configurable_overrides") }
    }
}
