import MetronomeFuzz
import Testing

/// CI's short fixed-seed pass of ``WireFuzzer`` (`metronome-bench fuzz` runs it for longer).
struct WireFuzzTests {
    @Test func mutatedRequestsNeverCrashOrBreakTheDecodeBounds() {
        var fuzzer = WireFuzzer(seed: 9)
        let report = fuzzer.run(until: .now + .seconds(3600), maxInputs: 20_000)
        #expect(report.inputs == 20_000)
        // The mutations leave enough of the seeds intact to exercise the decoder past its first checks.
        #expect(report.decoded > 500)
        #expect(report.formattedBytes > 0)
    }
}
