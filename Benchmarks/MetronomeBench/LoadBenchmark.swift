import ArgumentParser
import AsyncHTTPClient
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import MetronomeServer
import NIOCore
import NIOHTTP1
import OTLPProto
import SwiftProtobuf

/// End to end: starts a `metronome` process, sends it pre-encoded OTLP requests (over gRPC, or HTTP with
/// `--protocol http`) as fast as it takes them, and
/// reports spans/s, the server's CPU seconds (from /proc), its peak RSS and the requests' latency percentiles. With
/// `--forward sink|down`, every request is also forwarded to a trace store: an in-process OTLP/gRPC sink, or an
/// address where nothing listens (the store is down; its queue grows on disk).
struct LoadBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Spans per CPU-second of a metronome process under OTLP load."
    )

    @Option(help: "The metronome binary (build it with -c release).") var metronome = ".build/release/metronome"
    @Option(help: "Seconds of load (spans must end within the 30 s ingestion window).") var seconds = 10
    @Option(help: "Concurrent in-flight requests.") var concurrency = 8
    @Option(help: "Resources per request.") var resources = 4
    @Option(help: "Spans per resource.") var spansPerResource = 100
    @Option(help: "Processors, comma-separated (e.g. span-metrics,service-graphs).") var processors = "span-metrics"
    @Option(
        help: """
            Request shape: tempo (SERVER spans, Tempo's spanmetrics shape), edges (client/server pairs) or mesh (a \
            12-service mesh of RPC, database and messaging spans with 4-8 attributes; resources × spans-per-resource \
            spans a request).
            """
    )
    var shape = Shape.tempo

    @Option(
        help:
            "How requests are sent: grpc (OTLP/gRPC) or http (OTLP/HTTP protobuf, a connection per in-flight request)."
    )
    var `protocol` = OTLPProtocol.grpc

    @Option(
        help: """
            Label sets (distinct span names) to create before the load, for the cost of collecting them: collections \
            every 5 s to an in-process remote-write sink, their CPU measured while idle, and the load's latency during \
            collections against outside them.
            """
    )
    var labelSets = 0

    @Option(help: "Forward every request to a trace store: none, sink (in-process OTLP/gRPC) or down.")
    var forward = Forward.none
    @Flag(help: "With --forward: fdatasync each forwarded request before answering (queue.fsync).")
    var forwardFsync = false

    /// What the requests carry.
    enum Shape: String, ExpressibleByArgument {
        case tempo, edges, mesh
    }

    /// How requests are sent.
    enum OTLPProtocol: String, ExpressibleByArgument {
        case grpc, http
    }

    /// Where requests are forwarded.
    enum Forward: String, ExpressibleByArgument {
        case none, sink, down
    }

    func run() async throws {
        let grpcPort = try freePort()
        let admin = try freePort()
        let http = try freePort()
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("metronome-load-\(grpcPort).yaml")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("metronome-load-\(grpcPort)")
        let sink = forward == .sink ? try await ForwardingSink.start() : nil
        defer { sink?.stop() }
        let storePort = try sink?.port ?? freePort()
        let remoteWrite = labelSets > 0 ? try await RemoteWriteSink.start() : nil
        defer { remoteWrite?.stop() }
        let collection =
            remoteWrite.map {
                """
                registry: {collection_interval: \(CollectionPhase.intervalSeconds)s}, \
                storage: {path: "\(data.path)", remote_write: [{url: "http://127.0.0.1:\($0.port)/api/v1/write"}]}
                """
            } ?? "storage: {path: \"\(data.path)\"}"
        let forwarding =
            forward == .none
            ? ""
            : """

              forwarders:
                - {name: store, backend: otlpgrpc, otlpgrpc: {endpoints: ["127.0.0.1:\(storePort)"], tls: {insecure: true}}\(forwardFsync ? ", queue: {fsync: true}" : "")}
            """
        try """
        server: {http_listen_address: 127.0.0.1, http_listen_port: \(admin), log_level: warning}
        distributor:\(forwarding)
          receivers:
            otlp:
              protocols:
                grpc: {endpoint: "127.0.0.1:\(grpcPort)"}
                http: {endpoint: "127.0.0.1:\(http)"}
        metrics_generator: {\(collection)}
        overrides: {defaults: {metrics_generator: {processors: [\(processors)]}\(forward == .none ? "" : ", forwarders: [store]")}}
        """.write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: data) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: metronome)
        process.arguments = ["--config", config.path]
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let pid = process.processIdentifier
        try await waitForPort(grpcPort)

        if labelSets > 0 {
            try await CollectionPhase.prefill(labelSets: labelSets, port: grpcPort)
            try await CollectionPhase.reportIdleCollections(pid: pid, admin: admin)
        }

        let request = try requestBytes()
        let spansPerRequest = resources * spansPerResource
        let method = MethodDescriptor(
            fullyQualifiedService: "opentelemetry.proto.collector.trace.v1.TraceService",
            method: "Export"
        )

        let cpuBefore = try ProcessStats.cpuSeconds(pid: pid)
        let start = ContinuousClock.now
        let deadline = start + .seconds(seconds)
        let timings: [RequestTiming]
        switch `protocol` {
        case .grpc:
            timings = try await withGRPCClient(
                transport: .http2NIOPosix(
                    target: .ipv4(address: "127.0.0.1", port: grpcPort),
                    transportSecurity: .plaintext
                )
            ) { client in
                try await load(request, until: deadline) { request in
                    try await client.unary(
                        request: ClientRequest(message: request),
                        descriptor: method,
                        serializer: RawBytesSerializer(),
                        deserializer: RawBytesDeserializer(),
                        options: .defaults
                    ) { response in _ = try response.message }
                }
            }
        case .http:
            let client = HTTPClient.shared
            timings = try await load(request, until: deadline) { request in
                var post = HTTPClientRequest(url: "http://127.0.0.1:\(http)/v1/traces")
                post.method = .POST
                post.headers.add(name: "Content-Type", value: "application/x-protobuf")
                post.body = .bytes(request)
                let response = try await client.execute(post, timeout: .seconds(30))
                guard response.status == .ok else { throw ValidationError("OTLP/HTTP answered \(response.status)") }
                _ = try await response.body.collect(upTo: 1 << 20)
            }
        }
        let requests = timings.map(\.latency).sorted()
        let elapsed = ContinuousClock.now - start
        let cpu = try ProcessStats.cpuSeconds(pid: pid) - cpuBefore
        let rss = try ProcessStats.peakRSSKiB(pid: pid)
        let spans = requests.count * spansPerRequest
        let wallSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(
            "requests: \(requests.count) of \(request.count) bytes, \(spans) spans in \(String(format: "%.1f", wallSeconds)) s"
        )
        func percentile(_ fraction: Double) -> String {
            let latency = requests[min(requests.count - 1, Int(Double(requests.count) * fraction))]
            return String(format: "%.2f ms", Double(latency / .microseconds(1)) / 1000)
        }
        print("request latency: p50 \(percentile(0.5)), p99 \(percentile(0.99))")
        if let sink { print("forwarded to the sink: \(sink.requests) requests") }
        if let remoteWrite {
            try CollectionPhase.reportLatency(timings, admin: admin)
            print("remote write: \(remoteWrite.requests) requests, \(remoteWrite.bytes >> 20) MiB")
        }
        print("throughput: \(Int(Double(spans) / wallSeconds)) spans/s")
        print("metronome CPU: \(String(format: "%.2f", cpu)) s → \(Int(Double(spans) / cpu)) spans per CPU-second")
        print("metronome peak RSS: \(rss / 1024) MiB")
        let selfMetrics = try SelfMetricsScrape(port: admin)
        print(
            "metrics output: \(Int(selfMetrics.sum("metronome_spans_received_total"))) spans received, "
                + "\(Int(selfMetrics.sum("metronome_spans_discarded_total"))) discarded, "
                + "\(Int(selfMetrics.sum("metronome_registry_collections_total"))) collections of "
                + "\(Int(selfMetrics.sum("metronome_samples_collected_total"))) samples"
        )
    }

    /// Sends `request` from `concurrency` workers until `deadline`; when each request was sent and how long it took.
    private func load(
        _ request: [UInt8],
        until deadline: ContinuousClock.Instant,
        send: @escaping @Sendable ([UInt8]) async throws -> Void
    ) async throws -> [RequestTiming] {
        try await withThrowingTaskGroup(of: [RequestTiming].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var timings: [RequestTiming] = []
                    var request = request
                    var stampedAt = ContinuousClock.now
                    while ContinuousClock.now < deadline {
                        let sentAt = ContinuousClock.now
                        let sentAtEpoch = Date().timeIntervalSince1970
                        // Runs longer than the ingestion window send spans that end now.
                        if sentAt - stampedAt > .seconds(5) {
                            request = try requestBytes()
                            stampedAt = sentAt
                        }
                        try await send(request)
                        timings.append(RequestTiming(sentAt: sentAtEpoch, latency: ContinuousClock.now - sentAt))
                    }
                    return timings
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    /// One request of the chosen shape, its spans ending now.
    private func requestBytes() throws -> [UInt8] {
        let nowNanos = UInt64(Date().timeIntervalSince1970 * 1e9)
        switch shape {
        case .tempo:
            return try OTLPFixtures.tempoShaped(
                resources: resources,
                spansPerResource: spansPerResource,
                nowNanos: nowNanos
            ).serializedBytes()
        case .edges:
            return try ServiceGraphsBenchmark.edgeRequest(
                edges: resources * spansPerResource / 2,
                services: resources,
                trace: 1,
                clientsOnly: false,
                nowNanos: nowNanos
            ).serializedBytes()
        case .mesh:
            return try MeshWorkload.request(
                spans: resources * spansPerResource,
                sequence: Int(nowNanos / 1_000_000),
                nowNanos: nowNanos
            ).serializedBytes()
        }
    }

    private func waitForPort(_ port: Int) async throws {
        for _ in 0..<100 {
            if let socket = try? connectTCP(port: port) {
                close(socket)
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("metronome did not start listening on \(port)")
    }
}

/// CPU time and peak memory of another process, from Linux's /proc.
enum ProcessStats {
    static func cpuSeconds(pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields overall.
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (Double(fields[11])! + Double(fields[12])!) / ticks
    }

    static func peakRSSKiB(pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
}

func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard bound else { throw ValidationError("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

func connectTCP(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
    guard connected else {
        close(fd)
        throw ValidationError("connection refused")
    }
    return fd
}
