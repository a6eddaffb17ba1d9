import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// Spec §9.5 and §5.2/§5.3: initial zeros, collection timestamps, constant labels and staleness.
struct RegistryTests {
    /// endOfLastMinute(T) = floor(T / 60 000) × 60 000 − 1 000.
    let initialZero = (Fixtures.nowMs / 60_000) * 60_000 - 1_000

    @Test func newCounterGetsAZeroBeforeItsFirstValueThenNever() {
        let generator = Fixtures.generator()
        _ = generator.push(Fixtures.makeBatch(1, service: "one"), nowMs: Fixtures.nowMs)
        _ = generator.push(Fixtures.makeBatch(2, service: "two"), nowMs: Fixtures.nowMs)
        let first = Fixtures.collect(generator)
        #expect(
            first.find("traces_spanmetrics_calls_total", ["service": "one"]).first?.samples == [
                Sample(value: 0, timestampMs: initialZero), Sample(value: 1, timestampMs: Fixtures.nowMs),
            ]
        )
        #expect(first.find("traces_spanmetrics_calls_total", ["service": "two"]).first?.samples.map(\.value) == [0, 2])

        _ = generator.push(Fixtures.makeBatch(2, service: "two"), nowMs: Fixtures.nowMs + 1)
        _ = generator.push(Fixtures.makeBatch(3, service: "three"), nowMs: Fixtures.nowMs + 1)
        let later = Fixtures.nowMs + 15_000
        let second = Fixtures.collect(generator, at: later)
        #expect(
            second.find("traces_spanmetrics_calls_total", ["service": "one"]).first?.samples == [
                Sample(value: 1, timestampMs: later)
            ]
        )
        #expect(
            second.find("traces_spanmetrics_calls_total", ["service": "two"]).first?.samples == [
                Sample(value: 4, timestampMs: later)
            ]
        )
        #expect(
            second.find("traces_spanmetrics_calls_total", ["service": "three"]).first?.samples.map(\.value) == [0, 3]
        )
    }

    @Test func histogramZerosCoverCountAndBucketsButNotSum() {
        let generator = Fixtures.generator(buckets: [1, 2])
        _ = generator.push(Fixtures.makeBatch(1), nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        #expect(sink.find("traces_spanmetrics_latency_count").first?.samples.count == 2)
        #expect(
            sink.find("traces_spanmetrics_latency_sum").first?.samples == [
                Sample(value: 1, timestampMs: Fixtures.nowMs)
            ]
        )
        for bucket in sink.find("traces_spanmetrics_latency_bucket") {
            #expect(bucket.samples.first == Sample(value: 0, timestampMs: initialZero))
        }
        // A 1.0 s observation lands in le=1 (bounds are inclusive).
        #expect(sink.value("traces_spanmetrics_latency_bucket", ["le": "1"]) == 1)
    }

    @Test func oneTimestampForTheWholeRun() {
        let generator = Fixtures.generator()
        _ = generator.push(Fixtures.makeBatch(1, service: "a"), nowMs: Fixtures.nowMs)
        _ = generator.push(Fixtures.makeBatch(1, service: "b"), nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        #expect(Set(sink.series.compactMap { $0.samples.last?.timestampMs }) == [Fixtures.nowMs])
    }

    @Test func constantLabelsOnEverySampleAndLabelsSortedByName() {
        let generator = Fixtures.generator {
            $0.registry.externalLabels = ["source": "metronome", "Zone": "eu"]
        }
        _ = generator.push(Fixtures.makeBatch(1), nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        for series in sink.series {
            #expect(series.labels["source"] == "metronome")
            #expect(series.labels["Zone"] == "eu")
            #expect(series.labels["__metrics_gen_instance"] == "test-host")
            #expect(
                series.labelOrder
                    == series.labelOrder.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            )
            #expect(series.labelOrder.first == "Zone")
        }
    }

    @Test func externalLabelOverwritesAProcessorLabelAndAnEmptyOneRemovesIt() {
        let generator = Fixtures.generator { $0.registry.externalLabels = ["service": "fixed", "span_kind": ""] }
        _ = generator.push(Fixtures.makeBatch(1), nowMs: Fixtures.nowMs)
        for series in Fixtures.collect(generator).series {
            #expect(series.labels["service"] == "fixed")
            #expect(series.labels["span_kind"] == nil)
        }
    }

    @Test func staleSeriesAreRemovedAndComeBackAsNew() {
        let generator = Fixtures.generator { $0.registry.staleDurationMs = 60_000 }
        _ = generator.push(Fixtures.makeBatch(1, service: "idle"), nowMs: Fixtures.nowMs)
        _ = generator.push(Fixtures.makeBatch(1, service: "busy"), nowMs: Fixtures.nowMs)
        _ = Fixtures.collect(generator)
        _ = generator.push(Fixtures.makeBatch(1, service: "busy"), nowMs: Fixtures.nowMs + 59_000)
        // At +60 001 ms "idle" was last updated more than 60 s ago (strictly), "busy" 1 001 ms ago.
        var sink = CapturingSink()
        let result = generator.collect(.collect, timestampMs: Fixtures.nowMs + 60_001, into: &sink)
        #expect(result.removedSeries == 7)
        #expect(result.activeSeries == 7)
        // The stale series ended in that run with one staleness marker per series, then was gone.
        let markers = sink.find("traces_spanmetrics_calls_total", ["service": "idle"])
        #expect(markers.count == 1 && markers[0].samples.count == 1 && markers[0].samples[0].isStaleMarker)
        #expect(
            sink.series.filter { $0.labels["service"] == "idle" }.allSatisfy { $0.samples.allSatisfy(\.isStaleMarker) }
        )
        #expect(sink.series.filter { $0.labels["service"] == "idle" }.count == 7)
        #expect(sink.value("traces_spanmetrics_calls_total", ["service": "busy"]) == 2)
        let after = Fixtures.collect(generator, at: Fixtures.nowMs + 75_000)
        #expect(after.find("traces_spanmetrics_calls_total", ["service": "idle"]).isEmpty)
        #expect(after.value("traces_spanmetrics_calls_total", ["service": "busy"]) == 2)

        _ = generator.push(Fixtures.makeBatch(1, service: "idle"), nowMs: Fixtures.nowMs + 80_000)
        let back = Fixtures.collect(generator, at: Fixtures.nowMs + 90_000)
        #expect(back.find("traces_spanmetrics_calls_total", ["service": "idle"]).first?.samples.map(\.value) == [0, 1])
    }

    @Test func aNewSeriesSendsItsValueBeforeItCanGoStale() {
        let generator = Fixtures.generator { $0.registry.staleDurationMs = 1_000 }
        _ = generator.push(Fixtures.makeBatch(1), nowMs: Fixtures.nowMs)
        // Collected only after the stale duration: the value (with its zero) goes out first, the marker next run.
        let first = Fixtures.collect(generator, at: Fixtures.nowMs + 5_000)
        #expect(first.find("traces_spanmetrics_calls_total").first?.samples.map(\.value) == [0, 1])
        let second = Fixtures.collect(generator, at: Fixtures.nowMs + 10_000)
        #expect(second.find("traces_spanmetrics_calls_total").first?.samples.first?.isStaleMarker == true)
        #expect(Fixtures.collect(generator, at: Fixtures.nowMs + 15_000).series.isEmpty)
    }

    @Test func snapshotChangesNothing() {
        let generator = Fixtures.generator()
        _ = generator.push(Fixtures.makeBatch(1), nowMs: Fixtures.nowMs)
        var snapshot = CapturingSink()
        _ = generator.collect(.snapshot, timestampMs: Fixtures.nowMs, into: &snapshot)
        #expect(snapshot.series.allSatisfy { $0.samples.count == 1 })
        // The initial zero is still owed to the real collection.
        #expect(Fixtures.collect(generator).find("traces_spanmetrics_calls_total").first?.samples.count == 2)
    }

    @Test func concurrentPushesLoseNoUpdate() async {
        let generator = Fixtures.generator()
        let batch = Fixtures.makeBatch(50)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<25 { _ = generator.push(batch, nowMs: Fixtures.nowMs) } }
            }
        }
        let calls = Fixtures.collect(generator).value("traces_spanmetrics_calls_total")
        #expect(calls == Double(8 * 25 * 50))
    }
}

struct TenantIDTests {
    @Test(arguments: ["single-tenant", "team_a", "A.b-c!*'()", String(repeating: "x", count: 150)])
    func acceptsDskitCharacters(value: String) throws {
        #expect(try TenantID(validating: value).value == value)
    }

    @Test(arguments: [
        ("", "tenant id is empty"), (".", "tenant id '.' is not allowed"), ("..", "tenant id '..' is not allowed"),
        ("a/b", "tenant id 'a/b' contains '/'; allowed: A-Z a-z 0-9 ! - _ . * ' ( )"),
        ("a|b", "tenant id 'a|b' contains '|'; allowed: A-Z a-z 0-9 ! - _ . * ' ( )"),
        (String(repeating: "x", count: 151), "tenant id is 151 bytes long; at most 150 are allowed"),
    ])
    func rejectsOthersWithAReason(value: String, message: String) {
        #expect(throws: TenantID.Error(message: message)) { try TenantID(validating: value) }
    }
}

/// The registry's storage below the processors: series identity and the gauge kind.
struct SeriesStoreTests {
    private func store(_ kinds: [(String, MetricLayout.Kind)]) -> SeriesStore {
        var registry = RegistryConfiguration()
        registry.instanceLabel = "h"
        return SeriesStore(columnNames: ["a", "b"], layout: MetricLayout(kinds), registry: registry)
    }

    /// Sets the entry for values (a, b) through the same path processors use.
    private func set(_ store: SeriesStore, _ a: String, _ b: String, offset: Int, to value: Double) {
        let columns = [Array(a.utf8), Array(b.utf8)]
        columns[0].withUnsafeBytes { first in
            columns[1].withUnsafeBytes { second in
                var hash = SeriesHash.combine(SeriesHash.seed, SeriesHash.hash(first), column: 0)
                hash = SeriesHash.combine(hash, SeriesHash.hash(second), column: 1)
                var byShard = [[UInt64]](repeating: [], count: SeriesStore.shardCount)
                byShard[SeriesStore.shard(of: hash)].append(hash)
                var recorder = Setter(columns: [first, second], offset: offset, value: value)
                _ = store.record(byShard, nowMs: 1, &recorder)
            }
        }
    }

    @Test func gaugesEmitTheirValueWithoutAnInitialZero() {
        let store = store([("up", .gauge)])
        set(store, "x", "y", offset: 0, to: 7)
        var sink = CapturingSink()
        _ = store.collect(.collect, timestampMs: 120_000, staleBeforeMs: 0, into: &sink)
        #expect(sink.series.count == 1)
        #expect(sink.series[0].samples == [Sample(value: 7, timestampMs: 120_000)])
        #expect(sink.series[0].labels == ["__name__": "up", "a": "x", "b": "y", "__metrics_gen_instance": "h"])
        #expect(store.layout.seriesPerEntry == 1)
    }

    @Test func valuesThatShareBytesAcrossColumnsAreDistinctSeries() {
        let store = store([("c_total", .counter)])
        set(store, "ab", "", offset: 0, to: 1)
        set(store, "a", "b", offset: 0, to: 2)
        set(store, "", "ab", offset: 0, to: 3)
        set(store, "a", "b", offset: 0, to: 4)
        var sink = CapturingSink()
        _ = store.collect(.snapshot, timestampMs: 1, staleBeforeMs: 0, into: &sink)
        let values = Dictionary(
            uniqueKeysWithValues: sink.series.map {
                ("\($0.labels["a"] ?? "-")|\($0.labels["b"] ?? "-")", $0.samples[0].value)
            }
        )
        #expect(values == ["ab|-": 1, "a|b": 4, "-|ab": 3])
    }
}

/// Spec §1.6 and §9.5 registry_test: `inject_tenant_id_as`.
struct InjectedTenantTests {
    @Test func tempoInjectTenantIDAsLabelsEverySeries() {
        var configuration = Generator.Configuration()
        configuration.processors = [SpanMetricsProcessor.name]
        configuration.registry.injectTenantIDAs = "__tempo_tenant"
        let generator = Generator(tenant: try! TenantID(validating: "test"), configuration: configuration)
        _ = generator.push(Fixtures.makeBatch(1), nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        #expect(!sink.series.isEmpty)
        #expect(sink.series.allSatisfy { $0.labels["__tempo_tenant"] == "test" })
    }
}

/// Sets one double of the entry for fixed label values.
private struct Setter: SeriesRecorder {
    let columns: [UnsafeRawBufferPointer]
    let offset: Int
    let value: Double

    func labels(of hash: UInt64, into columns: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>) -> UInt64 {
        for index in columns.indices { columns[index] = self.columns[index] }
        return hash
    }

    func observe(
        _ hash: UInt64,
        into values: UnsafeMutableBufferPointer<Double>,
        natives: UnsafeMutableBufferPointer<NativeHistogram>,
        exemplars: inout SeriesStore.Exemplars
    ) {
        values[offset] = value
    }
}
