import MetronomeWire

/// Derives Tempo's service graph — `traces_service_graph_request_total`, `…_request_failed_total`, the client,
/// server and messaging-system latency histograms and `…_connection_info` — by pairing client and server spans of
/// the same call across batches (spec §3).
///
/// Per batch: each participating span becomes a side update, queued by its edge key's shard (phase 1); each pairing
/// shard is locked once and its updates applied — a span meeting its other half completes the edge, otherwise it
/// waits up to `wait` (phase 2); completed edges are then recorded in the series store, one lock per series shard
/// (phase 3). ``expire(nowMs:)`` turns edges whose other half never came into virtual-node edges or counts them.
public final class ServiceGraphsProcessor: Sendable {
    /// The processor's name in `overrides…processors`.
    public static let name = "service-graphs"

    public let configuration: Configuration
    let store: SeriesStore
    let edges: EdgeStore
    private let labels: EdgeLabels
    private let locator: SpanSideLocator
    private let filter: SpanFilter
    private let multiplier: SpanMultiplier
    private let bounds: [Double]
    /// Where each metric keeps its values in an entry; -1 for a disabled one.
    private let requestOffset: Int
    private let failedOffset: Int
    private let serverOffset: Int
    private let clientOffset: Int
    private let messagingOffset: Int
    private let connectionInfoOffset: Int

    public init(configuration: Configuration, registry: RegistryConfiguration, limiter: SeriesLimiter = SeriesLimiter())
    {
        self.configuration = configuration
        labels = EdgeLabels(configuration: configuration, maxValueLength: registry.maxLabelValueLength)
        locator = SpanSideLocator(configuration: configuration)
        filter = SpanFilter(configuration.filterPolicies)
        multiplier = SpanMultiplier(
            key: Array(configuration.spanMultiplierKey.utf8),
            useTraceState: configuration.enableTracestateSpanMultiplier
        )
        bounds = configuration.histogramBuckets.sorted()
        var metrics: [(String, MetricLayout.Kind)] = []
        if configuration.metrics.contains(.request) {
            metrics.append(("traces_service_graph_request_total", .counter))
            metrics.append(("traces_service_graph_request_failed_total", .counter))
        }
        if configuration.metrics.contains(.latency) {
            metrics.append(("traces_service_graph_request_server_seconds", .histogram(bounds: bounds)))
            metrics.append(("traces_service_graph_request_client_seconds", .histogram(bounds: bounds)))
            if configuration.enableMessagingSystemLatencyHistogram {
                metrics.append(("traces_service_graph_request_messaging_system_seconds", .histogram(bounds: bounds)))
            }
        }
        if configuration.metrics.contains(.connectionInfo) {
            metrics.append(("traces_service_graph_connection_info", .gauge))
        }
        let layout = MetricLayout(metrics)
        func offset(_ name: String) -> Int { layout.metrics.first { $0.name == name }?.offset ?? -1 }
        requestOffset = offset("traces_service_graph_request_total")
        failedOffset = offset("traces_service_graph_request_failed_total")
        serverOffset = offset("traces_service_graph_request_server_seconds")
        clientOffset = offset("traces_service_graph_request_client_seconds")
        messagingOffset = offset("traces_service_graph_request_messaging_system_seconds")
        connectionInfoOffset = offset("traces_service_graph_connection_info")
        store = SeriesStore(columnNames: labels.names, layout: layout, registry: registry, limiter: limiter)
        edges = EdgeStore(
            labels: labels,
            maxItems: configuration.maxItems,
            maxBytes: configuration.maxPendingBytes
        )
    }

    /// What a push or an expiry pass did, for self-metrics (Tempo's `…_service_graphs_*` counters).
    public struct Result: Sendable, Equatable {
        /// New edges: a half buffered, or completed on arrival (`…_edges`).
        public var newEdges = 0
        /// Edges recorded in the series.
        public var completedEdges = 0
        /// Spans refused because the pairing store was full (`…_dropped_spans`).
        public var droppedSpans = 0
        /// Edges lost because their other side was filtered out (`…_dropped_edges_total`).
        public var droppedEdges = 0
        /// Dropped-side markers not stored because the marker cache was full.
        public var markerOverflow = 0
        /// Spans the filter policies rejected.
        public var filtered = 0
        /// Edges expired without a virtual node, by the OTLP span kind of the side seen (`…_expired_edges`).
        public var expiredByKind: [Int32: Int] = [:]
        /// Edges whose labels were not valid UTF-8 (not recorded).
        public var invalidUTF8 = 0
        /// Edges counted in the `{metric_overflow="true"}` series because of the series limit.
        public var overflowed = 0
    }

    /// Pairs the batch's client and server spans and records the edges they complete.
    public func push(_ batch: SpanBatch, nowMs: Int64) -> Result {
        var result = Result()
        var work = SpanSideLocator.Work()
        batch.withBytes { bytes in locate(batch, bytes: bytes, work: &work, result: &result) }
        var completed = CompletedEdges()
        batch.withBytes { batchBytes in
            work.scratch.withUnsafeBytes { scratchBytes in
                let bytes = SideBytes(batch: batchBytes, scratch: scratchBytes)
                work.dimensions.withUnsafeBufferPointer { dimensions in
                    for shard in 0..<EdgeStore.shardCount
                    where !work.updates[shard].isEmpty || !work.markers[shard].isEmpty {
                        pair(
                            work.updates[shard],
                            markers: work.markers[shard],
                            shard: shard,
                            bytes: bytes,
                            dimensions: dimensions,
                            nowMs: nowMs,
                            completed: &completed,
                            result: &result
                        )
                    }
                }
            }
        }
        record(completed, nowMs: nowMs, result: &result)
        return result
    }

    /// Expires every edge whose `wait` is over and records the virtual-node edges that makes (spec §3.8).
    public func expire(nowMs: Int64) -> Result {
        var result = Result()
        var completed = CompletedEdges()
        for shard in 0..<EdgeStore.shardCount {
            edges.withShard(shard) { state, _, _ in
                _ = state.expire(
                    nowMs: nowMs,
                    virtualNodeLabel: configuration.enableVirtualNodeLabel,
                    completed: &completed,
                    expiredKinds: &result.expiredByKind
                )
            }
        }
        record(completed, nowMs: nowMs, result: &result)
        return result
    }

    // MARK: Phase 1

    private func locate(
        _ batch: SpanBatch,
        bytes: UnsafeRawBufferPointer,
        work: inout SpanSideLocator.Work,
        result: inout Result
    ) {
        let memo = RegexMemo()
        batch.attributes.withUnsafeBufferPointer { attributes in
            for resource in batch.resources where !resource.spans.isEmpty {
                guard let service = locator.beginResource(resource, batch: batch, bytes: bytes, work: &work) else {
                    continue
                }
                let resourceAttributes = Int(resource.attributes.lowerBound)..<Int(resource.attributes.upperBound)
                for spanIndex in resource.spans {
                    let span = batch.spans[Int(spanIndex)]
                    guard let side = SpanSideLocator.side(of: span.kind) else { continue }
                    if filter.isEnabled
                        && !filter.accepts(
                            span,
                            resourceAttributes: resourceAttributes,
                            attributes: attributes,
                            bytes: bytes,
                            memo: memo
                        )
                    {
                        result.filtered += 1
                        // Spec §3.6: remember the missing side, except for a root server span (no parent to key on).
                        if side == .client || span.parentSpanID.count > 0 {
                            let key = EdgeKey(
                                trace: span.traceID,
                                span: side == .client ? span.spanID : span.parentSpanID,
                                bytes: bytes
                            )
                            work.markers[key.shard].append((key, side))
                        }
                        continue
                    }
                    let weight =
                        multiplier.isEnabled
                        ? multiplier.multiplier(
                            of: span,
                            resourceAttributes: resourceAttributes,
                            batch: batch,
                            bytes: bytes
                        ) : 1
                    locator.enqueue(
                        span,
                        side: side,
                        service: service,
                        multiplier: weight,
                        batch: batch,
                        bytes: bytes,
                        work: &work
                    )
                }
            }
        }
    }

    // MARK: Phase 2

    private func pair(
        _ updates: [SideUpdate],
        markers: [(key: EdgeKey, side: EdgeSide)],
        shard: Int,
        bytes: SideBytes,
        dimensions: UnsafeBufferPointer<SideValue>,
        nowMs: Int64,
        completed: inout CompletedEdges,
        result: inout Result
    ) {
        edges.withShard(shard) { state, admit, admitMarker in
            for marker in markers {
                let added = state.addMarker(
                    marker.key,
                    side: marker.side,
                    nowMs: nowMs,
                    waitMs: configuration.waitMs,
                    admit: admitMarker
                )
                if added.droppedEdge { result.droppedEdges += 1 }
                if added.overflow { result.markerOverflow += 1 }
            }
            for update in updates {
                switch state.upsert(
                    update,
                    bytes: bytes,
                    dimensions: dimensions,
                    nowMs: nowMs,
                    waitMs: configuration.waitMs,
                    admit: admit,
                    completed: &completed
                ) {
                case .completed(let new), .buffered(let new):
                    if new && update.side != .serverParent { result.newEdges += 1 }
                case .droppedSide: result.droppedEdges += 1
                case .tooManyItems: if update.side != .serverParent { result.droppedSpans += 1 }
                case .ignored: break
                }
            }
        }
    }

    // MARK: Phase 3

    private func record(_ completed: CompletedEdges, nowMs: Int64, result: inout Result) {
        guard !completed.edges.isEmpty else { return }
        var byShard = [[Int]](repeating: [], count: SeriesStore.shardCount)
        for (index, edge) in completed.edges.enumerated() { byShard[SeriesStore.shard(of: edge.hash)].append(index) }
        let columnCount = labels.names.count
        var columns = [UnsafeRawBufferPointer](
            repeating: UnsafeRawBufferPointer(start: nil, count: 0),
            count: columnCount
        )
        var overflow: [Double] = []
        var exemplars: [(slot: Int, value: Double)] = []
        completed.arena.withUnsafeBytes { arena in
            for (shard, indices) in byShard.enumerated() where !indices.isEmpty {
                store.withShard(shard) { table in
                    for index in indices {
                        let edge = completed.edges[index]
                        for column in 0..<columnCount {
                            let ref = completed.refs[edge.refsStart + column]
                            columns[column] = UnsafeRawBufferPointer(
                                rebasing: arena[Int(ref.offset)..<(Int(ref.offset) + Int(ref.count))]
                            )
                        }
                        let entry: Int
                        switch store.admit(columns, hash: edge.hash, into: &table, nowMs: nowMs) {
                        case .entry(let admitted): entry = admitted
                        case .overLimit:
                            if overflow.isEmpty { overflow = Array(repeating: 0, count: table.valueWidth) }
                            observe(edge, into: &overflow, at: 0, exemplars: &exemplars)
                            result.overflowed += 1
                            continue
                        case .invalidUTF8:
                            result.invalidUTF8 += 1
                            continue
                        }
                        observe(edge, into: &table.values, at: entry * table.valueWidth, exemplars: &exemplars)
                        for (slot, value) in exemplars {
                            table.setExemplar(
                                StoredExemplar(traceIDHigh: edge.traceHigh, traceIDLow: edge.traceLow, value: value),
                                entry: entry,
                                slot: slot
                            )
                        }
                        table.lastUpdatedMs[entry] = nowMs
                        result.completedEdges += 1
                    }
                }
            }
        }
        if !overflow.isEmpty { store.addToOverflow(overflow, nowMs: nowMs) }
    }

    /// Adds one edge to the entry whose doubles start at `base` (spec §3.7: counters, then server, client and
    /// messaging histograms, then connection info); `exemplars` is set to each observed histogram's bucket slot and
    /// value.
    private func observe(
        _ edge: CompletedEdges.Edge,
        into values: inout [Double],
        at base: Int,
        exemplars: inout [(slot: Int, value: Double)]
    ) {
        exemplars.removeAll(keepingCapacity: true)
        let weight = edge.multiplier
        if requestOffset >= 0 { values[base + requestOffset] += weight }
        if failedOffset >= 0 && edge.failed { values[base + failedOffset] += weight }
        func histogram(_ offset: Int, _ latency: Double) {
            guard offset >= 0 else { return }
            var bucket = 0
            while bucket < bounds.count && latency > bounds[bucket] { bucket += 1 }
            values[base + offset] += latency * weight
            values[base + offset + 1] += weight
            values[base + offset + 2 + bucket] += weight
            exemplars.append((offset + 2 + bucket, latency))
        }
        histogram(serverOffset, edge.serverLatency)
        histogram(clientOffset, edge.clientLatency)
        if edge.messagingLatency > 0 { histogram(messagingOffset, edge.messagingLatency) }
        if connectionInfoOffset >= 0 { values[base + connectionInfoOffset] = 1 }
    }
}
