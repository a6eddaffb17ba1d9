import MetronomeWire

/// Where each collection run's remote-write requests go: the seam between the generator and delivery
/// (``WALRemoteWriteOutput`` in the server).
public protocol CollectionOutput: Sendable {
    /// Takes a chunk of one tenant's uncompressed `WriteRequest`s from a collection, in order. A collection hands its
    /// requests over in several chunks, synchronously, so the call must be quick.
    func write(tenant: String, requests: [RemoteWriteEncoder.Request])
}
