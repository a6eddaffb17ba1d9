import Logging
import MetronomeGenerator
import MetronomeWire
import Testing

@testable import MetronomeServer

struct DistributorTests {
    @Test func absentOrBlankTenantHeaderMeansSingleTenant() throws {
        #expect(try Distributor.tenant(fromHeader: nil) == .singleTenant)
        #expect(try Distributor.tenant(fromHeader: "  ") == .singleTenant)
        #expect(try Distributor.tenant(fromHeader: "team-a").value == "team-a")
        #expect(throws: Distributor.InvalidRequest.self) { try Distributor.tenant(fromHeader: "a/b") }
    }

    @Test func responsesFollowOTLP() {
        #expect(OTLPResponses.exportProtobuf(.init()).isEmpty)
        #expect(String(decoding: OTLPResponses.exportJSON(.init()), as: UTF8.self) == "{}")
        let partial = Distributor.Outcome(rejectedSpans: 3, message: "late \"spans\"")
        #expect(
            String(decoding: OTLPResponses.exportJSON(partial), as: UTF8.self)
                == #"{"partialSuccess":{"rejectedSpans":"3","errorMessage":"late \"spans\""}}"#
        )
        // partial_success (field 1) { rejected_spans (1) = 3, error_message (2) }
        #expect(Array(OTLPResponses.exportProtobuf(partial).prefix(4)) == [0x0A, 0x10, 0x08, 0x03])
        #expect(
            OTLPResponses.status(code: 3, message: "bad", json: false) == [0x08, 0x03, 0x12, 0x03, 0x62, 0x61, 0x64]
        )
    }
}
