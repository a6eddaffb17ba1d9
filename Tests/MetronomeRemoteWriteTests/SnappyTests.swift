import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeRemoteWrite

struct SnappyTests {
    @Test func roundTripsArbitraryBytes() throws {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 17, 4096, 100_000] {
            let input = (0..<length).map { _ in UInt8.random(in: 0...7, using: &generator) }
            #expect(try Snappy.uncompress(Snappy.compress(input)) == input)
        }
    }

    @Test func decodesAHandBuiltBlock() throws {
        // Length 3, then a literal of 3 bytes: "abc".
        #expect(try Snappy.uncompress([0x03, 0x08, 0x61, 0x62, 0x63]) == Array("abc".utf8))
    }

    @Test func rejectsGarbageAndOversizedOutput() {
        #expect(throws: Snappy.Error.corruptInput) { try Snappy.uncompress([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) }
        #expect(throws: Snappy.Error.tooLarge(100)) { try Snappy.uncompress([100, 0x00], maxSize: 10) }
    }
}

struct RemoteWriteHeaderTests {
    let settings = RemoteWriteSettings()

    @Test func tenantHeaderIsAddedExceptForSingleTenant() {
        let endpoint = RemoteWriteEndpoint(url: "http://x", headers: ["X-Extra": "v"])
        #expect(
            requestHeaders(for: endpoint, tenant: "team", settings: settings).map { "\($0.0)=\($0.1)" } == [
                "X-Extra=v", "X-Scope-OrgID=team",
            ]
        )
        #expect(requestHeaders(for: endpoint, tenant: "single-tenant", settings: settings).map(\.0) == ["X-Extra"])
    }

    @Test func aConfiguredTenantHeaderWinsCaseInsensitively() {
        let endpoint = RemoteWriteEndpoint(url: "http://x", headers: ["x-scope-orgid ": "other"])
        #expect(requestHeaders(for: endpoint, tenant: "team", settings: settings).map(\.1) == ["other"])
    }

    @Test func theTenantHeaderCanBeTurnedOff() {
        var settings = settings
        settings.addOrgIDHeader = false
        #expect(requestHeaders(for: RemoteWriteEndpoint(url: "http://x"), tenant: "team", settings: settings).isEmpty)
    }
}
