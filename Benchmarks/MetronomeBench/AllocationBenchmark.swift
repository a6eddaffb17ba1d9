import ArgumentParser
import Foundation
import MallocInterposerSwift
import MetronomeGenerator
import MetronomeWire
import OTLPProto
import SwiftProtobuf

/// Heap allocations (malloc calls and bytes) per request on the per-request hot path: decoding the request into a
/// `SpanBatch` and pushing it through the processors, for small and large requests of the Tempo shape (span metrics)
/// and for the mesh (span metrics and service graphs). The per-span figure is the slope between the small and the
/// large request: what the hot path allocates per span, which should be nothing (ARCHITECTURE.md rule 1).
///
/// Counted by ordo-one's malloc interposer, which must be preloaded: the command runs itself again with
/// `LD_PRELOAD` set to the interposer's library beside the executable.
struct AllocationBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allocations",
        abstract: "malloc calls per request and per span: decode and processors, warm (series and edges exist)."
    )

    @Option(help: "Measured requests per case.") var iterations = 2000

    private static let preloadVariable = "LD_PRELOAD"
    private static let library = "libMallocInterposerSwift.so"

    func run() throws {
        #if os(Linux)
            if ProcessInfo.processInfo.environment[Self.preloadVariable]?.contains(Self.library) != true {
                return try runPreloaded()
            }
        #endif
        let small = try measure(.tempo(spans: 50))
        let large = try measure(.tempo(spans: 2000))
        let perSpan = Double(large.mallocs - small.mallocs) / Double(2000 - 50)
        for (name, figures) in [("tempo, 50 spans", small), ("tempo, 2000 spans", large)] {
            print("\(name): \(figures)")
        }
        print(String(format: "per span (slope 50 → 2000): %.3f mallocs", perSpan))
        print("mesh, 500 spans, span metrics and service graphs: \(try measure(.mesh(spans: 500)))")
    }

    /// The workloads measured.
    private enum Case {
        case tempo(spans: Int)
        case mesh(spans: Int)
    }

    /// Allocations per request, averaged over the measured requests.
    private struct Figures: CustomStringConvertible {
        var mallocs: Int
        var bytes: Int

        var description: String { "\(mallocs) mallocs, \(bytes) bytes a request" }
    }

    private func measure(_ workload: Case) throws -> Figures {
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        var configuration = Generator.Configuration()
        configuration.registry.instanceLabel = "bench"
        let requests: [[UInt8]]
        switch workload {
        case .tempo(let spans):
            configuration.processors = [SpanMetricsProcessor.name]
            requests = [
                try OTLPFixtures.tempoShaped(resources: 1, spansPerResource: spans, nowNanos: now).serializedBytes()
            ]
        case .mesh(let spans):
            configuration.processors = [SpanMetricsProcessor.name, ServiceGraphsProcessor.name]
            requests = try (0..<64).map {
                try MeshWorkload.request(spans: spans, sequence: $0, nowNanos: now).serializedBytes()
            }
        }
        let generator = Generator(tenant: .singleTenant, configuration: configuration)
        let nowMs = Int64(now / 1_000_000)
        func push(_ index: Int) throws {
            let batch = try SpanBatch(protobuf: requests[index % requests.count])
            _ = generator.push(batch, nowMs: nowMs)
        }
        // Warm: every series exists and every edge kind has been paired once before counting starts.
        for index in 0..<(requests.count * 2) { try push(index) }
        MallocInterposerSwift.reset()
        MallocInterposerSwift.hook()
        for index in 0..<iterations { try push(index) }
        MallocInterposerSwift.unhook()
        let statistics = MallocInterposerSwift.getStatistics()
        return Figures(mallocs: statistics.mallocCount / iterations, bytes: statistics.mallocBytesCount / iterations)
    }

    /// Runs this command again with the interposer preloaded, so every allocation goes through it.
    private func runPreloaded() throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let library = executable.deletingLastPathComponent().appendingPathComponent(Self.library)
        guard FileManager.default.fileExists(atPath: library.path) else {
            throw ValidationError("\(library.path) is missing: build the metronome-bench product, which links it")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = Array(CommandLine.arguments.dropFirst())
        var environment = ProcessInfo.processInfo.environment
        environment[Self.preloadVariable] = library.path
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ExitCode(process.terminationStatus) }
    }
}
