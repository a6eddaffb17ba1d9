import MetronomeRemoteWrite
import MetronomeWire

/// The sink of one tenant's collection: series are encoded into remote-write requests, and every time the finished
/// requests reach `chunkBytes` they are handed to the output (the WAL) and dropped, so the memory a collection
/// takes is bounded by the chunk size, not by the number of series.
///
/// A chunk is handed over from within the collection (series shards are emitted from snapshots, without their
/// locks); appending it to the WAL (compressing it and writing it, without fsync) takes about a millisecond per MiB,
/// a small part of encoding it.
struct ChunkedRemoteWrite: SampleSink {
    /// What a collection holds of encoded requests before it hands them on.
    static let defaultChunkBytes = 4 << 20

    private var encoder: RemoteWriteEncoder
    private let chunkBytes: Int
    private let deliver: ([RemoteWriteEncoder.Request]) -> Void
    /// The samples encoded so far.
    var sampleCount: Int { encoder.sampleCount }

    /// - Parameter deliver: takes each chunk, in order; nil discards them (a dry run).
    init(
        encoder: RemoteWriteEncoder,
        chunkBytes: Int = defaultChunkBytes,
        deliver: @escaping ([RemoteWriteEncoder.Request]) -> Void
    ) {
        self.encoder = encoder
        self.chunkBytes = chunkBytes
        self.deliver = deliver
    }

    mutating func append(
        family: String,
        type: MetricType,
        labels: UnsafeBufferPointer<LabelRef>,
        samples: UnsafeBufferPointer<Sample>,
        exemplar: ExemplarRef?
    ) {
        encoder.append(family: family, type: type, labels: labels, samples: samples, exemplar: exemplar)
        if encoder.finishedBytes >= chunkBytes { deliver(encoder.takeFinished()) }
    }

    mutating func appendHistogram(
        family: String,
        labels: UnsafeBufferPointer<LabelRef>,
        histograms: UnsafeBufferPointer<NativeHistogramSample>,
        exemplars: UnsafeBufferPointer<ExemplarRef>
    ) {
        encoder.appendHistogram(family: family, labels: labels, histograms: histograms, exemplars: exemplars)
        if encoder.finishedBytes >= chunkBytes { deliver(encoder.takeFinished()) }
    }

    /// Hands over the rest.
    mutating func finish() {
        let rest = encoder.finish()
        if !rest.isEmpty { deliver(rest) }
    }
}
