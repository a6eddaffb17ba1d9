import Foundation

/// A failed file operation on the WAL, with the path and the system's reason.
public struct WALError: Error, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var code: Int32

    init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String {
        "\(operation) \(path): \(String(cString: strerror(code)))"
    }
}

/// The POSIX calls the WAL makes: whole-file reads for recovery, positioned writes with `fdatasync`, positioned reads
/// for delivery, truncation of a damaged tail.
enum WALFile {
    /// The whole file.
    static func readAll(_ path: String) throws(WALError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WALError("open", path) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw WALError("stat", path) }
        return try read(fd: fd, path: path, offset: 0, count: Int(status.st_size))
    }

    /// `count` bytes at `offset`.
    static func read(_ path: String, offset: Int, count: Int) throws(WALError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WALError("open", path) }
        defer { close(fd) }
        return try read(fd: fd, path: path, offset: offset, count: count)
    }

    private static func read(fd: Int32, path: String, offset: Int, count: Int) throws(WALError) -> [UInt8] {
        var done = 0
        var failure: WALError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while done < count {
                let got = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else {
                    failure = got == 0 ? WALError("read past the end of", path, code: EIO) : WALError("read", path)
                    break
                }
                done += got
            }
            initialized = done
        }
        if let failure { throw failure }
        return bytes
    }

    /// Cuts the file to `size` bytes and makes that durable.
    static func truncate(_ path: String, to size: Int) throws(WALError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WALError("open", path) }
        defer { close(fd) }
        guard ftruncate(fd, off_t(size)) == 0 else { throw WALError("truncate", path) }
        guard fdatasync(fd) == 0 else { throw WALError("sync", path) }
    }

    /// Opens (creating) a segment file for writing, at positions the caller gives: a reused file may hold more than
    /// what is written to it.
    static func openForWriting(_ path: String) throws(WALError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WALError("create", path) }
        return fd
    }

    /// Writes every byte at `offset` of `fd`, then `fdatasync`s when `sync`; on failure cuts the file back to `offset`
    /// so no half record stays behind.
    static func write(_ bytes: [UInt8], fd: Int32, at offset: Int, path: String, sync: Bool) throws(WALError) {
        var written = 0
        var failure: WALError?
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let result = pwrite(fd, buffer.baseAddress! + written, buffer.count - written, off_t(offset + written))
                if result < 0 && errno == EINTR { continue }
                guard result > 0 else {
                    failure = WALError("write", path)
                    return
                }
                written += result
            }
        }
        if failure == nil && sync && fdatasync(fd) != 0 { failure = WALError("sync", path) }
        if let failure {
            _ = ftruncate(fd, off_t(offset))
            throw failure
        }
    }

    /// Makes a directory's entries (created, renamed, removed files) durable.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
