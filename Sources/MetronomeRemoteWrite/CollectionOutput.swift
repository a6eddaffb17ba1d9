/// Where each collection run's remote-write requests go.
///
/// The seam between the generator and delivery: today ``RemoteWriteFanout`` compresses the requests and queues them
/// in memory for each endpoint's sender; issue #5 puts the write-ahead log behind this same protocol.
public protocol CollectionOutput: Sendable {
    /// Takes one tenant's uncompressed `WriteRequest`s from one collection, in order.
    func write(tenant: String, requests: [[UInt8]], sampleCounts: [Int]) async
}

/// Sends every collection to every configured endpoint.
public struct RemoteWriteFanout: CollectionOutput {
    public let senders: [RemoteWriteSender]

    public init(senders: [RemoteWriteSender]) {
        self.senders = senders
    }

    public func write(tenant: String, requests: [[UInt8]], sampleCounts: [Int]) async {
        guard !senders.isEmpty else { return }
        for (request, samples) in zip(requests, sampleCounts) {
            let payload = RemoteWriteSender.Payload(tenant: tenant, body: Snappy.compress(request), samples: samples)
            for sender in senders { sender.enqueue(payload) }
        }
    }
}
