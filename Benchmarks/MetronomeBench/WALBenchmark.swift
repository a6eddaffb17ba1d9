import ArgumentParser
import Foundation
import Logging
import MetronomeRemoteWrite
import MetronomeWire

/// The WAL's write and replay throughput in samples per second: span-metrics-shaped series encoded into remote-write
/// requests, appended one collection at a time (snappy, CRC, `write`, `fdatasync`), then recovered from disk by a
/// fresh open (every record's CRC checked) and read back by every send shard, as a restart after an outage would.
struct WALBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal",
        abstract: "WAL append and replay throughput (samples/s)."
    )

    @Option(help: "Series per collection.") var series = 200_000
    @Option(help: "Collections appended.") var collections = 20
    @Option(help: "Send shards.") var shards = 4
    @Option(help: "Directory for the WAL (a fresh subdirectory is made and removed).") var directory =
        NSTemporaryDirectory()

    func run() throws {
        let path = directory + "/metronome-wal-bench-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        let readers = (0..<shards).map { WALReader(endpoint: "bench", shard: $0) }
        var limits = WriteAheadLog.Limits()
        limits.maxBytes = 64 << 30
        var logger = Logger(label: "bench")
        logger.logLevel = .warning

        let log = try WriteAheadLog(directory: path, tenant: "bench", readers: readers, limits: limits, logger: logger)
        var appendWall = Duration.zero
        var appendCPU: UInt64 = 0
        var samples = 0
        var bytes = 0
        for collection in 0..<collections {
            let requests = encodeCollection(collection)
            samples += requests.reduce(0) { $0 + $1.samples }
            bytes += requests.reduce(0) { $0 + $1.bytes.count }
            let wallStart = ContinuousClock.now
            let cpuStart = Measurement.cpuNanos()
            try log.append(requests, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
            appendCPU += Measurement.cpuNanos() - cpuStart
            appendWall += ContinuousClock.now - wallStart
        }
        log.closeActiveSegment()
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".seg") }
            .reduce(0) {
                $0 + ((try? FileManager.default.attributesOfItem(atPath: path + "/" + $1)[.size] as? Int) ?? 0)
            }
        print(
            "appended \(samples) samples in \(collections) collections: \(bytes >> 20) MiB of requests, \(onDisk >> 20) MiB on disk"
        )
        report("append", samples: samples, wall: appendWall, cpu: appendCPU)

        let wallStart = ContinuousClock.now
        let cpuStart = Measurement.cpuNanos()
        let reopened = try WriteAheadLog(
            directory: path,
            tenant: "bench",
            readers: readers,
            limits: limits,
            logger: logger
        )
        var replayed = 0
        for reader in readers {
            while case .record(let record) = reopened.next(for: reader) {
                replayed += record.samples
                let payload = try reopened.payload(of: record)
                precondition(!payload.isEmpty)
                reopened.advance(reader, to: record.next)
            }
        }
        precondition(replayed == samples, "replayed \(replayed) of \(samples) samples")
        report(
            "replay (open + read every record)",
            samples: replayed,
            wall: ContinuousClock.now - wallStart,
            cpu: Measurement.cpuNanos() - cpuStart
        )
    }

    /// One collection of span-metrics-shaped series: calls counters and latency buckets with realistic labels.
    private func encodeCollection(_ collection: Int) -> [RemoteWriteEncoder.Request] {
        var encoder = RemoteWriteEncoder(maxSamplesPerRequest: 2000, shards: shards)
        let timestampMs = 1_700_000_000_000 + Int64(collection) * 15_000
        let buckets = [
            "0.002", "0.004", "0.008", "0.016", "0.032", "0.064", "0.128", "0.256", "0.512", "1.024",
            "2.048", "4.096", "8.192", "16.384", "+Inf",
        ]
        for index in 0..<series {
            let labels: [(String, String)] = [
                ("__metrics_gen_instance", "metronome-0"),
                ("__name__", index % 16 == 0 ? "traces_spanmetrics_calls_total" : "traces_spanmetrics_latency_bucket"),
                ("le", buckets[index % buckets.count]),
                ("service", "service-\(index / 400 % 50)"),
                ("span_kind", "SPAN_KIND_SERVER"),
                ("span_name", "GET /api/v\(index % 3)/resource-\(index / 16 % 25)"),
                ("status_code", index % 7 == 0 ? "STATUS_CODE_ERROR" : "STATUS_CODE_UNSET"),
            ]
            let strings = labels.flatMap { [Array($0.0.utf8), Array($0.1.utf8)] }
            let arena = strings.flatMap { $0 }
            let sample = [Sample(value: Double(collection * 37 + index % 1000), timestampMs: timestampMs)]
            arena.withUnsafeBytes { raw in
                var refs: [LabelRef] = []
                var offset = 0
                for pair in stride(from: 0, to: strings.count, by: 2) {
                    let nameEnd = offset + strings[pair].count
                    let valueEnd = nameEnd + strings[pair + 1].count
                    refs.append(
                        LabelRef(
                            name: UnsafeRawBufferPointer(rebasing: raw[offset..<nameEnd]),
                            value: UnsafeRawBufferPointer(rebasing: raw[nameEnd..<valueEnd])
                        )
                    )
                    offset = valueEnd
                }
                refs.withUnsafeBufferPointer { labels in
                    sample.withUnsafeBufferPointer { samples in
                        encoder.append(family: "f", type: .counter, labels: labels, samples: samples, exemplar: nil)
                    }
                }
            }
        }
        return encoder.finish()
    }

    private func report(_ name: String, samples: Int, wall: Duration, cpu: UInt64) {
        let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        let perSecond = String(format: "%.1f", Double(samples) / seconds / 1e6)
        let perCPU = String(format: "%.1f", Double(samples) / (Double(cpu) / 1e9) / 1e6)
        print(
            "\(name): \(perSecond) M samples/s (wall), \(perCPU) M samples per CPU-second, \(samples) samples in \(wall)"
        )
    }
}
