import MetronomeWire

/// Turns spans into ``SideUpdate``s (spec §3.3–3.5): which side a span is, its service, dimension values (resource
/// first, then span), peer attribute (span only), and for client spans the database-call detection.
struct SpanSideLocator: Sendable {
    /// Attribute keys, by role, as bytes.
    private let keys: StaticBytes
    private let dimensionKeys: Range<Int>
    private let peerKeys: Range<Int>
    private let databaseNameKeys: Range<Int>
    private let keyCount: Int
    private static let serviceName = 0
    private static let peerService = 1
    private static let serverAddress = 2
    private static let networkPeerAddress = 3
    private static let networkPeerPort = 4
    let dimensionCount: Int
    let serverToServer: Bool

    init(configuration: ServiceGraphsProcessor.Configuration) {
        var strings = ["service.name", "peer.service", "server.address", "network.peer.address", "network.peer.port"]
        dimensionKeys = strings.count..<(strings.count + configuration.dimensions.count)
        strings += configuration.dimensions
        peerKeys = strings.count..<(strings.count + configuration.peerAttributes.count)
        strings += configuration.peerAttributes
        databaseNameKeys = strings.count..<(strings.count + configuration.databaseNameAttributes.count)
        strings += configuration.databaseNameAttributes
        keys = StaticBytes(strings)
        keyCount = strings.count
        dimensionCount = configuration.dimensions.count
        serverToServer = configuration.enableServerToServerEdges
    }

    /// The per-batch buffers updates point into.
    struct Work {
        var scratch: [UInt8] = []
        var dimensions: [SideValue] = []
        var updates: [[SideUpdate]] = Array(repeating: [], count: EdgeStore.shardCount)
        var markers: [[(key: EdgeKey, side: EdgeSide)]] = Array(repeating: [], count: EdgeStore.shardCount)
        /// The current resource's value of every key (absent where the resource lacks it), looked up once per
        /// resource (ARCHITECTURE.md, hot-path rule 4).
        var resourceValues: [SideValue] = []
    }

    /// Looks up every key in the resource's attributes once, and returns its service name, or nil when it has none
    /// (the whole resource is skipped, spec §3.3).
    func beginResource(_ resource: ResourceRecord, batch: SpanBatch, bytes: UnsafeRawBufferPointer, work: inout Work)
        -> ValueRef?
    {
        let attributes = Int(resource.attributes.lowerBound)..<Int(resource.attributes.upperBound)
        work.resourceValues.removeAll(keepingCapacity: true)
        for index in 0..<keyCount {
            // Peer attributes are read from spans only (spec §3.4).
            guard !peerKeys.contains(index) else {
                work.resourceValues.append(.absent)
                continue
            }
            let found = batch.firstAttribute(keys[index], in: attributes, bytes: bytes)
            work.resourceValues.append(found.map { located(batch.attributes[$0], bytes, &work) } ?? .absent)
        }
        let service = work.resourceValues[Self.serviceName]
        return service.present ? service.ref : nil
    }

    /// The side a span kind plays, if any.
    static func side(of kind: Int32) -> EdgeSide? {
        switch kind {
        case SpanKind.client, SpanKind.producer: .client
        case SpanKind.server, SpanKind.consumer: .server
        default: nil
        }
    }

    /// Queues the span's update (and, with server-to-server edges on, a SERVER span's parent offer).
    func enqueue(
        _ span: SpanRecord,
        side: EdgeSide,
        service: ValueRef,
        multiplier: Double,
        batch: SpanBatch,
        bytes: UnsafeRawBufferPointer,
        work: inout Work
    ) {
        let latency =
            span.endTimeUnixNano >= span.startTimeUnixNano
            ? Double(span.endTimeUnixNano - span.startTimeUnixNano) / 1e9 : 0
        let dimensionsStart = Int32(work.dimensions.count)
        for index in dimensionKeys {
            work.dimensions.append(value(index, resourceFirst: true, span: span, batch, bytes, &work))
        }
        var peer = SideValue.absent
        for index in peerKeys where !peer.present {
            peer = value(index, resourceFirst: false, span: span, batch, bytes, &work)
        }
        var update = SideUpdate(
            key: EdgeKey(trace: span.traceID, span: side == .client ? span.spanID : span.parentSpanID, bytes: bytes),
            side: side,
            kind: span.kind,
            service: service,
            latency: latency,
            timeNanos: side == .client ? span.endTimeUnixNano : span.startTimeUnixNano,
            failed: span.statusCode == 2,
            multiplier: multiplier,
            peer: peer,
            dimensionsStart: dimensionsStart
        )
        if side == .client {
            locateDatabase(span, batch: batch, bytes: bytes, update: &update, work: &work)
        }
        work.updates[update.key.shard].append(update)
        if serverToServer && span.kind == SpanKind.server {
            update.key = EdgeKey(trace: span.traceID, span: span.spanID, bytes: bytes)
            update.side = .serverParent
            update.timeNanos = span.endTimeUnixNano
            update.peer = .absent
            work.updates[update.key.shard].append(update)
        }
    }

    /// Spec §3.5: the first `database_name_attributes` key present marks a database call; the server is then named
    /// by `peer.service`, `server.address`, `network.peer.address[:network.peer.port]`, or the database name.
    private func locateDatabase(
        _ span: SpanRecord,
        batch: SpanBatch,
        bytes: UnsafeRawBufferPointer,
        update: inout SideUpdate,
        work: inout Work
    ) {
        var databaseName = SideValue.absent
        for index in databaseNameKeys where !databaseName.present {
            databaseName = value(index, resourceFirst: true, span: span, batch, bytes, &work)
        }
        guard databaseName.present else { return }
        update.isDatabase = true
        for key in [Self.peerService, Self.serverAddress] {
            let found = value(key, resourceFirst: true, span: span, batch, bytes, &work)
            if found.present {
                update.databaseServer = found
                return
            }
        }
        let address = value(Self.networkPeerAddress, resourceFirst: true, span: span, batch, bytes, &work)
        if address.present {
            let port = value(Self.networkPeerPort, resourceFirst: true, span: span, batch, bytes, &work)
            guard port.present else {
                update.databaseServer = address
                return
            }
            let start = work.scratch.count
            Self.append(address.ref, bytes, to: &work.scratch)
            work.scratch.append(UInt8(ascii: ":"))
            Self.append(port.ref, bytes, to: &work.scratch)
            update.databaseServer = SideValue(
                ref: ValueRef(inScratch: true, offset: UInt32(start), count: UInt32(work.scratch.count - start)),
                present: true
            )
        } else if databaseName.ref.count > 0 {
            update.databaseServer = databaseName
        }
    }

    /// Appends a located value's bytes to the scratch bytes.
    private static func append(_ ref: ValueRef, _ bytes: UnsafeRawBufferPointer, to scratch: inout [UInt8]) {
        let range = Int(ref.offset)..<(Int(ref.offset) + Int(ref.count))
        if ref.inScratch {
            scratch.append(contentsOf: Array(scratch[range]))
        } else {
            scratch.append(contentsOf: bytes[range])
        }
    }

    /// The value of key `index`: the resource's (looked up in ``beginResource``) when `resourceFirst` and present,
    /// else the span's.
    private func value(
        _ index: Int,
        resourceFirst: Bool,
        span: SpanRecord,
        _ batch: SpanBatch,
        _ bytes: UnsafeRawBufferPointer,
        _ work: inout Work
    ) -> SideValue {
        if resourceFirst && work.resourceValues[index].present { return work.resourceValues[index] }
        guard let found = batch.firstAttribute(keys[index], in: span.attributes, bytes: bytes) else { return .absent }
        return located(batch.attributes[found], bytes, &work)
    }

    /// An attribute's value: strings point into the request, other types are stringified into the scratch bytes
    /// (spec §2.6).
    private func located(_ attribute: AttributeRecord, _ bytes: UnsafeRawBufferPointer, _ work: inout Work) -> SideValue
    {
        if attribute.type == .string {
            return SideValue(
                ref: ValueRef(inScratch: false, offset: attribute.value.offset, count: attribute.value.count),
                present: true
            )
        }
        let start = work.scratch.count
        AttributeValueFormatter.append(attribute, bytes: bytes, to: &work.scratch)
        return SideValue(
            ref: ValueRef(inScratch: true, offset: UInt32(start), count: UInt32(work.scratch.count - start)),
            present: true
        )
    }
}
