import MetronomeWire

/// The labels of a resource's `traces_target_info` series (spec §2.5).
///
/// Every resource attribute becomes a label (sanitized name, `__` prefix on a clash with an intrinsic or `job` /
/// `instance`), except empty keys, keys starting with a digit, `service.name`, `service.namespace`,
/// `service.instance.id` and excluded keys; then `job` and `instance`. A resource gets a series only when it has a
/// job or an instance and at least one other label.
struct TargetInfoLabels: Sendable {
    private let excluded: Set<[UInt8]>
    private let instanceLabel: Bool
    private let maxNameLength: Int
    private let maxValueLength: Int
    private static let identifying: Set<String> = ["service.name", "service.namespace", "service.instance.id"]
    private static let reserved: Set<String> = LabelNames.intrinsics.union(["job", "instance"])

    init(excludedKeys: [String], instanceLabel: Bool, registry: RegistryConfiguration) {
        excluded = Set(excludedKeys.map { Array($0.utf8) })
        self.instanceLabel = instanceLabel
        maxNameLength = registry.maxLabelNameLength
        maxValueLength = registry.maxLabelValueLength
    }

    enum Outcome: Equatable {
        /// The resource gets no target_info series.
        case none
        /// A label is not valid UTF-8: no series, and the resource's spans count as invalid (spec §2.2 d).
        case invalidUTF8
        /// The series' labels, sorted by name.
        case labels([InfoLabel])
    }

    /// One label of an info series.
    struct InfoLabel: Equatable {
        var name: String
        var value: String
    }

    func outcome(for resource: ResourceRecord, batch: SpanBatch, bytes: UnsafeRawBufferPointer) -> Outcome {
        let identity = ResourceIdentity(resource, batch: batch, bytes: bytes)
        var labels: [String: String] = [:]
        var scratch: [UInt8] = []
        for index in Int(resource.attributes.lowerBound)..<Int(resource.attributes.upperBound) {
            let attribute = batch.attributes[index]
            let key = bytes[attribute.key.range]
            guard let first = key.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
                !excluded.contains(Array(key))
            else { continue }
            let keyString = String(decoding: key, as: UTF8.self)
            guard !Self.identifying.contains(keyString) else { continue }
            scratch.removeAll(keepingCapacity: true)
            AttributeValueFormatter.append(attribute, bytes: bytes, to: &scratch)
            var name = LabelNames.sanitize(keyString)
            if Self.reserved.contains(name) { name = "__" + name }
            guard let value = label(scratch) else { return .invalidUTF8 }
            labels[truncated(name)] = value.isEmpty ? nil : value
        }
        let attributeLabels = labels.count
        if !identity.job.isEmpty { labels["job"] = identity.job }
        if instanceLabel && !identity.instance.isEmpty { labels["instance"] = identity.instance }
        guard labels.count > attributeLabels, attributeLabels > 0 else { return .none }
        return .labels(
            labels.map { InfoLabel(name: $0.key, value: $0.value) }
                .sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        )
    }

    /// A value's label form: cut on a character boundary, or nil when it is not valid UTF-8.
    private func label(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { raw in
            guard UTF8Validation.isValid(raw) else { return nil }
            let length = UTF8Validation.truncatedLength(raw, limit: maxValueLength)
            return String(decoding: raw[0..<length], as: UTF8.self)
        }
    }

    private func truncated(_ name: String) -> String {
        let bytes = Array(name.utf8)
        let length = bytes.withUnsafeBytes { UTF8Validation.truncatedLength($0, limit: maxNameLength) }
        return String(decoding: bytes[..<length], as: UTF8.self)
    }
}

/// A resource's `service.name`, `service.namespace` and `service.instance.id` (first occurrences, stringified) and
/// the `job` they make: empty without a service name, else `namespace/name` or `name` (spec §2.2).
struct ResourceIdentity {
    var service = ""
    var namespace = ""
    var instance = ""

    init(_ resource: ResourceRecord, batch: SpanBatch, bytes: UnsafeRawBufferPointer) {
        var seen: Set<String> = []
        for index in Int(resource.attributes.lowerBound)..<Int(resource.attributes.upperBound) {
            let attribute = batch.attributes[index]
            let key = String(decoding: bytes[attribute.key.range], as: UTF8.self)
            guard ["service.name", "service.namespace", "service.instance.id"].contains(key), seen.insert(key).inserted
            else { continue }
            var value: [UInt8] = []
            AttributeValueFormatter.append(attribute, bytes: bytes, to: &value)
            let text = String(decoding: value, as: UTF8.self)
            switch key {
            case "service.name": service = text
            case "service.namespace": namespace = text
            default: instance = text
            }
        }
    }

    var job: String {
        if service.isEmpty { return "" }
        return namespace.isEmpty ? service : namespace + "/" + service
    }
}
