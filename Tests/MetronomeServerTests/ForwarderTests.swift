import Foundation
import GRPCCore
import Logging
import MetronomeGenerator
import MetronomeRemoteWrite
import MetronomeWire
import Testing

@testable import MetronomeServer

/// The forwarder's queue (group commit, records, full policy, retention), its failure classification and the OTLP
/// response details it reads, and its configuration in Tempo's shape.
struct ForwarderTests {
    private static func section(_ yaml: String) throws -> ForwarderSection {
        try ConfigurationLoader.load(yaml: "distributor:\n  forwarders:\n    - " + yaml + "\n").distributor.forwarders[
            0
        ]
    }

    private static func directory() -> String {
        NSTemporaryDirectory() + "forwarder-test-" + UUID().uuidString
    }

    @Test func aTempoForwardersBlockWorksUnchanged() throws {
        let tempo = try ConfigurationLoader.load(
            yaml: """
                distributor:
                  forwarders:
                    - name: tempo
                      backend: otlpgrpc
                      otlpgrpc:
                        endpoints: ["tempo:4317", "tempo-2:4317"]
                        tls: {insecure: true}
                      filter:
                        traces:
                          span: ['attributes["http.route"] == "/health"']
                overrides:
                  defaults:
                    forwarders: [tempo]
                """
        )
        let forwarder = tempo.distributor.forwarders[0]
        #expect(forwarder.name == "tempo" && forwarder.backend == .otlpgrpc)
        #expect(forwarder.endpoints == ["tempo:4317", "tempo-2:4317"] && forwarder.isPlaintext)
        #expect(forwarder.hasFilter)
        #expect(forwarder.maxQueueBytes == 1 << 30 && forwarder.maxQueueAgeMs == 2 * 3_600_000)
        #expect(forwarder.fullPolicy == .dropOldest && forwarder.timeoutMs == 10_000 && !forwarder.fsyncEachRequest)
        #expect(tempo.overrides.defaults.forwarders == ["tempo"])
        #expect(tempo.distributor.forwarderFlushDeadline.milliseconds == 30_000)
        let http = try Self.section(
            "{name: store, backend: otlphttp, otlphttp: {endpoints: ['http://store:4318/v1/traces']}, headers: {A: b}, timeout: 2s, queue: {max_bytes: 10MiB, max_age: 10m, full_policy: reject, fsync: true}}"
        )
        #expect(http.fsyncEachRequest)
        #expect(http.isPlaintext && http.headers == ["A": "b"] && http.timeoutMs == 2000)
        #expect(http.maxQueueBytes == 10 << 20 && http.maxQueueAgeMs == 600_000 && http.fullPolicy == .reject)
    }

    @Test func badForwarderConfigurationIsAnErrorNamingTheKey() {
        for (yaml, message) in [
            ("{name: a}", "needs a backend"),
            ("{name: a, backend: kafka, otlpgrpc: {endpoints: [x:1]}}", "kafka"),
            ("{name: a, backend: otlpgrpc}", "otlpgrpc block"),
            ("{name: a, backend: otlpgrpc, otlpgrpc: {endpoints: []}}", "at least one endpoint"),
            ("{name: a, backend: otlphttp, otlphttp: {endpoints: ['store:4318']}}", "not an http(s) URL"),
            ("{name: '../x', backend: otlpgrpc, otlpgrpc: {endpoints: [x:1]}}", "name"),
            ("{name: a, backend: otlpgrpc, otlpgrpc: {endpoints: [x:1]}, queue: {full_policy: block}}", "block"),
        ] {
            #expect {
                try Self.section(yaml)
            } throws: { error in
                "\(error)".contains(message)
            }
        }
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(yaml: "overrides:\n  defaults:\n    forwarders: [missing]\n")
        }
        #expect(throws: ConfigurationError.self) {
            let entry = "{name: a, backend: otlpgrpc, otlpgrpc: {endpoints: [x:1]}}"
            _ = try ConfigurationLoader.load(yaml: "distributor:\n  forwarders: [\(entry), \(entry)]\n")
        }
    }

    @Test func concurrentAppendsAreGroupCommittedAndEveryRecordKeepsItsTenant() async throws {
        let section = try Self.section("{name: q, backend: otlpgrpc, otlpgrpc: {endpoints: [x:1]}}")
        let queue = try ForwarderQueue(section: section, directory: Self.directory(), logger: Logger(label: "test"))
        let tenants = [TenantID.singleTenant, try TenantID(validating: "team-a")]
        let appended = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let result = await queue.append([UInt8(index % 256), 1, 2], spans: 3, tenant: tenants[index % 2])
                    if case .success = result { return true }
                    return false
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(appended == 200)
        #expect(queue.wal.held.records == 200)
        var found: [String: Int] = [:]
        for reader in ForwarderQueue.readers("q") {
            while case .record(let record) = queue.wal.next(for: reader) {
                let decoded = ForwardedRecord.decode(try queue.wal.payload(of: record))
                #expect(decoded?.request.dropFirst().elementsEqual([1, 2]) == true)
                #expect(record.samples == 3)
                found[decoded?.tenant.value ?? "?", default: 0] += 1
                queue.wal.advance(reader, to: record.next)
            }
        }
        #expect(found == ["single-tenant": 100, "team-a": 100])
    }

    @Test func aFullRejectQueueRefusesAndADropOldestOneLetsTheOldestGo() async throws {
        let reject = try ForwarderQueue(
            section: try Self.section(
                "{name: r, backend: otlpgrpc, otlpgrpc: {endpoints: [x:1]}, queue: {max_bytes: 1KiB, full_policy: reject}}"
            ),
            directory: Self.directory(),
            logger: Logger(label: "test")
        )
        let request = [UInt8](repeating: 7, count: 400)
        var refused = 0
        for _ in 0..<5 {
            if case .failure(.full) = await reject.append(request, spans: 1, tenant: .singleTenant) { refused += 1 }
        }
        #expect(refused == 3)
        #expect(reject.wal.held.records == 2)
        // Once sent, the records no longer count, though their segment is still on disk.
        for reader in ForwarderQueue.readers("r") {
            while case .record(let record) = reject.wal.next(for: reader) {
                reject.wal.advance(reader, to: record.next)
            }
        }
        guard case .success = await reject.append(request, spans: 1, tenant: .singleTenant) else {
            Issue.record("an emptied reject queue refused")
            return
        }

        let dropping = try ForwarderQueue(
            section: try Self.section(
                "{name: d, backend: otlpgrpc, otlpgrpc: {endpoints: [x:1]}, queue: {max_bytes: 3MiB}}"
            ),
            directory: Self.directory(),
            logger: Logger(label: "test")
        )
        // 1 MiB segments: 40 requests of 256 KiB make 10 MiB, of which at most max_bytes plus a segment stay.
        let large = [UInt8](repeating: 1, count: 256 << 10)
        for _ in 0..<40 {
            guard case .success = await dropping.append(large, spans: 1, tenant: .singleTenant) else {
                Issue.record("a drop_oldest queue refused")
                return
            }
        }
        #expect(dropping.wal.held.bytes <= (3 << 20) + (1 << 20) + (300 << 10))
    }

    @Test func failuresAreRetriedOrDroppedAsOTLPSays() {
        for code in [RPCError.Code.unavailable, .resourceExhausted, .deadlineExceeded, .aborted] {
            #expect(
                OTLPGRPCForwarderTransport.outcome(RPCError(code: code, message: ""))
                    == .retry(code: "\(code)", after: nil)
            )
        }
        for code in [RPCError.Code.invalidArgument, .permissionDenied, .unimplemented, .internalError] {
            guard case .drop = OTLPGRPCForwarderTransport.outcome(RPCError(code: code, message: "no")) else {
                Issue.record("\(code) is retried")
                continue
            }
        }
        // RetryInfo in grpc-status-details-bin sets the delay.
        var metadata = Metadata()
        metadata.addBinary(
            OTLPResponses.statusWithRetryInfo(code: 8, message: "slow down", retryAfterSeconds: 7),
            forKey: "grpc-status-details-bin"
        )
        let limited = RPCError(code: .resourceExhausted, message: "slow down", metadata: metadata)
        #expect(
            OTLPGRPCForwarderTransport.outcome(limited)
                == .retry(code: "resourceExhausted", after: .seconds(7), message: ClientText.quoted("slow down"))
        )
        // HTTP: 429 and 5xx retried (Retry-After honoured, capped), other 4xx dropped.
        #expect(
            OTLPHTTPForwarderTransport.outcome(status: 503, retryAfter: "3", body: [])
                == .retry(code: "503", after: .seconds(3))
        )
        #expect(
            OTLPHTTPForwarderTransport.outcome(status: 429, retryAfter: "99999", body: [])
                == .retry(code: "429", after: .seconds(300))
        )
        #expect(
            OTLPHTTPForwarderTransport.outcome(status: 502, retryAfter: nil, body: [])
                == .retry(code: "502", after: nil)
        )
        #expect(
            OTLPHTTPForwarderTransport.outcome(status: 400, retryAfter: nil, body: Array("bad".utf8))
                == .drop(code: "400", message: "bad")
        )
    }

    @Test func anOTLPPartialSuccessIsRead() {
        var response = ProtobufWriter()
        response.writeMessage(1) { partial in
            partial.writeVarintField(1, 12)
            partial.writeBytesField(2, "some spans were too old".utf8)
        }
        #expect(OTLPResponseDetails.rejectedSpans(response.bytes) == 12)
        #expect(OTLPResponseDetails.rejectedSpans([]) == 0)
        #expect(
            OTLPHTTPForwarderTransport.outcome(status: 200, retryAfter: nil, body: response.bytes)
                == .delivered(rejectedSpans: 12)
        )
        #expect(OTLPResponseDetails.rejectedSpans([0x0a, 0x7f]) == 0)
    }

    @Test func aJoinedRequestIsSerializedAsItsPartsConcatenated() throws {
        let whole: [UInt8] = Array(0..<200)
        let joined = ForwardedRequest(parts: [whole[0..<7], whole[7..<150], whole[150...]])
        #expect(joined.count == 200)
        let serialized: [UInt8] = try ForwardedRequestSerializer().serialize(joined)
        #expect(serialized == whole)
        let single: [UInt8] = try ForwardedRequestSerializer().serialize(ForwardedRequest(parts: [whole[3...]]))
        #expect(single == Array(whole[3...]))
    }
}
