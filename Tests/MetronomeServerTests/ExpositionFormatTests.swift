import Testing

@testable import MetronomeServer

struct ExpositionFormatTests {
    @Test func prometheusWithNativeHistogramsGetsProtobuf() {
        // Prometheus 2.42's Accept header with --enable-feature=native-histograms.
        let accept =
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,"
            + "application/openmetrics-text;version=1.0.0;q=0.4,application/openmetrics-text;version=0.0.1;q=0.3,"
            + "text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
        #expect(ExpositionFormat(accept: accept) == .protobuf)
        #expect(
            ExpositionFormat(
                accept:
                    "application/vnd.google.protobuf; proto=\"io.prometheus.client.MetricFamily\"; encoding=delimited"
            ) == .protobuf
        )
    }

    @Test func everythingElseGetsText() {
        // Prometheus without native histograms, curl, no header, a tie, protobuf of another encoding, nonsense.
        let accepts: [String?] = [
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            "*/*", nil, "",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,text/plain;q=0.5",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0",
            ";;;,=,q=x",
        ]
        for accept in accepts {
            #expect(ExpositionFormat(accept: accept) == .text, "\(accept ?? "nil")")
        }
    }
}
