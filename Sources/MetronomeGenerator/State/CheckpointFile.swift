import Foundation

/// Reads and writes a tenant's checkpoint file atomically: write a temporary file, fsync it, rename it over the old
/// one, so a crash leaves either the old or the new checkpoint, never a half-written one.
public struct CheckpointFile: Sendable {
    /// The tenant's directory under the data path; the tenant id is percent-encoded first.
    public let directory: URL
    public var url: URL { directory.appendingPathComponent("checkpoint") }
    /// The directory of the tenant's remote-write WAL, beside the checkpoint.
    public var walDirectory: URL { directory.appendingPathComponent("wal") }

    public init(dataPath: String, tenant: TenantID) {
        directory = URL(fileURLWithPath: dataPath).appendingPathComponent(tenant.directoryName)
    }

    /// Writes `generator`'s checkpoint, part by part as it is encoded, replacing the previous one.
    public func write(_ generator: Generator) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent("checkpoint.tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        let handle = try FileHandle(forWritingTo: temporary)
        do {
            try generator.encodeCheckpoint { try handle.write(contentsOf: $0) }
            try handle.synchronize()
        } catch {
            try? handle.close()
            throw error
        }
        try handle.close()
        if rename(temporary.path, url.path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
    }

    /// The checkpoint on disk, nil when there is none.
    /// - Throws: ``Checkpoint/Error`` for a torn or corrupted file.
    public func read() throws -> Checkpoint? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return try Checkpoint(decoding: Array(data))
    }

    /// The tenants that have a directory under `dataPath`.
    public static func tenants(in dataPath: String) -> [TenantID] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dataPath)) ?? []
        return names.compactMap { TenantID(directoryName: $0) }.sorted { $0.value < $1.value }
    }
}

extension TenantID {
    /// The id as a directory name: `%XX` for every byte other than letters, digits, `-` and `_`, so `.`, `*`, `'`,
    /// `(` and `)` never reach the filesystem as themselves.
    public var directoryName: String {
        var name = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                name.append(Character(Unicode.Scalar(byte)))
            default:
                name += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return name
    }

    /// Decodes ``directoryName``; nil for names that are not an encoded valid tenant id.
    public init?(directoryName: String) {
        var bytes: [UInt8] = []
        var characters = Array(directoryName.utf8)[...]
        while let byte = characters.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard characters.count >= 2,
                    let value = UInt8(String(decoding: characters.prefix(2), as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
                characters = characters.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        guard let tenant = try? TenantID(validating: String(decoding: bytes, as: UTF8.self)),
            tenant.directoryName == directoryName
        else { return nil }
        self = tenant
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}
