import CZlib

/// zlib's inflate and deflate over byte arrays: gzip files (IDX data sets) and zlib streams (PNG).
public enum Zlib {
    /// The largest output `gunzip` produces unless told otherwise (1 GiB; Fashion-MNIST's largest file
    /// inflates to 47 MB). A stream that inflates past the limit is rejected, not followed.
    public static let defaultLimit = 1 << 30

    /// Inflates gzip data (several concatenated members are allowed, as `gzip -d` allows; a raw zlib
    /// stream is accepted too). Throws for corrupt, truncated or oversized data, naming `path`.
    public static func gunzip(_ bytes: [UInt8], path: String = "<memory>", limit: Int = defaultLimit) throws -> [UInt8] {
        // The gzip trailer's ISIZE (size mod 2^32) is a good first guess for the output size;
        // deflate cannot expand more than 1032:1, which bounds the guess for corrupt trailers.
        var hint = 4 * bytes.count
        if bytes.count >= 18 {
            let n = bytes.count
            hint = Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
        }
        hint = min(max(hint, 1024), 1040 * bytes.count + 1024)
        return try inflate(bytes, windowBits: 15 + 32, path: path, what: "gzip data",
                           initialCapacity: hint, limit: limit, multiMember: true)
    }

    /// Inflates a zlib stream that must produce exactly `count` bytes (PNG image data).
    public static func inflate(_ bytes: [UInt8], exactCount count: Int, path: String = "<memory>",
                               what: String = "zlib data") throws -> [UInt8] {
        let out = try inflate(bytes, windowBits: 15, path: path, what: what,
                              initialCapacity: count, limit: count, multiMember: false)
        guard out.count == count else {
            throw DataError(path: path, reason: "\(what) is truncated: it inflates to \(out.count) bytes, expected \(count)")
        }
        return out
    }

    /// Deflates `bytes` into a zlib stream (`gzip: true` for a gzip member instead).
    public static func deflate(_ bytes: [UInt8], level: Int32 = 6, gzip: Bool = false) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { deflateEnd(stream); stream.deinitialize(count: 1); stream.deallocate() }
        let status = deflateInit2_(stream, level, Z_DEFLATED, gzip ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib deflateInit2 failed with status \(status)")
        precondition(bytes.count <= Int(UInt32.max / 2), "deflate input of \(bytes.count) bytes is too large")
        var out = [UInt8](repeating: 0, count: Int(deflateBound(stream, UInt(bytes.count))) + 64)
        let produced = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.pointee.avail_in = UInt32(input.count)
                stream.pointee.next_out = output.baseAddress
                stream.pointee.avail_out = UInt32(output.count)
                let r = CZlib.deflate(stream, Z_FINISH)
                precondition(r == Z_STREAM_END, "zlib deflate did not finish within deflateBound (status \(r))")
                return output.count - Int(stream.pointee.avail_out)
            }
        }
        out.removeLast(out.count - produced)
        return out
    }

    /// The CRC-32 of `bytes` (as in PNG chunks and gzip trailers), continuing from `crc`.
    public static func crc32(_ bytes: ArraySlice<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        guard !bytes.isEmpty else { return crc }  // zlib returns 0 for a null buffer
        return bytes.withUnsafeBufferPointer { b in
            UInt32(truncatingIfNeeded: CZlib.crc32(UInt(crc), b.baseAddress, UInt32(b.count)))
        }
    }

    /// The inflate loop: grows the output by doubling up to `limit`, stops with an error on corrupt or
    /// truncated input. zlib always makes progress or reports why not, so this cannot spin.
    static func inflate(_ bytes: [UInt8], windowBits: Int32, path: String, what: String,
                        initialCapacity: Int, limit: Int, multiMember: Bool) throws -> [UInt8] {
        func fail(_ reason: String) -> DataError { DataError(path: path, reason: "\(what) \(reason)") }
        guard !bytes.isEmpty else { throw fail("is empty") }
        guard bytes.count <= Int(UInt32.max) else { throw fail("is larger than 4 GiB, which this reader does not handle") }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { inflateEnd(stream); stream.deinitialize(count: 1); stream.deallocate() }
        guard inflateInit2_(stream, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("cannot be inflated: zlib failed to initialize")
        }
        var output = [UInt8](repeating: 0, count: max(1, min(initialCapacity, limit)))
        var produced = 0
        try bytes.withUnsafeBufferPointer { input in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.pointee.avail_in = UInt32(input.count)
            loop: while true {
                if produced == output.count {
                    // Growing to one byte past the limit tells "exactly the limit" from "more".
                    guard produced <= limit else { throw fail("inflates to more than \(limit) bytes") }
                    let grown = min(max(2 * output.count, 1024), limit + 1)
                    output.append(contentsOf: repeatElement(0, count: grown - output.count))
                }
                let consumedBefore = stream.pointee.avail_in, producedBefore = produced
                let status = output.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.pointee.next_out = out.baseAddress! + produced
                    stream.pointee.avail_out = UInt32(clamping: out.count - produced)
                    let before = Int(stream.pointee.avail_out)
                    let r = CZlib.inflate(stream, Z_NO_FLUSH)
                    produced += before - Int(stream.pointee.avail_out)
                    return r
                }
                switch status {
                case Z_STREAM_END:
                    let rest = Int(stream.pointee.avail_in)
                    if rest == 0 { break loop }
                    let at = input.count - rest
                    if multiMember && rest >= 2 && input[at] == 0x1f && input[at + 1] == 0x8b {
                        guard inflateReset(stream) == Z_OK else { throw fail("cannot be inflated: zlib reset failed") }
                        continue loop
                    }
                    throw fail("has \(rest) unexpected bytes after the end of the compressed stream")
                case Z_OK, Z_BUF_ERROR:
                    if stream.pointee.avail_in == 0 && produced < output.count {
                        throw fail("is truncated: the compressed stream ends early (after \(produced) inflated bytes)")
                    }
                    // zlib reports Z_BUF_ERROR when it cannot move; never call it twice in that state.
                    if stream.pointee.avail_in == consumedBefore && produced == producedBefore {
                        throw fail("is corrupt: inflate makes no progress")
                    }
                case Z_NEED_DICT:
                    throw fail("is corrupt: the stream asks for a preset dictionary")
                case Z_MEM_ERROR:
                    throw fail("cannot be inflated: out of memory")
                default:
                    let message = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
                    throw fail("is corrupt: \(message)")
                }
            }
        }
        guard produced <= limit else { throw fail("inflates to more than \(limit) bytes") }
        output.removeLast(output.count - produced)
        return output
    }
}
