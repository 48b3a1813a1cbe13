import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Every file the toolkit writes goes through here: the bytes go to a hidden temporary file beside the target
/// (`.NAME.tmp`), are flushed to disk, and the temporary file is then renamed over the target. A reader, or a
/// run killed at any moment, sees the old file or the complete new one, never a part. A temporary file left by
/// a killed run is overwritten by the next write of the same file.
public enum AtomicFile {
    /// Writes `bytes` to `url` atomically; errors name the file and say why.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".tmp").path
        func fail(_ what: String, _ code: Int32) -> AtomicFileError {
            AtomicFileError(path: url.path, reason: "\(what) (\(String(cString: strerror(code))))")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("cannot be created", errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let code = errno
                close(fd)
                unlink(temporary)
                throw fail("cannot be written", code)
            }
            written += n
        }
        let synced = fsync(fd) == 0 ? 0 : errno, closed = close(fd) == 0 ? 0 : errno
        guard synced == 0, closed == 0 else {
            let code = synced != 0 ? synced : closed
            unlink(temporary)
            throw fail("cannot be flushed to disk", code)
        }
        guard rename(temporary, url.path) == 0 else {
            let code = errno
            unlink(temporary)
            throw fail("cannot be put in place", code)
        }
    }

    /// Writes `text` as UTF-8 to `url` atomically.
    public static func write(_ text: String, to url: URL) throws { try write(Array(text.utf8), to: url) }
}

/// A file that cannot be written; the message names it.
public struct AtomicFileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "'\(path)' \(reason)" }
}
