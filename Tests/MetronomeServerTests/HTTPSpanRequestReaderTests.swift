import Testing

@testable import MetronomeServer

struct HTTPSpanRequestReaderTests {
    @Test func theMediaTypeIsWhatPrecedesTheParametersTrimmedAndLowercased() {
        let types = [
            "application/x-protobuf", "Application/JSON; charset=utf-8", " \tapplication/json\t ;q=1", "text/plain;",
            "", "  ", "; charset=utf-8", "application/x-thrift;;", "ünïcode/Type",
        ].map(HTTPSpanRequestReader.mediaType(ofContentType:))
        #expect(
            types == [
                "application/x-protobuf", "application/json", "application/json", "text/plain", nil, nil, nil,
                "application/x-thrift", "ünïcode/type",
            ]
        )
    }
}
