import Foundation
import OTLPProto
import SwiftProtobuf

/// `load --shape mesh`: the workload of the performance issue — a 12-service mesh of client/server RPC pairs,
/// database calls and messaging producer/consumer pairs, 4–8 attributes a span, about 130 bytes a span once encoded.
/// Every request holds whole traces (each pair in one request), its ids new per `sequence`, so service graphs pair
/// every edge.
enum MeshWorkload {
    static let services = [
        "frontend", "cart", "checkout", "payment", "shipping", "currency", "email", "recommendation", "ad",
        "catalog", "quote", "accounting",
    ]
    private static let methods = ["GetCart", "AddItem", "PlaceOrder", "Charge", "GetQuote", "Convert", "ListProducts"]
    private static let tables = ["orders", "carts", "products", "users"]

    /// A request of `spans` spans (rounded down to whole traces of 2 spans) ending by `nowNanos`.
    static func request(spans: Int, sequence: Int, nowNanos now: UInt64) -> OTLPFixtures.Request {
        var byService = [[OTLPFixtures.Span]](repeating: [], count: services.count)
        for pair in 0..<(spans / 2) {
            let trace = sequence &* 1_000_003 &+ pair
            let caller = pair % services.count
            var callee = (pair &* 5 &+ 1) % services.count
            if callee == caller { callee = (callee + 1) % services.count }
            let failed = pair % 50 == 7
            let (traceID, parent, child) = ids(trace: trace)
            let duration = UInt64(2_000_000 + (pair % 97) * 150_000)
            switch pair % 4 {
            case 0, 1:
                let method = methods[pair % methods.count]
                let service = "oteldemo.\(services[callee].capitalized)Service"
                let rpc = [
                    OTLPFixtures.attribute("rpc.system", "grpc"), OTLPFixtures.attribute("rpc.service", service),
                    OTLPFixtures.attribute("rpc.method", method),
                ]
                byService[caller].append(
                    span(
                        "\(service)/\(method)",
                        .client,
                        traceID,
                        parent,
                        nil,
                        now,
                        duration,
                        failed,
                        rpc + [OTLPFixtures.attribute("server.address", services[callee])]
                    )
                )
                byService[callee].append(
                    span(
                        "\(service)/\(method)",
                        .server,
                        traceID,
                        child,
                        parent,
                        now - 200_000,
                        duration - 400_000,
                        failed,
                        rpc + [OTLPFixtures.attribute("rpc.grpc.status_code", failed ? "2" : "0")]
                    )
                )
            case 2:
                let table = tables[pair % tables.count]
                let database = [
                    OTLPFixtures.attribute("db.system", "postgresql"), OTLPFixtures.attribute("db.name", "shop"),
                    OTLPFixtures.attribute("db.operation", "SELECT"), OTLPFixtures.attribute("db.sql.table", table),
                    OTLPFixtures.attribute("server.address", "postgres"),
                    OTLPFixtures.attribute("server.port", "5432"),
                ]
                byService[caller].append(
                    span(
                        "load \(table)",
                        .internal,
                        traceID,
                        parent,
                        nil,
                        now,
                        duration,
                        false,
                        [
                            OTLPFixtures.attribute("code.function", "load"),
                            OTLPFixtures.attribute("code.namespace", services[caller]),
                            OTLPFixtures.attribute("thread.name", "worker-\(pair % 8)"),
                            OTLPFixtures.attribute("cache.hit", pair % 3 == 0 ? "true" : "false"),
                        ]
                    )
                )
                byService[caller].append(
                    span("SELECT shop.\(table)", .client, traceID, child, parent, now, duration / 2, failed, database)
                )
            default:
                let messaging = [
                    OTLPFixtures.attribute("messaging.system", "kafka"),
                    OTLPFixtures.attribute("messaging.destination.name", "orders"),
                    OTLPFixtures.attribute("messaging.kafka.partition", "\(pair % 6)"),
                ]
                byService[caller].append(
                    span(
                        "orders publish",
                        .producer,
                        traceID,
                        parent,
                        nil,
                        now,
                        duration,
                        failed,
                        messaging + [OTLPFixtures.attribute("messaging.operation", "publish")]
                    )
                )
                byService[11].append(
                    span(
                        "orders process",
                        .consumer,
                        traceID,
                        child,
                        parent,
                        now,
                        duration,
                        false,
                        messaging + [OTLPFixtures.attribute("messaging.operation", "process")]
                    )
                )
            }
        }
        return OTLPFixtures.Request.with { request in
            request.resourceSpans = byService.enumerated().compactMap { index, spans in
                guard !spans.isEmpty else { return nil }
                return OTLPFixtures.resourceSpans(
                    [
                        OTLPFixtures.attribute("service.name", services[index]),
                        OTLPFixtures.attribute("service.namespace", "oteldemo"),
                        OTLPFixtures.attribute("deployment.environment", "production"),
                    ],
                    spans
                )
            }
        }
    }

    /// The ids of a pair: their trace, the parent's span id and the child's.
    private static func ids(trace: Int) -> (trace: Data, parent: Data, child: Data) {
        let traceID = withUnsafeBytes(of: (UInt64(0x6d65_7368).bigEndian, UInt64(trace + 1).bigEndian)) { Data($0) }
        let parent = withUnsafeBytes(of: UInt64(2 * trace + 1).bigEndian) { Data($0) }
        let child = withUnsafeBytes(of: UInt64(2 * trace + 2).bigEndian) { Data($0) }
        return (traceID, parent, child)
    }

    private static func span(
        _ name: String,
        _ kind: OTLPFixtures.Span.SpanKind,
        _ trace: Data,
        _ id: Data,
        _ parent: Data?,
        _ end: UInt64,
        _ duration: UInt64,
        _ failed: Bool,
        _ attributes: [OTLPFixtures.KeyValue]
    ) -> OTLPFixtures.Span {
        .with {
            $0.traceID = trace
            $0.spanID = id
            if let parent { $0.parentSpanID = parent }
            $0.name = name
            $0.kind = kind
            $0.startTimeUnixNano = end - duration
            $0.endTimeUnixNano = end
            $0.attributes = attributes
            if failed { $0.status.code = .error }
        }
    }
}
