import MetronomeWire

/// How to turn an entry's column values into the sorted label set of each series it emits.
///
/// Built once per processor from its column names and the registry's constant labels (external labels and
/// `__metrics_gen_instance`, spec §1.6), so collection only walks a precomputed order. External labels overwrite a
/// column of the same name (Tempo's behaviour), and an external label with an empty value removes that label.
struct LabelPlan: Sendable {
    private enum Item: Sendable {
        case metricName
        case bucketBound
        case column(Int)
        case constant(Int)
    }

    private let items: [Item]
    /// Names of the items in order, followed by the constant values.
    private let bytes: StaticBytes

    /// - Parameters:
    ///   - columnNames: the processor's label names, one per column.
    ///   - registry: supplies external labels, the instance label and the name length limit.
    init(columnNames: [String], registry: RegistryConfiguration) {
        var named: [(name: String, item: Item)] = []
        let constants = registry.constantLabels
        let constantNames = Set(constants.map(\.name))
        for (index, name) in columnNames.enumerated() where !constantNames.contains(name) {
            named.append((name, .column(index)))
        }
        var constantValues: [String] = []
        for constant in constants where !constant.value.isEmpty {
            named.append((constant.name, .constant(constantValues.count)))
            constantValues.append(constant.value)
        }
        named.append(("__name__", .metricName))
        named.append(("le", .bucketBound))
        named.sort { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        items = named.map(\.item)
        bytes = StaticBytes(named.map(\.name) + constantValues)
    }

    /// Calls `body` with the labels of one series, sorted by name, skipping absent (empty) column values.
    /// - Parameters:
    ///   - name: the value of `__name__`.
    ///   - bucketBound: the value of `le`, or nil for a series without one.
    ///   - column: the value bytes of a column of the entry.
    func withLabels(
        name: UnsafeRawBufferPointer,
        bucketBound: UnsafeRawBufferPointer?,
        scratch: inout [LabelRef],
        column: (Int) -> UnsafeRawBufferPointer,
        _ body: (UnsafeBufferPointer<LabelRef>) -> Void
    ) {
        scratch.removeAll(keepingCapacity: true)
        for (index, item) in items.enumerated() {
            let value: UnsafeRawBufferPointer
            switch item {
            case .metricName: value = name
            case .bucketBound:
                guard let bucketBound else { continue }
                value = bucketBound
            case .column(let index): value = column(index)
            case .constant(let constant): value = bytes[items.count + constant]
            }
            if value.isEmpty { continue }
            scratch.append(LabelRef(name: bytes[index], value: value))
        }
        scratch.withUnsafeBufferPointer(body)
    }
}
