import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Every file the toolkit writes goes through here: the bytes go to a hidden temporary file beside the target
/// (`.NAME.tmp`), are flushed to disk, and the temporary file is then renamed over the target. A reader, or a
/// run killed at any moment, sees the old file or the complete new one, never a part. A temporary file left by
/// a killed run is overwritten by the next write of the same file; two processes writing the same file take turns.
public enum AtomicFile {
    /// Writes `bytes` to `url` atomically; errors name the file and say why.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".tmp").path
        func fail(_ what: String, _ code: Int32) -> AtomicFileError {
            AtomicFileError(path: url.path, reason: "\(what) (\(String(cString: strerror(code))))")
        }
        let fd = try lockedTemporary(temporary) { fail("cannot be created", $0) }
        var written = 0
        while written < bytes.count {
            let rest = written == 0 ? bytes : Array(bytes[written...])  // after a partial write (rare), the rest
            let n = Glibc.write(fd, rest, rest.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let code = errno
                close(fd)
                unlink(temporary)
                throw fail("cannot be written", code)
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let code = errno
            unlink(temporary)
            close(fd)
            throw fail("cannot be flushed to disk", code)
        }
        // Renamed before the lock goes with `close`: the next writer of this file cannot truncate it first.
        guard rename(temporary, url.path) == 0 else {
            let code = errno
            unlink(temporary)
            close(fd)
            throw fail("cannot be put in place", code)
        }
        close(fd)
    }

    /// Opens `path` empty and locked against other writers of the same file (another process writing the same
    /// output waits here, then writes after it); a file left by a killed run holds no lock and is taken over.
    private static func lockedTemporary(_ path: String, _ fail: (Int32) -> AtomicFileError) throws -> Int32 {
        while true {
            let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw fail(errno) }
            while flock(fd, LOCK_EX) != 0 && errno == EINTR {}  // a file system without locks: go on unlocked
            // The writer before us may have renamed the file we locked into place: then lock a fresh one.
            var held = stat(), named = stat()
            if fstat(fd, &held) == 0, stat(path, &named) == 0, held.st_dev == named.st_dev, held.st_ino == named.st_ino {
                guard ftruncate(fd, 0) == 0 else { let code = errno; close(fd); throw fail(code) }
                return fd
            }
            close(fd)
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
