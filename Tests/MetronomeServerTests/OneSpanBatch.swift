import MetronomeWire
import OTLPProto
import SwiftProtobuf

extension SpanBatch {
    /// A batch of one span named `s` ending at `nowNanos`, in a resource without attributes.
    static func oneSpan(endingAt nowNanos: UInt64) throws -> SpanBatch {
        let request = OTLPFixtures.Request.with {
            $0.resourceSpans = [OTLPFixtures.resourceSpans([], [OTLPFixtures.span(name: "s", nowNanos: nowNanos)])]
        }
        return try SpanBatch(protobuf: Array(try request.serializedData()))
    }
}
