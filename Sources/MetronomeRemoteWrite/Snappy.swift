import CSnappy

/// Snappy block compression (the format Prometheus remote write requires — not the framed format), through
/// Debian's libsnappy.
///
/// The API is two functions over byte arrays so that a pure-Swift codec could replace the C library without
/// touching callers.
public enum Snappy {
    /// Why bytes could not be decompressed.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case corruptInput
        case tooLarge(Int)

        public var description: String {
            switch self {
            case .corruptInput: "snappy: corrupt input"
            case .tooLarge(let size): "snappy: decompressed size \(size) exceeds the limit"
            }
        }
    }

    /// Compresses `input` into a snappy block.
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        let bound = snappy_max_compressed_length(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        var length = bound
        let status = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in
                snappy_compress(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self),
                    source.count,
                    destination.baseAddress!.assumingMemoryBound(to: CChar.self),
                    &length
                )
            }
        }
        // snappy_compress fails only when the output buffer is too small, and it is sized by the library's bound.
        precondition(status == SNAPPY_OK, "snappy_compress failed with an output of its own maximum length")
        output.removeLast(bound - length)
        return output
    }

    /// Decompresses a snappy block.
    /// - Parameter maxSize: the largest decompressed size accepted.
    /// - Throws: ``Error`` for corrupt input or an announced size above `maxSize`.
    public static func uncompress(_ input: [UInt8], maxSize: Int = 64 << 20) throws(Error) -> [UInt8] {
        var length = 0
        let sizeStatus = input.withUnsafeBytes { source in
            snappy_uncompressed_length(source.baseAddress?.assumingMemoryBound(to: CChar.self), source.count, &length)
        }
        guard sizeStatus == SNAPPY_OK else { throw .corruptInput }
        guard length <= maxSize else { throw .tooLarge(length) }
        var output = [UInt8](repeating: 0, count: length)
        let status = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in
                snappy_uncompress(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self),
                    source.count,
                    destination.baseAddress?.assumingMemoryBound(to: CChar.self),
                    &length
                )
            }
        }
        guard status == SNAPPY_OK else { throw .corruptInput }
        return output
    }
}
