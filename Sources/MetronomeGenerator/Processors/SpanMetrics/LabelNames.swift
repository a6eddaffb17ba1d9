/// Label-name rules for span-metrics dimensions (spec §2.4).
enum LabelNames {
    /// The intrinsic label names a dimension may not take; a dimension that sanitizes to one gets a `__` prefix.
    static let intrinsics: Set<String> = ["service", "span_name", "span_kind", "status_code", "status_message"]

    /// Prometheus' `SanitizeLabelName`: every code point outside `[A-Za-z0-9_]` becomes one `_`; no prefixing of a
    /// leading digit (Tempo's behaviour).
    static func sanitize(_ name: String) -> String {
        String(
            String.UnicodeScalarView(
                name.unicodeScalars.map { scalar in
                    switch scalar {
                    case "a"..."z", "A"..."Z", "0"..."9", "_": scalar
                    default: "_"
                    }
                }
            )
        )
    }

    /// The label name of a dimension or mapping called `name`: sanitized, and prefixed with `__` when it would
    /// collide with an intrinsic (`span.kind` → `__span_kind`).
    static func dimensionLabel(_ name: String) -> String {
        let sanitized = sanitize(name)
        return intrinsics.contains(sanitized) ? "__" + sanitized : sanitized
    }
}
