/// A compiled regular expression for filter policies, searched unanchored as RE2's `MatchString` does.
///
/// `@unchecked Sendable` (`Regex<AnyRegexOutput>` is not `Sendable` because its output type is not): the pattern is
/// never changed after `init`; the only state matching touches is the program the standard library lowers on first
/// use, which it publishes with an atomic compare-and-exchange, so concurrent first matches are safe.
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
