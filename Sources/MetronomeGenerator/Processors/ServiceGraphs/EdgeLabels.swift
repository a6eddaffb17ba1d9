import MetronomeWire

/// The label columns of service-graph series (spec §3.7) and where each takes its value from a finished edge.
struct EdgeLabels: Sendable {
    enum Source: Sendable, Equatable {
        case client, server, connectionType
        /// One of the edge's dimension strings.
        case slot(Int)
        case virtualNode
    }

    /// Unique label names in column order, and each column's source.
    let names: [String]
    let sources: [Source]
    /// Strings per pending edge: client, server, peer, then the dimension values (per side with the prefix).
    let stringsPerEdge: Int
    let dimensionCount: Int
    let prefixed: Bool
    let maxValueLength: Int

    static let clientSlot = 0
    static let serverSlot = 1
    static let peerSlot = 2
    static let firstDimensionSlot = 3

    init(configuration: ServiceGraphsProcessor.Configuration, maxValueLength: Int) {
        dimensionCount = configuration.dimensions.count
        prefixed = configuration.enableClientServerPrefix
        stringsPerEdge = Self.firstDimensionSlot + dimensionCount * (prefixed ? 2 : 1)
        self.maxValueLength = maxValueLength
        var ordered: [(String, Source)] = [
            ("client", .client), ("server", .server), ("connection_type", .connectionType),
        ]
        for (index, dimension) in configuration.dimensions.enumerated() {
            let slot = Self.firstDimensionSlot + index
            if prefixed {
                ordered.append((LabelNames.sanitize("client_" + dimension), .slot(slot)))
                ordered.append((LabelNames.sanitize("server_" + dimension), .slot(slot + dimensionCount)))
            } else {
                // QUIRK kept (spec §3.7): no `__` prefix, so a dimension sanitizing to `client` replaces that label.
                ordered.append((LabelNames.sanitize(dimension), .slot(slot)))
            }
        }
        if configuration.enableVirtualNodeLabel { ordered.append(("virtual_node", .virtualNode)) }
        // Tempo's label builder: a later label of the same name wins.
        var names: [String] = []
        var sources: [Source] = []
        for (name, source) in ordered {
            if let existing = names.firstIndex(of: name) {
                sources[existing] = source
            } else {
                names.append(name)
                sources.append(source)
            }
        }
        self.names = names
        self.sources = sources
    }

    /// The dimension slot a side's value of dimension `index` goes to.
    @inline(__always)
    func dimensionSlot(_ index: Int, side: EdgeSide) -> Int {
        Self.firstDimensionSlot + index + (prefixed && side == .server ? dimensionCount : 0)
    }
}

/// The edges a batch (or an expiry pass) completed, their label values copied out of the pairing store, ready to be
/// recorded in the series store without holding the pairing store's locks.
struct CompletedEdges {
    struct Edge {
        var hash: UInt64
        var refsStart: Int
        var clientLatency: Double
        var serverLatency: Double
        /// Observed into the messaging-system histogram when > 0.
        var messagingLatency: Double
        var failed: Bool
        var multiplier: Double
        var traceHigh: UInt64
        var traceLow: UInt64
    }

    var arena: [UInt8] = []
    var refs: [ArenaRef] = []
    var edges: [Edge] = []

    /// The `virtual_node` label of an edge (spec §3.8), with ``EdgeLabels`` `enable_virtual_node_label`.
    enum VirtualNode: Int {
        case none = 0
        case client = 4
        case server = 5
    }

    /// `connection_type` values by ``ConnectionType`` raw value, then the `virtual_node` values.
    private static let constants = StaticBytes(["", "messaging_system", "database", "virtual_node", "client", "server"])

    /// Copies a finished edge's label values (from `strings`, the pairing shard's arena) and numbers.
    mutating func append(
        _ edge: PendingEdge,
        strings: (Int) -> UnsafeRawBufferPointer,
        virtualNode: VirtualNode,
        labels: EdgeLabels
    ) {
        let refsStart = refs.count
        var hash = SeriesHash.seed
        for (column, source) in labels.sources.enumerated() {
            var value: UnsafeRawBufferPointer
            switch source {
            case .client: value = strings(EdgeLabels.clientSlot)
            case .server: value = strings(EdgeLabels.serverSlot)
            case .slot(let slot): value = strings(slot)
            case .connectionType: value = Self.constants[Int(edge.connectionType.rawValue)]
            case .virtualNode: value = Self.constants[virtualNode.rawValue]
            }
            value = UnsafeRawBufferPointer(
                rebasing: value[0..<UTF8Validation.truncatedLength(value, limit: labels.maxValueLength)]
            )
            refs.append(ArenaRef(offset: UInt32(arena.count), count: UInt32(value.count)))
            arena.append(contentsOf: value)
            hash = SeriesHash.combine(hash, SeriesHash.hash(value), column: column)
        }
        // Spec §3.2: messaging latency = consumer start − producer end, observed only when positive.
        let messaging =
            edge.serverStartNanos > edge.clientEndNanos
            ? Double(edge.serverStartNanos - edge.clientEndNanos) / 1e9 : 0
        edges.append(
            Edge(
                hash: hash,
                refsStart: refsStart,
                clientLatency: edge.clientLatency,
                serverLatency: edge.serverLatency,
                messagingLatency: edge.connectionType == .messagingSystem ? messaging : 0,
                failed: edge.failed,
                multiplier: edge.multiplier,
                traceHigh: edge.key.traceHigh,
                traceLow: edge.key.traceLow
            )
        )
    }
}
