import MetronomeGenerator

/// One `filter_policies` entry as YAML writes it: `include`, `include_any`, `exclude`, each
/// `{match_type: strict|regex, attributes: [{key, value}]}` (Tempo's keys; spec §2.8).
struct FilterPolicySection: Decodable {
    let policy: FilterPolicy

    enum CodingKeys: String, CodingKey, CaseIterable {
        case include
        case includeAny = "include_any"
        case exclude
    }

    init(from decoder: any Decoder) throws {
        let keys = try decoder.strictContainer(CodingKeys.self)
        let path = ConfigurationError.path(decoder.codingPath)
        do {
            policy = try FilterPolicy(
                include: keys.decodeIfPresent(MatchSection.self, forKey: .include)?.match,
                includeAny: keys.decodeIfPresent(MatchSection.self, forKey: .includeAny)?.match,
                exclude: keys.decodeIfPresent(MatchSection.self, forKey: .exclude)?.match
            )
        } catch let error as FilterPolicy.Error {
            throw ConfigurationError(path: path, message: error.message)
        }
    }

    struct MatchSection: Decodable {
        let match: PolicyMatch

        enum CodingKeys: String, CodingKey, CaseIterable {
            case matchType = "match_type"
            case attributes
        }

        init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            let type = try keys.value(.matchType, or: "strict")
            guard let matchType = PolicyMatch.MatchType(rawValue: type) else {
                throw ConfigurationError(
                    path: ConfigurationError.path(decoder.codingPath + [CodingKeys.matchType]),
                    message: "'\(type)' is not a match type; use strict or regex"
                )
            }
            let attributes = try keys.value(.attributes, or: [AttributeSection]())
            do {
                match = try PolicyMatch(matchType: matchType, attributes: attributes.map { ($0.key, $0.value) })
            } catch {
                throw ConfigurationError(path: ConfigurationError.path(decoder.codingPath), message: error.message)
            }
        }
    }

    /// `{key, value}`: the value keeps its YAML type (bool, int, float or string), which strict matching compares by.
    struct AttributeSection: Decodable {
        let key: String
        let value: PolicyMatch.Value

        enum CodingKeys: String, CodingKey, CaseIterable { case key, value }

        init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            key = try keys.decode(String.self, forKey: .key)
            if let bool = try? keys.decode(Bool.self, forKey: .value) {
                value = .bool(bool)
            } else if let int = try? keys.decode(Int64.self, forKey: .value) {
                value = .int(int)
            } else if let double = try? keys.decode(Double.self, forKey: .value) {
                value = .double(double)
            } else {
                value = .string(try keys.decode(String.self, forKey: .value))
            }
        }
    }
}
