import NIOCore

/// Follows one HTTP/1 connection through its requests and closes it when the client is too slow at a step (see
/// ``HTTPConnectionLimits``). Lives on the connection's event loop; ``HTTPByteArrivalHandler`` and
/// ``HTTPRequestPhaseHandler`` tell it what happens.
///
/// One timer is armed at a time. While a body is read, reads only note the time, and the timer re-arms itself for
/// what is left when it fires early, so a fast upload costs no timer per read.
final class HTTPRequestClock {
    private enum Phase {
        /// Between requests: waiting for the first byte of the next one.
        case awaitingRequest
        /// Bytes of a request head have arrived, or the connection has just opened.
        case readingHead
        case readingBody
        /// The request has been read; the server is answering it. No timeout applies.
        case responding
    }

    private let limits: HTTPConnectionLimits
    private let connections: ConnectionCount
    private var phase = Phase.readingHead
    /// The response to the request being read was sent before its body was all read (an early refusal).
    private var answeredEarly = false
    private var timer: Scheduled<Void>?
    private var lastBodyRead = NIODeadline.now()
    private var channel: (any Channel)?

    init(limits: HTTPConnectionLimits, connections: ConnectionCount) {
        self.limits = limits
        self.connections = connections
    }

    /// The connection opened: its first request head must arrive within the header timeout.
    func start(_ channel: any Channel) {
        self.channel = channel
        arm(after: limits.readHeaderTimeout)
    }

    /// The connection closed.
    func stop() {
        timer?.cancel()
        timer = nil
        channel = nil
    }

    /// Bytes arrived on the connection.
    func bytesArrived() {
        guard phase == .awaitingRequest else { return }
        phase = .readingHead
        arm(after: limits.readHeaderTimeout)
    }

    func headReceived() {
        phase = .readingBody
        lastBodyRead = .now()
        arm(after: limits.readTimeout)
    }

    func bodyReceived() {
        lastBodyRead = .now()
    }

    func requestEnded() {
        phase = .responding
        timer?.cancel()
        timer = nil
        if answeredEarly { responseEnded() }
    }

    func responseEnded() {
        guard phase == .responding else {
            // Answered before the body was read: the body timeout still applies until it has been.
            answeredEarly = phase == .readingBody
            return
        }
        answeredEarly = false
        phase = .awaitingRequest
        arm(after: limits.idleTimeout)
    }

    private func arm(after timeout: Duration) {
        arm(at: .now() + TimeAmount(timeout))
    }

    private func arm(at deadline: NIODeadline) {
        timer?.cancel()
        guard let channel else { return }
        // The clock lives on the channel's event loop, which `assumeIsolated` checks.
        timer = channel.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            fire()
        }
    }

    private func fire() {
        timer = nil
        let timeout: Duration
        let name: String
        switch phase {
        case .responding: return
        case .readingBody:
            let deadline = lastBodyRead + TimeAmount(limits.readTimeout)
            if deadline > .now() { return arm(at: deadline) }
            (name, timeout) = ("body", limits.readTimeout)
        case .readingHead: (name, timeout) = ("header", limits.readHeaderTimeout)
        case .awaitingRequest: (name, timeout) = ("idle", limits.idleTimeout)
        }
        connections.timedOut(phase: name, after: timeout)
        channel?.close(promise: nil)
    }
}
