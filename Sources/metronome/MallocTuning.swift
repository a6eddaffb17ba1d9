#if canImport(Glibc)
    import CMalloc
    import Foundation
    import Glibc
#endif

/// glibc malloc settings for a server that allocates and frees request-sized buffers (hundreds of kB) all the time.
///
/// By default glibc gives the free top of a heap back to the kernel once it exceeds twice the largest buffer freed so
/// far, so a request buffer freed at the top of a heap was given back and its pages faulted in again by the next
/// request (11% of the CPU samples under 262 kB gRPC requests; see the README's "Performance"). Fixed thresholds keep
/// up to 8 MiB free at the top of each heap and take buffers of up to 4 MiB from the heaps rather than from mappings of
/// their own.
///
/// Each heap (arena) keeps its own free memory, and glibc opens up to eight arenas per core as threads meet in malloc:
/// on 2 cores, 171 MiB peak with a million series where at most one arena took 106 MiB, at the same CPU (the hot
/// path makes O(1) allocations per request, so threads seldom meet there). So arenas are capped at one per two cores,
/// the ratio measured. Malloc settings the environment makes (`GLIBC_TUNABLES`, `MALLOC_*`) win.
enum MallocTuning {
    /// `M_TRIM_THRESHOLD`: free memory a heap keeps at its top before returning it.
    static let trimThresholdBytes: Int32 = 8 << 20
    /// `M_MMAP_THRESHOLD`: allocations this large or larger get their own mapping.
    static let mmapThresholdBytes: Int32 = 4 << 20

    /// `M_ARENA_MAX` for a machine of `cores` cores: one arena per two.
    static func arenaLimit(cores: Int) -> Int32 { Int32(clamping: max(1, cores / 2)) }

    /// What was done, for the start-up log line: the settings are applied at the first use, which must come before
    /// other threads start (arenas they open before stay open).
    static let applied = apply()

    /// Applies the settings unless the environment sets malloc's own.
    private static func apply() -> String {
        #if canImport(Glibc)
            let tunables = getenv("GLIBC_TUNABLES").map { String(cString: $0) } ?? ""
            let variables: [String] = ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX"]
            let environment = variables.contains { getenv($0) != nil }
            guard !tunables.contains("glibc.malloc."), !environment else { return "as the environment sets it" }
            let arenas = arenaLimit(cores: ProcessInfo.processInfo.activeProcessorCount)
            guard mallopt(M_TRIM_THRESHOLD, trimThresholdBytes) == 1,
                mallopt(M_MMAP_THRESHOLD, mmapThresholdBytes) == 1,
                mallopt(M_ARENA_MAX, arenas) == 1
            else {
                return "glibc defaults (mallopt refused the settings)"
            }
            return "trim threshold \(trimThresholdBytes >> 20) MiB, mmap threshold \(mmapThresholdBytes >> 20) MiB, "
                + "at most \(arenas) arena\(arenas == 1 ? "" : "s")"
        #else
            return "the platform's defaults"
        #endif
    }
}
