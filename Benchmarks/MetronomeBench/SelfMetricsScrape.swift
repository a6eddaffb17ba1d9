import ArgumentParser
import Foundation

/// A metronome process's self-metrics, scraped once from its admin port's `/metrics` (Prometheus text format).
struct SelfMetricsScrape {
    let text: String

    init(port: Int) throws {
        let socket = try connectTCP(port: port)
        defer { close(socket) }
        let request = Array("GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(socket, request, request.count, 0) == request.count else {
            throw ValidationError("could not ask for /metrics")
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = recv(socket, &chunk, chunk.count, 0)
            guard got > 0 else { break }
            response += chunk[..<got]
        }
        text = String(decoding: response, as: UTF8.self)
    }

    /// The sum of `name`'s series (0 when it has none).
    func sum(_ name: String) -> Double {
        text.split(separator: "\n").reduce(0) { total, line in
            guard line.hasPrefix(name + "{") || line.hasPrefix(name + " "), let value = line.split(separator: " ").last
            else { return total }
            return total + (Double(value) ?? 0)
        }
    }
}
