import Logging
import MetronomeGenerator
import MetronomeWire
import Testing

@testable import MetronomeServer

struct AdmissionTests {
    @Test func theBudgetRefusesWhatDoesNotFitButAlwaysLetsOneRequestIn() {
        let budget = InflightBudget(limit: 100)
        var first = InflightReservation(budget)
        var second = InflightReservation(budget)
        let grown = [first.grow(by: 60), second.grow(by: 41), second.grow(by: 40)]
        #expect(grown == [true, false, true])
        #expect(budget.inUse == 100)
        second.shrink(to: 10)
        #expect(budget.inUse == 70)
        _ = consume first
        _ = consume second
        #expect(budget.inUse == 0)
        // Alone, a request larger than the whole budget is let through, so a small budget still serves.
        var large = InflightReservation(budget)
        var next = InflightReservation(budget)
        let whileLarge = [large.grow(by: 500), next.grow(by: 1)]
        #expect(whileLarge == [true, false])
        _ = consume large
        let afterLarge = next.grow(by: 1)
        #expect(afterLarge)
        // A lone request goes on growing past the limit for what the size limit bounds (a compressed body: its bytes,
        // then room to decompress), not for the rest (what translating it adds)...
        let alone = [next.growWithinSizeLimit(by: 99), next.growWithinSizeLimit(by: 400), next.grow(by: 1)]
        #expect(alone == [true, true, false])
        // ...and only while no other request holds some of the budget.
        var other = InflightReservation(budget)
        _ = consume next
        let otherGrown = [other.grow(by: 60), other.growWithinSizeLimit(by: 60)]
        var third = InflightReservation(budget)
        let whileOther = [third.growWithinSizeLimit(by: 1), other.growWithinSizeLimit(by: 1)]
        #expect(otherGrown == [true, true] && whileOther == [false, true])
    }

    @Test func theRateLimiterRefillsAtItsRateUpToItsBurst() {
        let limiter = IngestionRateLimiter()
        let limit = IngestionRateLimiter.Configuration(rateLimitBytes: 1000, burstSizeBytes: 2000)
        let tenant = TenantID.singleTenant
        let start = ContinuousClock.now
        #expect(limiter.take(2000, tenant: tenant, configuration: limit, now: start) == nil)
        // Empty: 500 bytes need half a second, hinted as 1 s.
        #expect(limiter.take(500, tenant: tenant, configuration: limit, now: start) == 1)
        #expect(limiter.take(500, tenant: tenant, configuration: limit, now: start + .milliseconds(500)) == nil)
        // A refused request takes nothing; a long pause refills no further than the burst.
        #expect(limiter.take(2001, tenant: tenant, configuration: limit, now: start + .seconds(60)) == 1)
        #expect(limiter.take(2000, tenant: tenant, configuration: limit, now: start + .seconds(60)) == nil)
        #expect(limiter.take(1500, tenant: tenant, configuration: limit, now: start + .seconds(60)) == 2)
        // A tenant not remembered (one that does not exist yet) is checked against a full bucket and not charged.
        let new = try! TenantID(validating: "new")
        #expect(limiter.take(2000, tenant: new, configuration: limit, remember: false, now: start) == nil)
        #expect(limiter.take(2000, tenant: new, configuration: limit, remember: false, now: start) == nil)
        #expect(limiter.take(2001, tenant: new, configuration: limit, remember: false, now: start) == 1)
        // Tenants have buckets of their own; no rate means no limit.
        #expect(limiter.take(2000, tenant: try! TenantID(validating: "other"), configuration: limit, now: start) == nil)
        #expect(limiter.take(1 << 40, tenant: tenant, configuration: .init()) == nil)
    }

    @Test func aNewTenantPastTheLimitIsRefusedNamingTheLimit() throws {
        let logger = Logger(label: "test")
        let tenants = Tenants(overrides: .fixed(), limit: 2, dataPath: nil, logger: logger)
        let distributor = Distributor(tenants: tenants, logger: logger)
        let now = Distributor.nowNanos()
        let batch = try SpanBatch.oneSpan(endingAt: now)
        for name in ["a", "b"] {
            let tenant = try TenantID(validating: name)
            try distributor.admit(10, tenant: tenant)
            _ = try distributor.push(batch, tenant: tenant, nowNanos: now)
        }
        #expect(throws: Never.self) { try distributor.admit(10, tenant: TenantID(validating: "a")) }
        #expect(tenants.all.count == 2)
        #expect {
            try distributor.admit(10, tenant: TenantID(validating: "c"))
        } throws: { error in
            guard let refusal = error as? Refusal else { return false }
            return refusal.reason == .maxTenants && refusal.retryAfterSeconds == nil
                && refusal.description.contains("distributor.max_tenants")
        }
    }

    @Test func rateLimitRefusalsSayTheLimitAndHowLongToWait() throws {
        let logger = Logger(label: "test")
        let distributor = Distributor(
            tenants: Tenants(
                overrides: .fixed(ingestion: .init(rateLimitBytes: 100, burstSizeBytes: 100)),
                dataPath: nil,
                logger: logger
            ),
            logger: logger
        )
        // Buckets are kept for tenants that exist (a new tenant's first request is not charged).
        let now = Distributor.nowNanos()
        _ = try distributor.push(try SpanBatch.oneSpan(endingAt: now), tenant: .singleTenant, nowNanos: now)
        try distributor.admit(100, tenant: .singleTenant)
        #expect {
            try distributor.admit(50, tenant: .singleTenant)
        } throws: { error in
            guard let refusal = error as? Refusal else { return false }
            return refusal.reason == .rateLimited && refusal.retryAfterSeconds == 1
                && refusal.description.hasPrefix("RATE_LIMITED: ingestion rate limit (100 bytes) exceeded")
        }
    }

    @Test func retryInfoIsAStatusWithOneAnyDetail() {
        let bytes = OTLPResponses.statusWithRetryInfo(code: 8, message: "m", retryAfterSeconds: 3)
        let typeURL = Array("type.googleapis.com/google.rpc.RetryInfo".utf8)
        // code 8, message "m", details { type_url, value { retry_delay { seconds 3 } } }
        let expected: [UInt8] =
            [0x08, 0x08, 0x12, 0x01, 0x6D, 0x1A, UInt8(2 + typeURL.count + 6), 0x0A, UInt8(typeURL.count)] + typeURL
            + [0x12, 0x04, 0x0A, 0x02, 0x08, 0x03]
        #expect(bytes == expected)
    }

    @Test func grpcMessagesArePercentEncoded() {
        #expect(GRPCStatus.percentEncoded("100% of 5 bytes") == "100%25 of 5 bytes")
        #expect(GRPCStatus.percentEncoded("a\nb é") == "a%0Ab %C3%A9")
    }
}
