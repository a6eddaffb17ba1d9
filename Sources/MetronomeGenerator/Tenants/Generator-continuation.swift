import MetronomeWire

extension Generator {
    /// What a reconfiguration did to each processor, for its log line.
    public struct Continuation: Sendable {
        /// Processors whose series all continue.
        public var kept: [String] = []
        /// Processors whose series restart because their identity (labels or buckets) changed.
        public var restarted: [String] = []
        /// Processors added.
        public var added: [String] = []
        /// Processors removed: their series end with a staleness marker.
        public var removed: [String] = []
        /// Stores no processor uses any more.
        var retired: [RetiredStore] = []

        /// Whether anything but settings changed.
        public var changesSeries: Bool { !restarted.isEmpty || !added.isEmpty || !removed.isEmpty }

        /// Nothing changed.
        public init() {}

        init(from previous: [any Processor], to current: [any Processor]) {
            func name(_ processor: any Processor) -> String { type(of: processor).name }
            let currentStores = current.flatMap { Self.identities(of: $0) }
            for old in previous {
                let stores = old.stores
                let unused =
                    stores.series.map { RetiredStore.series($0.store) }.filter { !currentStores.contains($0.identity) }
                    + stores.info.map { RetiredStore.info($0) }.filter { !currentStores.contains($0.identity) }
                retired += unused
                if !current.contains(where: { name($0) == name(old) }) {
                    removed.append(name(old))
                } else if unused.isEmpty {
                    kept.append(name(old))
                } else {
                    restarted.append(name(old))
                }
            }
            added = current.map(name).filter { new in !previous.contains { name($0) == new } }
        }

        private static func identities(of processor: any Processor) -> [ObjectIdentifier] {
            let stores = processor.stores
            return stores.series.map { ObjectIdentifier($0.store) } + stores.info.map { ObjectIdentifier($0) }
        }
    }

    /// A store left behind by a reconfiguration, whose series the next collection ends.
    enum RetiredStore: Sendable {
        case series(SeriesStore)
        case info(InfoStore)

        var identity: ObjectIdentifier {
            switch self {
            case .series(let store): ObjectIdentifier(store)
            case .info(let store): ObjectIdentifier(store)
            }
        }

        /// Ends every series with a staleness marker.
        /// - Returns: the Prometheus series ended.
        func end(timestampMs: Int64, into sink: inout some SampleSink) -> Int {
            switch self {
            case .series(let store): store.end(timestampMs: timestampMs, into: &sink) * store.layout.seriesPerEntry
            case .info(let store): store.end(timestampMs: timestampMs, into: &sink)
            }
        }
    }
}
