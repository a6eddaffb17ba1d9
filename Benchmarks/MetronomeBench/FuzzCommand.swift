import ArgumentParser
import MetronomeFuzz

/// `metronome-bench fuzz`: mutated OTLP protobuf and JSON through the decoder, transcoder and formatter for a
/// bounded time; a crash ends the process (and names the seed to reproduce it with).
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Seeded mutation of OTLP requests through the decoder, the JSON transcoder and the formatter."
    )

    @Option(help: "The seed of the mutation stream (a run is reproducible from it).") var seed: UInt64 = 1
    @Option(help: "Seconds to run.") var seconds = 60

    func run() throws {
        print("fuzzing with seed \(seed) for \(seconds) s")
        var fuzzer = WireFuzzer(seed: seed)
        let report = fuzzer.run(until: .now + .seconds(seconds))
        print(report)
    }
}
