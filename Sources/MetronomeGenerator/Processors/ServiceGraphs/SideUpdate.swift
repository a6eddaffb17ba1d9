import MetronomeWire

/// Which half of an edge a span is.
enum EdgeSide: UInt8, Sendable {
    /// CLIENT or PRODUCER: keyed by its own span id.
    case client
    /// SERVER or CONSUMER: keyed by its parent span id.
    case server
    /// A SERVER span as the possible parent of a SERVER child (server-to-server edges): keyed by its own span id.
    case serverParent
}

/// A label value located for one span: in the request or the batch's scratch bytes, or absent.
struct SideValue: Sendable {
    var ref: ValueRef
    var present: Bool

    static let absent = SideValue(ref: .absent, present: false)
}

/// What one span contributes to its edge (spec §3.4), with its strings still in the request or the batch scratch.
struct SideUpdate: Sendable {
    var key: EdgeKey
    var side: EdgeSide
    var kind: Int32
    var service: ValueRef
    /// Seconds; 0 when the span ends before it starts.
    var latency: Double
    /// The client's end or the server's start, for the messaging-system latency.
    var timeNanos: UInt64
    var failed: Bool
    var multiplier: Double
    /// The first `peer_attributes` key present in the span's attributes.
    var peer: SideValue
    /// Where this span's dimension values start in the batch's value list.
    var dimensionsStart: Int32
    /// A client span with a `database_name_attributes` key (spec §3.5).
    var isDatabase = false
    /// For a database call, the server name found, if any.
    var databaseServer = SideValue.absent
}

/// The strings a batch's updates point at.
struct SideBytes {
    let batch: UnsafeRawBufferPointer
    let scratch: UnsafeRawBufferPointer

    @inline(__always)
    subscript(_ ref: ValueRef) -> UnsafeRawBufferPointer {
        let base = ref.inScratch ? scratch : batch
        return UnsafeRawBufferPointer(rebasing: base[Int(ref.offset)..<(Int(ref.offset) + Int(ref.count))])
    }
}
