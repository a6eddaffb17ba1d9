import MetronomeGenerator
import MetronomeWire
import OTLPProto
import SwiftProtobuf

/// `span-metrics --sanitize`: span metrics on id-bearing span names (REST paths with numeric ids and UUIDs, SQL with
/// literals, gRPC methods, hashed asset names), with `span_name_sanitization` off, in dry run and enabled, on the
/// same batches; the difference is the sanitizer's cost.
enum SanitizeBenchmark {
    /// A realistic name mix; `id` makes the id-bearing parts of span `index` distinct.
    static func name(_ index: Int, id: Int) -> String {
        let uuid =
            "\(String(UInt32(truncatingIfNeeded: id &* 2_654_435_761), radix: 16))-e89b-12d3-a456-\(String(id, radix: 16))"
        switch index % 10 {
        case 0: return "GET /api/users/\(id)"
        case 1: return "POST /api/orders/\(id)/items/\(id % 97)"
        case 2: return "SELECT * FROM orders WHERE id = \(id)"
        case 3: return "/shop.v1.CartService/GetCart"
        case 4: return "GET /api/products/\(uuid)"
        case 5: return "UPDATE inventory SET count = count - 1 WHERE sku = 'SKU-\(id)'"
        case 6: return "grpc.client/payments.Processor/Charge"
        case 7: return "GET /static/js/app.\(String(id &* 40503, radix: 16)).js"
        case 8: return "GET /api/users/\(id)/settings"
        default: return "DELETE /api/sessions/\(uuid)"
        }
    }

    /// `batches` batches of `resources` × `spansPerResource` spans, every id-bearing name distinct.
    static func batches(_ batches: Int, resources: Int, spansPerResource: Int, nowNanos: UInt64) throws -> [SpanBatch] {
        try (0..<batches).map { batch in
            try SpanBatch(
                protobuf: OTLPFixtures.Request.with {
                    $0.resourceSpans = (0..<resources).map { resource in
                        OTLPFixtures.resourceSpans(
                            [OTLPFixtures.attribute("service.name", "service-\(resource)")],
                            (0..<spansPerResource).map { span in
                                let id = (batch * resources + resource) * spansPerResource + span
                                return OTLPFixtures.span(name: name(span, id: id), seed: id, nowNanos: nowNanos)
                            }
                        )
                    }
                }.serializedBytes()
            )
        }
    }

    static func run(resources: Int, spansPerResource: Int, iterations: Int) throws {
        let now: UInt64 = 1_700_000_000_000_000_000
        // Fresh ids in every batch (the cardinality problem sanitization is for), then one batch repeated (names
        // the memo has seen).
        let fresh = try batches(
            min(max(4, iterations), 500),
            resources: resources,
            spansPerResource: spansPerResource,
            nowNanos: now
        )
        for mode in [SpanNameSanitization.disabled, .dryRun, .enabled] {
            let label = mode == .disabled ? "off" : mode.rawValue
            let generator = makeGenerator(mode)
            var index = 0
            Measurement.run(iterations: fresh.count - 3) {
                let batch = fresh[index]
                index += 1
                _ = generator.push(batch, nowMs: 1_700_000_000_000)
                return batch.spanCount
            }.report("span-metrics, sanitization \(label), fresh ids in every span")
            var sink = CountingSink()
            let series = generator.collect(.snapshot, timestampMs: 0, into: &sink).activeSeries
            print("  series after \(index * fresh[0].spanCount) spans: \(series)")
        }
        // The same batch over and over, on a generator of its own: the cost of names the sanitizer has seen.
        let repeated = fresh[0]
        for mode in [SpanNameSanitization.disabled, .dryRun, .enabled] {
            let generator = makeGenerator(mode)
            Measurement.run(iterations: iterations) {
                _ = generator.push(repeated, nowMs: 1_700_000_000_000)
                return repeated.spanCount
            }.report("span-metrics, sanitization \(mode == .disabled ? "off" : mode.rawValue), a batch of known names")
        }
    }

    static func makeGenerator(_ mode: SpanNameSanitization) -> Generator {
        var configuration = Generator.Configuration()
        configuration.processors = [SpanMetricsProcessor.name]
        configuration.registry.instanceLabel = "bench"
        configuration.spanNameSanitization = mode
        return Generator(tenant: .singleTenant, configuration: configuration)
    }
}
