import Testing

@testable import MetronomeWire

struct DecimalFormatterTests {
    @Test(
        arguments: [
            (1.1, "1.1"), (100, "100"), (0.000001, "0.000001"), (1e21, "1000000000000000000000"), (-0.5, "-0.5"),
            (0.002, "0.002"), (16.384, "16.384"), (1e-7, "0.0000001"), (1.5e16, "15000000000000000"),
            (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (Double.nan, "NaN"), (0, "0"), (1, "1"),
            (123.456e-10, "0.0000000123456"),
        ] as [(Double, String)]
    )
    func formatsLikeGoStrconvWithoutExponent(value: Double, expected: String) {
        #expect(DecimalFormatter.string(value) == expected)
    }
}
