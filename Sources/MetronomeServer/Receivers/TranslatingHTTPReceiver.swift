import HTTPTypes
import Hummingbird
import Logging
import MetronomeGenerator
import MetronomeWire
import NIOCore

/// What the HTTP receivers of other trace formats (Zipkin, Jaeger Thrift) share: the body is read within the size
/// limit and the in-flight budget, translated into an OTLP request with what the translation holds reserved as it
/// grows, then admitted and pushed like an OTLP one. Answers 202 with no body, as Zipkin's and Jaeger's collectors do;
/// a rejection in plain text, naming the problem (400 bad input, 413 over the size limit, 415 another content type or
/// encoding, 429 with `Retry-After` when a limit refuses the request for now), counted under the receiver's name.
struct TranslatingHTTPReceiver: Sendable {
    /// Translates a body, calling `reserve` before it holds more memory.
    typealias Translator = (UnsafeRawBufferPointer, (Int) -> Bool) throws(TranslationError) -> (
        bytes: [UInt8], spans: Int
    )

    private static let retryAfterHeader = HTTPField.Name("Retry-After")!

    /// The `receiver` label of the self-metrics.
    let receiver: String
    let distributor: Distributor
    /// Largest accepted body, before and after decompression.
    let maxBytes: Int
    let limits: SpanBatch.Limits
    let logger: Logger
    private let traffic: ReceiverTraffic

    init(receiver: String, distributor: Distributor, maxBytes: Int, limits: SpanBatch.Limits, logger: Logger) {
        self.receiver = receiver
        self.distributor = distributor
        self.maxBytes = maxBytes
        self.limits = limits
        self.logger = logger
        traffic = ReceiverTraffic(receiver: receiver)
    }

    private var requests: HTTPSpanRequestReader { HTTPSpanRequestReader(distributor: distributor, maxBytes: maxBytes) }

    /// Answers `request`, translated by what `translator` picks for it (from its content type, say).
    func handle(_ request: Request, translator: (Request) throws(HTTPRejection) -> Translator) async -> Response {
        do {
            let translate = try translator(request)
            let tenant = try requests.tenant(of: request)
            var reservation = InflightReservation(distributor.inflight)
            let body = try await requests.readBody(of: request, reservation: &reservation)
            let protobuf = try self.translate(body, with: translate, reservation: &reservation)
            do {
                try distributor.admit(protobuf.count, tenant: tenant)
                let batch = try SpanBatch(protobuf: protobuf, limits: limits)
                traffic.record(bytes: body.readableBytes, spans: batch.spanCount)
                try await distributor.forward(batch, tenant: tenant)
                _ = try distributor.push(batch, tenant: tenant)
                return Response(status: .accepted)
            } catch let refusal as Refusal {
                throw HTTPRejection.tooManyRequests(refusal)
            } catch let error as WireError {
                throw HTTPRejection.badRequest("\(error)")
            }
        } catch let rejection as HTTPRejection {
            return answer(rejection)
        } catch {
            return answer(.badRequest("\(error)"))
        }
    }

    /// The body as an OTLP request. What the translation holds while it runs is reserved as it grows; afterwards the
    /// reservation keeps the body and the translated request.
    private func translate(_ body: ByteBuffer, with translate: Translator, reservation: inout InflightReservation)
        throws(HTTPRejection) -> [UInt8]
    {
        let bodyBytes = reservation.bytes
        let translated: [UInt8]
        do {
            translated = try body.withUnsafeReadableBytes { body in
                try translate(body) { reservation.grow(by: $0) }.bytes
            }
        } catch let error as TranslationError {
            if let refused = error.refusedBytes {
                throw .tooManyRequests(Refusal.inflightBytes(refused, budget: distributor.inflight))
            }
            throw .badRequest(error.description)
        } catch {
            throw .badRequest("\(error)")
        }
        reservation.shrink(to: bodyBytes + translated.count)
        return translated
    }

    /// The plain-text answer to a refused request, counted and logged.
    func answer(_ rejection: HTTPRejection) -> Response {
        RejectedRequests.record(
            receiver: receiver,
            status: "\(rejection.status.code)",
            reason: rejection.reason,
            message: rejection.message,
            logger: logger
        )
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
        if let seconds = rejection.retryAfterSeconds { headers[Self.retryAfterHeader] = "\(seconds)" }
        return Response(
            status: rejection.status,
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: rejection.message + "\n"))
        )
    }
}
