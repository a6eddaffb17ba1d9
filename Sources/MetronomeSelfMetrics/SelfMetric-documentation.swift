extension SelfMetric {
    /// The catalog as the README's Markdown table: one row per metric with its type, labels and help text.
    public static var markdownTable: String {
        var lines = ["| Metric | Type | Labels | Meaning |", "| --- | --- | --- | --- |"]
        for metric in all {
            let labels = metric.labels.map { "`\($0)`" }.joined(separator: ", ")
            let help = metric.help.map { $0 == "|" ? "\\|" : String($0) }.joined()
            lines.append("| `\(metric.name)` | \(metric.kind.rawValue) | \(labels) | \(help) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
