import Logging
import MetronomeGenerator
import Testing

@testable import MetronomeServer

/// `/status/config` and `/status/overrides`: the running settings in Tempo's keys, secrets hidden.
struct StatusDocumentTests {
    @Test func theConfigurationShowsDefaultsAndHidesSecrets() throws {
        let configuration = try ConfigurationLoader.load(
            yaml: """
                metrics_generator:
                  storage:
                    remote_write:
                      - url: http://127.0.0.1:9090/api/v1/write
                        headers: {Authorization: Bearer hunter2}
                        basic_auth: {username: u, password: hunter3}
                """
        )
        let text = StatusDocument.configuration(configuration)
        #expect(!text.contains("hunter2") && !text.contains("hunter3"))
        #expect(text.contains("Authorization: <secret>") && text.contains("authorization: <secret>"))
        #expect(text.contains("collection_interval: 15s"))
        #expect(text.contains("- 0.002"))
        #expect(text.contains("max_tenants: 1000"))
    }

    @Test func overridesShowEachTenantsEffectiveSettingsAndTheirBlock() throws {
        var configuration = Generator.Configuration()
        configuration.limits.maxActiveSeries = 42
        let tenants = Tenants(overrides: .fixed(configuration), dataPath: nil, logger: Logger(label: "test"))
        _ = try tenants.tenant(TenantID(validating: "team-a"), nowMs: 0)
        let text = StatusDocument.overrides(tenants)
        #expect(text.contains("team-a:") && text.contains("block: defaults"))
        #expect(text.contains("max_active_series: 42"))
    }
}
