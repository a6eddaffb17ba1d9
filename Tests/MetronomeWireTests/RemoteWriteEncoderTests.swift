import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeWire

struct RemoteWriteEncoderTests {
    /// Appends one series whose label bytes live in one buffer, pinned for the duration of the call.
    private func append(
        _ sink: inout some SampleSink,
        _ labels: [(String, String)],
        _ samples: [Sample],
        exemplarTraceID: String? = nil
    ) {
        var storage: [UInt8] = []
        var ranges: [(Range<Int>, Range<Int>)] = []
        for (name, value) in labels {
            let nameStart = storage.count
            storage += Array(name.utf8)
            let valueStart = storage.count
            storage += Array(value.utf8)
            ranges.append((nameStart..<valueStart, valueStart..<storage.count))
        }
        let exemplarName = storage.count
        storage += Array("traceID".utf8)
        let exemplarValue = storage.count
        storage += Array((exemplarTraceID ?? "").utf8)
        storage.withUnsafeBytes { bytes in
            let exemplar = exemplarTraceID.map { _ in
                ExemplarRef(
                    labelName: UnsafeRawBufferPointer(rebasing: bytes[exemplarName..<exemplarValue]),
                    labelValue: UnsafeRawBufferPointer(rebasing: bytes[exemplarValue...]),
                    value: 0.25,
                    timestampMs: 1_700_000_000_000
                )
            }
            let refs = ranges.map {
                LabelRef(
                    name: UnsafeRawBufferPointer(rebasing: bytes[$0.0]),
                    value: UnsafeRawBufferPointer(rebasing: bytes[$0.1])
                )
            }
            refs.withUnsafeBufferPointer { refs in
                samples.withUnsafeBufferPointer {
                    sink.append(family: "f", type: .counter, labels: refs, samples: $0, exemplar: exemplar)
                }
            }
        }
    }

    @Test func encodesWhatSwiftProtobufDecodes() throws {
        var encoder = RemoteWriteEncoder()
        append(
            &encoder,
            [("__name__", "calls_total"), ("service", "cart")],
            [
                Sample(value: 0, timestampMs: 1_700_000_000_000 - 1000),
                Sample(value: 3, timestampMs: 1_700_000_000_000),
            ]
        )
        append(&encoder, [("__name__", "size_total"), ("service", "é")], [Sample(value: 42.5, timestampMs: 5)])
        let requests = encoder.finish()
        #expect(requests.count == 1)
        #expect(requests.map(\.samples) == [3])
        let decoded = try Prometheus_WriteRequest(serializedBytes: requests[0].bytes)
        #expect(decoded.timeseries.count == 2)
        #expect(
            decoded.timeseries[0].labels.map { "\($0.name)=\($0.value)" } == ["__name__=calls_total", "service=cart"]
        )
        #expect(decoded.timeseries[0].samples.map(\.value) == [0, 3])
        #expect(decoded.timeseries[0].samples.map(\.timestamp) == [1_699_999_999_000, 1_700_000_000_000])
        #expect(decoded.timeseries[1].labels[1].value == "é")
        #expect(decoded.timeseries[1].samples.first?.value == 42.5)
    }

    @Test func exemplarsTravelWithTheirSeries() throws {
        var encoder = RemoteWriteEncoder()
        append(
            &encoder,
            [("__name__", "latency_bucket"), ("le", "0.5")],
            [Sample(value: 1, timestampMs: 1_700_000_000_000)],
            exemplarTraceID: "4b0000000001"
        )
        let decoded = try Prometheus_WriteRequest(serializedBytes: encoder.finish()[0].bytes)
        let exemplar = try #require(decoded.timeseries.first?.exemplars.first)
        #expect(exemplar.labels.map { "\($0.name)=\($0.value)" } == ["traceID=4b0000000001"])
        #expect(exemplar.value == 0.25)
        #expect(exemplar.timestamp == 1_700_000_000_000)
        #expect(decoded.timeseries.first?.samples.first?.value == 1)
    }

    @Test func splitsRequestsAtTheSampleLimitWithoutSplittingASeries() throws {
        var encoder = RemoteWriteEncoder(maxSamplesPerRequest: 3)
        for index in 0..<5 {
            append(
                &encoder,
                [("__name__", "m\(index)")],
                [Sample(value: 0, timestampMs: 1), Sample(value: 1, timestampMs: 2)]
            )
        }
        let requests = encoder.finish()
        #expect(requests.count == 3)
        #expect(requests.map(\.samples) == [4, 4, 2])
        let decoded = try requests.map { try Prometheus_WriteRequest(serializedBytes: $0.bytes) }
        #expect(decoded.map(\.timeseries.count) == [2, 2, 1])
    }

    @Test func shardsKeepEverySeriesInOneShardAcrossCollections() throws {
        func collect() throws -> [String: Int] {
            var encoder = RemoteWriteEncoder(maxSamplesPerRequest: 5, shards: 4)
            for index in 0..<200 {
                append(
                    &encoder,
                    [("__name__", "calls_total"), ("service", "s\(index)")],
                    [Sample(value: 1, timestampMs: 1)]
                )
            }
            let requests = encoder.finish()
            #expect(requests.map(\.samples).reduce(0, +) == 200)
            #expect(requests.allSatisfy { $0.samples <= 5 })
            var shardOfSeries: [String: Int] = [:]
            for request in requests {
                for series in try Prometheus_WriteRequest(serializedBytes: request.bytes).timeseries {
                    shardOfSeries[series.labels[1].value] = request.shard
                }
            }
            return shardOfSeries
        }
        let first = try collect()
        #expect(first.count == 200)
        #expect(Set(first.values) == [0, 1, 2, 3])
        #expect(try collect() == first)
    }

    @Test func textExpositionGroupsFamiliesAndEscapesValues() {
        var encoder = PrometheusTextEncoder()
        append(
            &encoder,
            [("__name__", "a_total"), ("x", "q\"\\\n")],
            [Sample(value: 0, timestampMs: 1), Sample(value: 2, timestampMs: 2)]
        )
        append(&encoder, [("__name__", "a_total"), ("x", "y")], [Sample(value: 1.5, timestampMs: 2)])
        let text = String(decoding: encoder.render(), as: UTF8.self)
        #expect(text == "# TYPE f counter\na_total{x=\"q\\\"\\\\\\n\"} 2\na_total{x=\"y\"} 1.5\n")
    }
}
