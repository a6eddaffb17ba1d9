import Metrics
import MetronomeSelfMetrics

/// One receiver's traffic self-metrics (`metronome_receiver_{requests,spans,bytes}_total{receiver}`), with their
/// handles made once, so a request only adds to counters.
struct ReceiverTraffic: Sendable {
    private let requests: Counter
    private let spans: Counter
    private let bytes: Counter

    init(receiver: String) {
        requests = SelfMetric.receiverRequests.counter(receiver)
        spans = SelfMetric.receiverSpans.counter(receiver)
        bytes = SelfMetric.receiverBytes.counter(receiver)
    }

    /// Counts one decoded request of `bytes` bytes holding `spans` spans.
    func record(bytes: Int, spans: Int) {
        requests.increment()
        self.spans.increment(by: spans)
        self.bytes.increment(by: bytes)
    }
}
