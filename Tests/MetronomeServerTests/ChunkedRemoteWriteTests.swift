import MetronomeWire
import Testing

@testable import MetronomeServer

struct ChunkedRemoteWriteTests {
    private func appendSeries(_ count: Int, to sink: inout some SampleSink) {
        for index in 0..<count {
            let name = Array("__name__".utf8)
            let value = Array("series_\(index)".utf8)
            name.withUnsafeBytes { name in
                value.withUnsafeBytes { value in
                    let labels = [LabelRef(name: name, value: value)]
                    let samples = [Sample(value: Double(index), timestampMs: 1_700_000_000_000)]
                    labels.withUnsafeBufferPointer { labels in
                        samples.withUnsafeBufferPointer { samples in
                            sink.append(family: "f", type: .counter, labels: labels, samples: samples, exemplar: nil)
                        }
                    }
                }
            }
        }
    }

    @Test func chunksHoldAtMostTheChunkSizeAndTogetherAreTheWholeCollection() {
        var whole = RemoteWriteEncoder(maxSamplesPerRequest: 10, shards: 2)
        appendSeries(1000, to: &whole)
        let expected = whole.finish()

        final class Chunks { var list: [[RemoteWriteEncoder.Request]] = [] }
        let chunks = Chunks()
        var sink = ChunkedRemoteWrite(
            encoder: RemoteWriteEncoder(maxSamplesPerRequest: 10, shards: 2),
            chunkBytes: 2000
        ) { chunks.list.append($0) }
        appendSeries(1000, to: &sink)
        sink.finish()

        #expect(chunks.list.count > 5)
        let largestRequest = expected.map(\.bytes.count).max() ?? 0
        for chunk in chunks.list.dropLast() {
            #expect(chunk.reduce(0) { $0 + $1.bytes.count } < 2000 + largestRequest)
        }
        #expect(
            chunks.list.flatMap { $0 }.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
                == expected.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        )
        #expect(sink.sampleCount == 1000)
    }
}
