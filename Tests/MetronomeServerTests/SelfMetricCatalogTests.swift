import Foundation
import MetronomeSelfMetrics
import Testing

/// The self-metric catalog is the one list of `metronome_*` metrics: names are unique and valid, and the README's
/// table is the catalog's.
struct SelfMetricCatalogTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")
    static let begin = "<!-- self-metrics:begin -->\n"
    static let end = "<!-- self-metrics:end -->"

    @Test func namesAreUniqueAndFollowPrometheusConventions() {
        #expect(Set(SelfMetric.all.map(\.name)).count == SelfMetric.all.count)
        for metric in SelfMetric.all {
            #expect(metric.name.hasPrefix("metronome_"))
            #expect(metric.name.hasSuffix("_total") == (metric.kind == .counter), "\(metric.name)")
            #expect(!metric.help.isEmpty)
            #expect(SelfMetric.named(metric.name) == metric)
        }
    }

    @Test func theReadmeListsTheCatalog() throws {
        var text = try String(contentsOf: Self.readme, encoding: .utf8)
        if ProcessInfo.processInfo.environment["METRONOME_UPDATE_README"] == "1" {
            text.replaceSubrange(try Self.table(in: text), with: SelfMetric.markdownTable)
            try text.write(to: Self.readme, atomically: true, encoding: .utf8)
        }
        #expect(String(text[try Self.table(in: text)]) == SelfMetric.markdownTable)
    }

    /// Where the generated table is in the README's text.
    static func table(in text: String) throws -> Range<String.Index> {
        let start = try #require(text.range(of: begin)).upperBound
        let stop = try #require(text.range(of: end)).lowerBound
        return start..<stop
    }
}
