/// Settings every tenant's registry shares: timing, constant labels and label limits (`metrics_generator.registry`).
public struct RegistryConfiguration: Sendable, Equatable {
    /// How often series are collected and sent (Tempo default 15 s).
    public var collectionIntervalMs: Int64 = 15_000
    /// Series not updated for longer than this are removed (Tempo default 15 m).
    public var staleDurationMs: Int64 = 15 * 60_000
    /// Labels added to every series; they overwrite processor labels of the same name, and an empty value removes
    /// the label (spec §1.6).
    public var externalLabels: [String: String] = [:]
    /// The value of `__metrics_gen_instance` on every series (the host name, spec §1.6).
    public var instanceLabel: String = ""
    /// Label names longer than this many bytes are cut (on a UTF-8 character boundary; spec §5.1 cuts bytes).
    public var maxLabelNameLength: Int = 1024
    /// Label values longer than this many bytes are cut, on a UTF-8 character boundary.
    public var maxLabelValueLength: Int = 2048
    /// The label that carries the trace id on exemplars (`trace_id_label_name`, spec §2.9).
    public var traceIDLabelName = "traceID"
    /// When set, every series gets the label `<injectTenantIDAs>=<tenant>` (`inject_tenant_id_as`, spec §1.6).
    public var injectTenantIDAs = ""
    /// The tenant these series belong to (set by the ``Generator``), for ``injectTenantIDAs``.
    public var tenant = ""

    public init() {}

    /// External labels, `__metrics_gen_instance` and the injected tenant label, with names truncated, in a stable
    /// order; later ones overwrite earlier ones of the same name (spec §1.6).
    var constantLabels: [(name: String, value: String)] {
        var labels = externalLabels.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
        labels.removeAll { $0.name == "__metrics_gen_instance" || $0.name == injectTenantIDAs }
        labels.append((name: "__metrics_gen_instance", value: instanceLabel))
        if !injectTenantIDAs.isEmpty { labels.append((name: injectTenantIDAs, value: tenant)) }
        return labels.map { (name: truncatedName($0.name), value: truncatedValue($0.value)) }
    }

    /// `name` cut to ``maxLabelNameLength`` bytes on a character boundary.
    func truncatedName(_ name: String) -> String { Self.truncate(name, to: maxLabelNameLength) }

    /// `value` cut to ``maxLabelValueLength`` bytes on a character boundary.
    func truncatedValue(_ value: String) -> String { Self.truncate(value, to: maxLabelValueLength) }

    private static func truncate(_ string: String, to limit: Int) -> String {
        let bytes = Array(string.utf8)
        let length = bytes.withUnsafeBytes { UTF8Validation.truncatedLength($0, limit: limit) }
        return String(decoding: bytes[..<length], as: UTF8.self)
    }
}
