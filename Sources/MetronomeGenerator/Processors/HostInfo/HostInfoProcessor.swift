import MetronomeWire

/// Tempo's host-info processor (spec §4): a gauge of 1 per host, `traces_host_info{grafana_host_id, host_source}`,
/// for every resource of a push that names its host by one of `host_identifiers` — whatever became of its spans —
/// refreshed by every push that names it, and ended by a staleness marker like any series once idle.
public final class HostInfoProcessor: Processor {
    /// The processor's name in `overrides…processors`.
    public static let name = "host-info"
    static let enablingNames = [name]
    static let labelNames = ["grafana_host_id", "host_source"]

    public let configuration: Configuration
    let store: SeriesStore
    /// The identifiers' bytes, one after the other, and where each is.
    private let identifierBytes: [UInt8]
    private let identifiers: [ByteRange]
    private let maxValueLength: Int

    /// - Parameter previous: the processor this one replaces after a reconfiguration: its hosts continue when the
    ///   metric name is unchanged.
    public init(
        configuration: Configuration,
        registry: RegistryConfiguration,
        limiter: SeriesLimiter = SeriesLimiter(),
        continuing previous: HostInfoProcessor? = nil
    ) {
        self.configuration = configuration
        var bytes: [UInt8] = []
        identifiers = configuration.hostIdentifiers.map { key in
            defer { bytes += key.utf8 }
            return ByteRange(offset: UInt32(bytes.count), count: UInt32(key.utf8.count))
        }
        identifierBytes = bytes
        maxValueLength = registry.maxLabelValueLength
        store = SeriesStore.continuing(
            previous?.store,
            columnNames: Self.labelNames,
            layout: MetricLayout([(configuration.metricName, .gauge)]),
            registry: registry,
            limiter: limiter
        )
    }

    static func make(
        _ configuration: Generator.Configuration,
        limiter: SeriesLimiter,
        nowMs: Int64,
        continuing previous: HostInfoProcessor?
    ) -> HostInfoProcessor? {
        guard configuration.processors.contains(name) else { return nil }
        return HostInfoProcessor(
            configuration: configuration.hostInfo,
            registry: configuration.registry,
            limiter: limiter,
            continuing: previous
        )
    }

    var stores: ProcessorStores { ProcessorStores(series: [(Self.name, store)]) }

    /// Marks the host of every resource of `batch` alive.
    func push(_ batch: SpanBatch, nowMs: Int64, report: inout ProcessorReport) {
        let recorded = batch.withBytes { bytes in
            identifierBytes.withUnsafeBytes { keys in
                var hosts: [[Host]] = Array(repeating: [], count: SeriesStore.shardCount)
                for resource in batch.resources {
                    guard let host = host(of: resource, batch: batch, bytes: bytes, keys: keys) else { continue }
                    hosts[SeriesStore.shard(of: host.hash)].append(host)
                }
                var recorder = Recorder(bytes: bytes, keys: keys, identifiers: identifiers)
                return store.record(hosts, nowMs: nowMs, &recorder)
            }
        }
        report.discard(recorded.invalidUTF8, processor: Self.name, reason: "invalid_utf8")
        report.overflow(recorded.overflowed, processor: Self.name)
    }

    /// A resource's host: its value's bytes in the request, the identifier that named it, and the label set's hash.
    struct Host {
        var value: ByteRange
        var identifier: Int
        var hash: UInt64
    }

    /// Spec §4: for each identifier in order, the resource's first attribute of that key with a non-empty string
    /// value.
    private func host(
        of resource: ResourceRecord,
        batch: SpanBatch,
        bytes: UnsafeRawBufferPointer,
        keys: UnsafeRawBufferPointer
    ) -> Host? {
        let attributes = Int(resource.attributes.lowerBound)..<Int(resource.attributes.upperBound)
        for (index, range) in identifiers.enumerated() {
            let key = keys.bytes(offset: range.offset, count: range.count)
            for position in attributes {
                let attribute = batch.attributes[position]
                guard attribute.type == .string, attribute.value.count > 0, bytes.bytes(at: attribute.key, equal: key)
                else { continue }
                var value = attribute.value
                value.count = UInt32(
                    UTF8Validation.truncatedLength(
                        bytes.bytes(offset: value.offset, count: value.count),
                        limit: maxValueLength
                    )
                )
                var hash = SeriesHash.combine(
                    SeriesHash.seed,
                    SeriesHash.hash(bytes.bytes(offset: value.offset, count: value.count)),
                    column: 0
                )
                hash = SeriesHash.combine(hash, SeriesHash.hash(key), column: 1)
                return Host(value: value, identifier: index, hash: hash)
            }
        }
        return nil
    }

    /// Records hosts: `grafana_host_id` from the request, `host_source` the identifier; the gauge is 1.
    private struct Recorder: SeriesRecorder {
        let bytes: UnsafeRawBufferPointer
        let keys: UnsafeRawBufferPointer
        let identifiers: [ByteRange]

        func labels(of host: Host, into columns: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>) -> UInt64 {
            let key = identifiers[host.identifier]
            columns[0] = bytes.bytes(offset: host.value.offset, count: host.value.count)
            columns[1] = keys.bytes(offset: key.offset, count: key.count)
            return host.hash
        }

        func observe(
            _ host: Host,
            into values: UnsafeMutableBufferPointer<Double>,
            natives: UnsafeMutableBufferPointer<NativeHistogram>,
            exemplars: inout SeriesStore.Exemplars
        ) {
            values[0] = 1
        }
    }
}
