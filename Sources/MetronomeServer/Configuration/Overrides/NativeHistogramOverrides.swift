import MetronomeGenerator

/// The native-histogram keys of an overrides block as written (spec §5.4, §6): a key left unset — or set to Tempo's
/// zero value — in a tenant's block falls back to `overrides.defaults`, and from there to Tempo's defaults.
public struct NativeHistogramOverrides: Sendable, Equatable {
    /// `generate_native_histograms`.
    public var mode: NativeHistogramSettings.Mode?
    /// `native_histogram_bucket_factor`.
    public var bucketFactor: Double?
    /// `native_histogram_max_bucket_number`.
    public var maxBucketNumber: Int?
    /// `native_histogram_min_reset_duration`.
    public var minResetDurationMs: Int64?

    public init() {}

    /// Reads the four keys from an overrides block, validated as Tempo's overrides API does.
    init(
        from keys: KeyedDecodingContainer<GeneratorOverrides.CodingKeys>,
        location: (GeneratorOverrides.CodingKeys) -> String
    ) throws {
        let mode = try keys.value(.generateNativeHistograms, or: "")
        if !mode.isEmpty {
            guard let parsed = NativeHistogramSettings.Mode(rawValue: mode) else {
                throw ConfigurationError(
                    path: location(.generateNativeHistograms),
                    message: "'\(mode)' is not a histogram mode; use classic, native or both"
                )
            }
            self.mode = parsed
        }
        let factor = try keys.value(.nativeHistogramBucketFactor, or: 0.0)
        if factor != 0 {
            guard factor > 1, factor.isFinite else {
                throw ConfigurationError(
                    path: location(.nativeHistogramBucketFactor),
                    message: "must be greater than 1"
                )
            }
            bucketFactor = factor
        }
        let maxBuckets = try keys.value(.nativeHistogramMaxBucketNumber, or: 0)
        guard maxBuckets >= 0 else {
            throw ConfigurationError(path: location(.nativeHistogramMaxBucketNumber), message: "must not be negative")
        }
        if maxBuckets != 0 { maxBucketNumber = maxBuckets }
        let reset = try keys.value(.nativeHistogramMinResetDuration, or: ConfigDuration(milliseconds: 0)).milliseconds
        guard reset >= 0 else {
            throw ConfigurationError(path: location(.nativeHistogramMinResetDuration), message: "must not be negative")
        }
        if reset != 0 { minResetDurationMs = reset }
    }

    /// These keys, each one unset here taken from `defaults`.
    func falling(backTo defaults: Self) -> Self {
        var merged = self
        merged.mode = mode ?? defaults.mode
        merged.bucketFactor = bucketFactor ?? defaults.bucketFactor
        merged.maxBucketNumber = maxBucketNumber ?? defaults.maxBucketNumber
        merged.minResetDurationMs = minResetDurationMs ?? defaults.minResetDurationMs
        return merged
    }

    /// The settings these keys make, Tempo's defaults where unset.
    var settings: NativeHistogramSettings {
        var settings = NativeHistogramSettings()
        if let mode { settings.mode = mode }
        if let bucketFactor { settings.bucketFactor = bucketFactor }
        if let maxBucketNumber { settings.maxBucketNumber = maxBucketNumber }
        if let minResetDurationMs { settings.minResetDurationMs = minResetDurationMs }
        return settings
    }
}
