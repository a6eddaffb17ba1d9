#if canImport(Glibc)
    import CMalloc
    import Glibc
#endif

/// glibc malloc settings for a server that allocates and frees request-sized buffers (hundreds of kB) all the time.
///
/// By default glibc gives the free top of a heap back to the kernel once it exceeds twice the largest buffer freed so
/// far, so a request buffer freed at the top of a heap was given back and its pages faulted in again by the next
/// request (11% of the CPU samples under 262 kB gRPC requests; see the README's "Performance"). Fixed thresholds keep
/// up to 8 MiB free at the top of each heap and take buffers of up to 4 MiB from the heaps rather than from mappings of
/// their own. Malloc settings the environment makes (`GLIBC_TUNABLES`, `MALLOC_*_`) win.
enum MallocTuning {
    /// `M_TRIM_THRESHOLD`: free memory a heap keeps at its top before returning it.
    static let trimThresholdBytes: Int32 = 8 << 20
    /// `M_MMAP_THRESHOLD`: allocations this large or larger get their own mapping.
    static let mmapThresholdBytes: Int32 = 4 << 20

    /// Applies the thresholds unless the environment sets malloc's own; what was done, for the start-up log line.
    static func apply() -> String {
        #if canImport(Glibc)
            let tunables = getenv("GLIBC_TUNABLES").map { String(cString: $0) } ?? ""
            let environment = getenv("MALLOC_TRIM_THRESHOLD_") != nil || getenv("MALLOC_MMAP_THRESHOLD_") != nil
            guard !tunables.contains("glibc.malloc."), !environment else { return "as the environment sets it" }
            guard mallopt(M_TRIM_THRESHOLD, trimThresholdBytes) == 1, mallopt(M_MMAP_THRESHOLD, mmapThresholdBytes) == 1
            else {
                return "glibc defaults (mallopt refused the thresholds)"
            }
            return "trim threshold \(trimThresholdBytes >> 20) MiB, mmap threshold \(mmapThresholdBytes >> 20) MiB"
        #else
            return "the platform's defaults"
        #endif
    }
}
