import Testing

@testable import MetronomeServer

struct LogThrottleTests {
    @Test func aKeyLogsOncePerIntervalAndKeysAreIndependent() {
        let throttle = LogThrottle(seconds: 60)
        #expect(throttle.allows("a/invalid_utf8"))
        #expect(!throttle.allows("a/invalid_utf8"))
        #expect(throttle.allows("b/invalid_utf8"))
        let unthrottled = LogThrottle(seconds: 0)
        #expect(unthrottled.allows("a") && unthrottled.allows("a"))
    }
}
