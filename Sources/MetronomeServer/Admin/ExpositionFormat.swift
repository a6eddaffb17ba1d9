import Foundation

/// The format `/metrics/generated` answers in, chosen from the request's `Accept` header as Prometheus negotiates a
/// scrape: the protobuf format (which carries native histograms) when the client prefers it, else the text format.
enum ExpositionFormat: Equatable {
    /// Prometheus text format 0.0.4: classic histograms only.
    case text
    /// Length-delimited `io.prometheus.client.MetricFamily` messages: classic and native histograms.
    case protobuf

    /// The format for an `Accept` header: protobuf when its quality is above the text format's (a range that names
    /// the protobuf media type with `proto=io.prometheus.client.MetricFamily` and `encoding=delimited`; for text,
    /// `text/plain`, `text/*` or `*/*`); text when absent, tied or unparseable. Other formats Prometheus lists
    /// (OpenMetrics) are not served: Prometheus reads the text answer by its `Content-Type`.
    init(accept: String?) {
        var protobufQuality = 0.0
        var textQuality = accept == nil ? 1.0 : 0.0
        for range in (accept ?? "").split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let mediaType = parts.first else { continue }
            var parameters: [String: String] = [:]
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2 {
                    parameters[pair[0]] = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                }
            }
            let quality = parameters["q"].flatMap(Double.init) ?? 1
            switch mediaType {
            case "application/vnd.google.protobuf"
            where parameters["proto"] == "io.prometheus.client.metricfamily" && parameters["encoding"] == "delimited":
                protobufQuality = max(protobufQuality, quality)
            case "text/plain", "text/*", "*/*":
                textQuality = max(textQuality, quality)
            default:
                continue
            }
        }
        self = protobufQuality > textQuality ? .protobuf : .text
    }
}
