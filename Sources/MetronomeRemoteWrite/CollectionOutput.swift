import MetronomeWire

/// Where each collection run's remote-write requests go: the seam between the generator and delivery
/// (``WALRemoteWriteOutput`` in the server).
public protocol CollectionOutput: Sendable {
    /// Takes one tenant's uncompressed `WriteRequest`s from one collection, in order.
    func write(tenant: String, requests: [RemoteWriteEncoder.Request]) async
}
