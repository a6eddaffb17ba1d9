import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import MetronomeServer
import OTLPProto
import SwiftProtobuf

/// When one request of `load` was sent (seconds since the epoch) and how long its answer took.
struct RequestTiming: Sendable {
    var sentAt: Double
    var latency: Duration
}

/// `load --label-sets`: the cost of collecting many series (encode, WAL append with `fdatasync`, send to an
/// in-process remote-write sink), and what a collection does to the latency of requests arriving meanwhile.
enum CollectionPhase {
    /// The collection interval of the run; collections fall on its multiples since the epoch.
    static let intervalSeconds = 5
    /// Distinct span names per setup request.
    private static let namesPerRequest = 2000

    /// Creates `labelSets` span-metrics label sets (one span name each) with setup requests over OTLP/gRPC.
    static func prefill(labelSets: Int, port: Int) async throws {
        let nowNanos = UInt64(Date().timeIntervalSince1970 * 1e9)
        let export = MethodDescriptor(
            fullyQualifiedService: "opentelemetry.proto.collector.trace.v1.TraceService",
            method: "Export"
        )
        try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        ) { client in
            for first in stride(from: 0, to: labelSets, by: namesPerRequest) {
                let names = first..<min(labelSets, first + namesPerRequest)
                let request =
                    try OTLPFixtures.Request.with {
                        $0.resourceSpans = [
                            OTLPFixtures.resourceSpans(
                                [OTLPFixtures.attribute("service.name", "prefill")],
                                names.map {
                                    OTLPFixtures.span(name: "operation-\($0)", seed: $0 + 1, nowNanos: nowNanos)
                                }
                            )
                        ]
                    }.serializedBytes() as [UInt8]
                try await client.unary(
                    request: ClientRequest(message: request),
                    descriptor: export,
                    serializer: RawBytesSerializer(),
                    deserializer: RawBytesDeserializer(),
                    options: .defaults
                ) { response in _ = try response.message }
            }
        }
    }

    /// Waits out two collections with no load and prints their CPU (the whole process's, which is otherwise idle),
    /// their duration and the series they sent.
    static func reportIdleCollections(pid: Int32, admin: Int) async throws {
        let before = try SelfMetricsScrape(port: admin)
        let collections = before.sum("metronome_registry_collections_total")
        let cpuBefore = try ProcessStats.cpuSeconds(pid: pid)
        var after = before
        while after.sum("metronome_registry_collections_total") < collections + 2 {
            try await Task.sleep(for: .milliseconds(200))
            after = try SelfMetricsScrape(port: admin)
        }
        // The second one's samples may still be on their way to the sink.
        try await Task.sleep(for: .seconds(1))
        let cpu = try ProcessStats.cpuSeconds(pid: pid) - cpuBefore
        let seconds =
            after.sum("metronome_collection_duration_seconds_sum")
            - before.sum("metronome_collection_duration_seconds_sum")
        let count = max(
            1,
            after.sum("metronome_collection_duration_seconds_count")
                - before.sum(
                    "metronome_collection_duration_seconds_count"
                )
        )
        let series = after.sum("metronome_registry_active_series")
        print(
            String(
                format: "collection of %.0f series, idle: %.3f CPU-s each (%.0f ns per series), %.3f s long",
                series,
                cpu / 2,
                cpu / 2 / max(1, series) * 1e9,
                seconds / count
            )
        )
    }

    /// Prints the p50/p99 latency of requests that overlapped a collection and of the rest. Collections start at the
    /// multiples of the interval and last, here, their mean duration in the run (from the self-metrics).
    static func reportLatency(_ timings: [RequestTiming], admin: Int) throws {
        let scrape = try SelfMetricsScrape(port: admin)
        let duration =
            scrape.sum("metronome_collection_duration_seconds_sum")
            / max(1, scrape.sum("metronome_collection_duration_seconds_count"))
        let interval = Double(intervalSeconds)
        func overlaps(_ timing: RequestTiming) -> Bool {
            let end = timing.sentAt + Double(timing.latency / .microseconds(1)) / 1e6
            let start = (timing.sentAt / interval).rounded(.down) * interval
            return timing.sentAt < start + duration || end >= start + interval
        }
        let during = timings.filter(overlaps).map(\.latency).sorted()
        let outside = timings.filter { !overlaps($0) }.map(\.latency).sorted()
        func percentiles(_ latencies: [Duration]) -> String {
            guard !latencies.isEmpty else { return "none" }
            func at(_ fraction: Double) -> String {
                let latency = latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))]
                return String(format: "%.2f", Double(latency / .microseconds(1)) / 1000)
            }
            return "p50 \(at(0.5)) ms, p99 \(at(0.99)) ms (\(latencies.count) requests)"
        }
        print("latency during collections (\(String(format: "%.2f", duration)) s each): \(percentiles(during))")
        print("latency outside collections: \(percentiles(outside))")
    }
}
