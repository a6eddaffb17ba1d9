import MetronomeWire

/// Derives Tempo's service graph — `traces_service_graph_request_total`, `…_request_failed_total`, the client,
/// server and messaging-system latency histograms and `…_connection_info` — by pairing client and server spans of
/// the same call across batches (spec §3).
///
/// Per batch: each participating span becomes a side update, queued by its edge key's shard (phase 1); each pairing
/// shard is locked once and its updates applied — a span meeting its other half completes the edge, otherwise it
/// waits up to `wait` (phase 2); completed edges are then recorded in the series store, one lock per series shard
/// (phase 3). ``expire(nowMs:)`` turns edges whose other half never came into virtual-node edges or counts them.
public final class ServiceGraphsProcessor: Processor {
    /// The processor's name in `overrides…processors`.
    public static let name = "service-graphs"
    static let enablingNames = [name] + Metrics.subProcessors.map(\.name)

    public let configuration: Configuration
    let store: SeriesStore
    let edges: EdgeStore
    private let labels: EdgeLabels
    private let locator: SpanSideLocator
    private let selection: SpanSelection
    private let offsets: Offsets

    /// - Parameter previous: the processor this one replaces after a reconfiguration: its series (and the half-edges
    ///   waiting for their other half) continue when the series' identity is unchanged.
    public init(
        configuration: Configuration,
        registry: RegistryConfiguration,
        limiter: SeriesLimiter = SeriesLimiter(),
        histograms: NativeHistogramSettings = NativeHistogramSettings(),
        continuing previous: ServiceGraphsProcessor? = nil
    ) {
        self.configuration = configuration
        labels = EdgeLabels(configuration: configuration, maxValueLength: registry.maxLabelValueLength)
        locator = SpanSideLocator(configuration: configuration)
        selection = SpanSelection(
            filterPolicies: configuration.filterPolicies,
            spanMultiplierKey: configuration.spanMultiplierKey,
            useTraceState: configuration.enableTracestateSpanMultiplier
        )
        let bounds = HistogramBounds(configuration.histogramBuckets)
        let histogram = MetricLayout.Kind.histogram(bounds: bounds.upperBounds, native: histograms)
        var metrics: [(String, MetricLayout.Kind)] = []
        if configuration.metrics.contains(.request) {
            metrics.append(("traces_service_graph_request_total", .counter))
            metrics.append(("traces_service_graph_request_failed_total", .counter))
        }
        if configuration.metrics.contains(.latency) {
            metrics.append(("traces_service_graph_request_server_seconds", histogram))
            metrics.append(("traces_service_graph_request_client_seconds", histogram))
            if configuration.enableMessagingSystemLatencyHistogram {
                metrics.append(("traces_service_graph_request_messaging_system_seconds", histogram))
            }
        }
        if configuration.metrics.contains(.connectionInfo) {
            metrics.append(("traces_service_graph_connection_info", .gauge))
        }
        let layout = MetricLayout(metrics)
        func latency(_ name: String) -> LatencyHistogram {
            LatencyHistogram(name, layout: layout, bounds: bounds, settings: histograms)
        }
        offsets = Offsets(
            request: layout.offset(of: "traces_service_graph_request_total"),
            failed: layout.offset(of: "traces_service_graph_request_failed_total"),
            server: latency("traces_service_graph_request_server_seconds"),
            client: latency("traces_service_graph_request_client_seconds"),
            messaging: latency("traces_service_graph_request_messaging_system_seconds"),
            connectionInfo: layout.offset(of: "traces_service_graph_connection_info")
        )
        store = SeriesStore.continuing(
            previous?.store,
            columnNames: labels.names,
            layout: layout,
            registry: registry,
            limiter: limiter
        )
        if let previous, previous.store === store {
            edges = previous.edges
        } else {
            edges = EdgeStore(labels: labels, maxItems: configuration.maxItems, maxBytes: configuration.maxPendingBytes)
        }
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
        /// Edges expired without a virtual node, by the OTLP span kind of the side seen (`…_expired_edges`).
        public var expiredByKind: [Int32: Int] = [:]
        /// Edges whose labels were not valid UTF-8 (not recorded).
        public var invalidUTF8 = 0
    }

    static func make(
        _ configuration: Generator.Configuration,
        limiter: SeriesLimiter,
        nowMs: Int64,
        continuing previous: ServiceGraphsProcessor?
    ) -> ServiceGraphsProcessor? {
        var own = configuration.serviceGraphs
        own.metrics = .enabled(by: configuration.processors)
        guard !own.metrics.isEmpty else { return nil }
        return ServiceGraphsProcessor(
            configuration: own,
            registry: configuration.registry,
            limiter: limiter,
            histograms: configuration.nativeHistograms,
            continuing: previous
        )
    }

    var stores: ProcessorStores { ProcessorStores(series: [(Self.name, store)]) }

    var latencyHistograms: [LatencyHistogram] { [offsets.server, offsets.client, offsets.messaging] }

    var pending: (count: Int, bytes: Int) { (edges.pendingCount, edges.pendingBytes) }

    /// Pairs the batch's client and server spans and records the edges they complete.
    func push(_ batch: SpanBatch, nowMs: Int64, report: inout ProcessorReport) {
        var visitor = SideVisitor(locator: locator)
        batch.withBytes { bytes in selection.walk(batch, bytes: bytes, &visitor) }
        report.discard(visitor.filtered, processor: Self.name, reason: "service_graphs_filtered")
        let work = visitor.work
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
                            result: &report.serviceGraphs
                        )
                    }
                }
            }
        }
        record(completed, nowMs: nowMs, report: &report)
    }

    /// Expires every edge whose `wait` is over and records the virtual-node edges that makes (spec §3.8).
    func expire(nowMs: Int64, report: inout ProcessorReport) {
        var completed = CompletedEdges()
        for shard in 0..<EdgeStore.shardCount {
            edges.withShard(shard) { state, _, _ in
                _ = state.expire(
                    nowMs: nowMs,
                    virtualNodeLabel: configuration.enableVirtualNodeLabel,
                    completed: &completed,
                    expiredKinds: &report.serviceGraphs.expiredByKind
                )
            }
        }
        record(completed, nowMs: nowMs, report: &report)
    }

    // MARK: Phase 1

    /// Turns each participating span into a side update queued by its edge key's shard; a span the filter rejects
    /// leaves a marker for its other side (spec §3.6).
    private struct SideVisitor: SpanVisitor {
        let locator: SpanSideLocator
        var work = SpanSideLocator.Work()
        /// The current resource's service name.
        var service = ValueRef.absent
        /// Spans the filter policies rejected.
        var filtered = 0

        init(locator: SpanSideLocator) { self.locator = locator }

        mutating func beginResource(_ resource: ResourceRecord, batch: SpanBatch, bytes: UnsafeRawBufferPointer)
            -> Bool
        {
            guard let service = locator.beginResource(resource, batch: batch, bytes: bytes, work: &work) else {
                return false
            }
            self.service = service
            return true
        }

        /// Only spans with a side take part, so `filteredOut` and `visit` always find one.
        func takesPart(_ span: SpanRecord) -> Bool { SpanSideLocator.side(of: span.kind) != nil }

        mutating func filteredOut(_ span: SpanRecord, bytes: UnsafeRawBufferPointer) {
            filtered += 1
            // Spec §3.6: remember the missing side, except for a root server span (no parent to key on).
            let side = SpanSideLocator.side(of: span.kind)!
            if side == .client || span.parentSpanID.count > 0 {
                let key = EdgeKey(
                    trace: span.traceID,
                    span: side == .client ? span.spanID : span.parentSpanID,
                    bytes: bytes
                )
                work.markers[key.shard].append((key, side))
            }
        }

        @inline(__always)
        mutating func visit(_ span: SpanRecord, weight: Double, batch: SpanBatch, bytes: UnsafeRawBufferPointer) {
            locator.enqueue(
                span,
                side: SpanSideLocator.side(of: span.kind)!,
                service: service,
                multiplier: weight,
                batch: batch,
                bytes: bytes,
                work: &work
            )
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

    private func record(_ completed: CompletedEdges, nowMs: Int64, report: inout ProcessorReport) {
        guard !completed.edges.isEmpty else { return }
        var byShard = [[Int]](repeating: [], count: SeriesStore.shardCount)
        for (index, edge) in completed.edges.enumerated() { byShard[SeriesStore.shard(of: edge.hash)].append(index) }
        let recorded = completed.arena.withUnsafeBytes { arena in
            completed.edges.withUnsafeBufferPointer { edges in
                completed.refs.withUnsafeBufferPointer { refs in
                    var recorder = Recorder(
                        edges: edges,
                        refs: refs,
                        arena: arena,
                        offsets: offsets,
                        nowMs: nowMs
                    )
                    return store.record(byShard, nowMs: nowMs, &recorder)
                }
            }
        }
        report.serviceGraphs.completedEdges += completed.edges.count - recorded.overflowed - recorded.invalidUTF8
        report.serviceGraphs.invalidUTF8 += recorded.invalidUTF8
        report.overflow(recorded.overflowed, processor: Self.name)
    }

    /// Where each metric keeps its values in an entry; -1 (or a disabled histogram) for a disabled one. A class: the
    /// recorder that holds it is copied per registry shard, and one reference costs less to copy than the
    /// histograms' several.
    final class Offsets: Sendable {
        let request: Int
        let failed: Int
        let server: LatencyHistogram
        let client: LatencyHistogram
        let messaging: LatencyHistogram
        let connectionInfo: Int

        init(
            request: Int,
            failed: Int,
            server: LatencyHistogram,
            client: LatencyHistogram,
            messaging: LatencyHistogram,
            connectionInfo: Int
        ) {
            self.request = request
            self.failed = failed
            self.server = server
            self.client = client
            self.messaging = messaging
            self.connectionInfo = connectionInfo
        }
    }

    /// Records completed edges (by index): label values from the completed edges' arena; spec §3.7's counters,
    /// then the server, client and messaging histograms, then connection info.
    private struct Recorder: SeriesRecorder {
        let edges: UnsafeBufferPointer<CompletedEdges.Edge>
        let refs: UnsafeBufferPointer<ArenaRef>
        let arena: UnsafeRawBufferPointer
        let offsets: Offsets
        let nowMs: Int64

        @inline(__always)
        func labels(of index: Int, into columns: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>) -> UInt64 {
            let edge = edges[index]
            for column in columns.indices {
                let ref = refs[edge.refsStart + column]
                columns[column] = arena.bytes(offset: ref.offset, count: ref.count)
            }
            return edge.hash
        }

        @inline(__always)
        func observe(
            _ index: Int,
            into values: UnsafeMutableBufferPointer<Double>,
            natives: UnsafeMutableBufferPointer<NativeHistogram>,
            exemplars: inout SeriesStore.Exemplars
        ) {
            let edge = edges[index]
            let weight = edge.multiplier
            if offsets.request >= 0 { values[offsets.request] += weight }
            if offsets.failed >= 0 && edge.failed { values[offsets.failed] += weight }
            func histogram(_ histogram: LatencyHistogram, _ latency: Double) {
                guard histogram.isEnabled else { return }
                histogram.observe(
                    latency,
                    weight: weight,
                    bucket: histogram.bounds.bucket(of: latency),
                    traceID: (edge.traceHigh, edge.traceLow),
                    values: values,
                    natives: natives,
                    exemplars: &exemplars,
                    nowMs: nowMs
                )
            }
            histogram(offsets.server, edge.serverLatency)
            histogram(offsets.client, edge.clientLatency)
            if edge.messagingLatency > 0 { histogram(offsets.messaging, edge.messagingLatency) }
            if offsets.connectionInfo >= 0 { values[offsets.connectionInfo] = 1 }
        }
    }
}
