/// The payloads a log appended last, up to a byte budget, oldest dropped first: a reader close behind the writer (a
/// forwarder keeping up with its store) gets them from memory instead of reading them back and checking their CRC.
/// Holding a payload is holding the appender's array, not a copy of it.
struct WALRecentPayloads {
    let maxBytes: Int
    private var payloads: [WALPosition: [UInt8]] = [:]
    /// Positions in the order they were added; those before `head` are gone.
    private var order: [WALPosition] = []
    private var head = 0
    private var bytes = 0

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    /// Keeps `payload`, appended at `position`, dropping the oldest payloads while over the budget.
    mutating func add(_ payload: [UInt8], at position: WALPosition) {
        guard payload.count <= maxBytes else { return }
        payloads[position] = payload
        order.append(position)
        bytes += payload.count
        while bytes > maxBytes {
            bytes -= payloads.removeValue(forKey: order[head])?.count ?? 0
            head += 1
        }
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    /// The payload appended at `position`, if it is still held.
    func payload(at position: WALPosition) -> [UInt8]? { payloads[position] }
}
