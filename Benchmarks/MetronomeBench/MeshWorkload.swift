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
            let (traceID, parent, child) = ids(trace: trace)
            let twoSpans = Pair(
                trace: traceID,
                parent: parent,
                child: child,
                end: now,
                duration: UInt64(2_000_000 + (pair % 97) * 150_000),
                failed: pair % 50 == 7
            )
            switch pair % 4 {
            case 0, 1:
                let method = methods[pair % methods.count]
                let service = "oteldemo.\(services[callee].capitalized)Service"
                let rpc = [
                    OTLPFixtures.attribute("rpc.system", "grpc"), OTLPFixtures.attribute("rpc.service", service),
                    OTLPFixtures.attribute("rpc.method", method),
                ]
                let status = OTLPFixtures.attribute("rpc.grpc.status_code", twoSpans.failed ? "2" : "0")
                byService[caller].append(
                    twoSpans.parent("\(service)/\(method)", .client, rpc + [server(services[callee])])
                )
                byService[callee].append(
                    twoSpans.child("\(service)/\(method)", .server, rpc + [status], inset: 200_000)
                )
            case 2:
                let table = tables[pair % tables.count]
                let code = [
                    OTLPFixtures.attribute("code.function", "load"),
                    OTLPFixtures.attribute("code.namespace", services[caller]),
                    OTLPFixtures.attribute("thread.name", "worker-\(pair % 8)"),
                    OTLPFixtures.attribute("cache.hit", pair % 3 == 0 ? "true" : "false"),
                ]
                let database = [
                    OTLPFixtures.attribute("db.system", "postgresql"), OTLPFixtures.attribute("db.name", "shop"),
                    OTLPFixtures.attribute("db.operation", "SELECT"), OTLPFixtures.attribute("db.sql.table", table),
                    server("postgres"), OTLPFixtures.attribute("server.port", "5432"),
                ]
                byService[caller].append(twoSpans.parent("load \(table)", .internal, code, canFail: false))
                byService[caller].append(twoSpans.child("SELECT shop.\(table)", .client, database, inset: 100_000))
            default:
                let messaging = [
                    OTLPFixtures.attribute("messaging.system", "kafka"),
                    OTLPFixtures.attribute("messaging.destination.name", "orders"),
                    OTLPFixtures.attribute("messaging.kafka.partition", "\(pair % 6)"),
                ]
                let publish = OTLPFixtures.attribute("messaging.operation", "publish")
                let process = OTLPFixtures.attribute("messaging.operation", "process")
                byService[caller].append(twoSpans.parent("orders publish", .producer, messaging + [publish]))
                byService[11].append(twoSpans.child("orders process", .consumer, messaging + [process], inset: 0))
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

    private static func server(_ address: String) -> OTLPFixtures.KeyValue {
        OTLPFixtures.attribute("server.address", address)
    }

    /// A parent span and its child in one trace, ending by `end`.
    private struct Pair {
        let trace: Data
        let parent: Data
        let child: Data
        let end: UInt64
        let duration: UInt64
        let failed: Bool

        func parent(
            _ name: String,
            _ kind: OTLPFixtures.Span.SpanKind,
            _ attributes: [OTLPFixtures.KeyValue],
            canFail: Bool = true
        ) -> OTLPFixtures.Span {
            span(name, kind, id: parent, parentID: nil, inset: 0, failed: failed && canFail, attributes)
        }

        /// The child, `inset` nanoseconds inside the parent at each end.
        func child(
            _ name: String,
            _ kind: OTLPFixtures.Span.SpanKind,
            _ attributes: [OTLPFixtures.KeyValue],
            inset: UInt64
        ) -> OTLPFixtures.Span {
            span(name, kind, id: child, parentID: parent, inset: inset, failed: failed, attributes)
        }

        private func span(
            _ name: String,
            _ kind: OTLPFixtures.Span.SpanKind,
            id: Data,
            parentID: Data?,
            inset: UInt64,
            failed: Bool,
            _ attributes: [OTLPFixtures.KeyValue]
        ) -> OTLPFixtures.Span {
            .with {
                $0.traceID = trace
                $0.spanID = id
                if let parentID { $0.parentSpanID = parentID }
                $0.name = name
                $0.kind = kind
                $0.startTimeUnixNano = end - duration + inset
                $0.endTimeUnixNano = end - inset
                $0.attributes = attributes
                if failed { $0.status.code = .error }
            }
        }
    }
}
