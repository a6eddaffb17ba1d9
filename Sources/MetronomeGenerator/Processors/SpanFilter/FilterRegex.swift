/// A compiled regular expression for filter policies, searched unanchored as RE2's `MatchString` does.
///
/// `@unchecked Sendable`: the wrapped `Regex` is immutable after compilation and matching does not mutate it.
final class FilterRegex: @unchecked Sendable {
    private let regex: Regex<AnyRegexOutput>

    init(_ pattern: String) throws(FilterPolicy.Error) {
        do {
            regex = try Regex(pattern)
        } catch {
            throw FilterPolicy.Error(message: "invalid regex '\(pattern)': \(error)")
        }
    }

    func contains(_ text: String) -> Bool {
        (try? regex.firstMatch(in: text)) != nil
    }
}
