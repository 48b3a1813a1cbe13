import Foundation

/// An array of unsigned bytes with a shape, as stored in an IDX file (MNIST, Fashion-MNIST).
public struct IDXArray: Sendable, Equatable {
    /// The dimensions, outermost first (`[N, H, W]` for images, `[N]` for labels).
    public var shape: [Int]
    /// The elements in row-major order; `shape.reduce(1, *)` of them.
    public var bytes: [UInt8]

    /// An array of `bytes` in `shape` (the counts must agree).
    public init(shape: [Int], bytes: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == bytes.count,
                     "IDX shape \(shape) does not hold \(bytes.count) bytes")
        self.shape = shape
        self.bytes = bytes
    }
}

/// The IDX format (LeCun's MNIST files): two zero bytes, an element-type code, the number of
/// dimensions, each dimension as a big-endian 32-bit count, then the elements.
public enum IDX {
    /// Parses an uncompressed IDX file. Only unsigned bytes (type 0x08) are supported, which is what
    /// the MNIST family uses. Throws, naming `path`, for a bad magic number, type, dimensions or size.
    public static func parse(_ bytes: [UInt8], path: String = "<memory>") throws -> IDXArray {
        func fail(_ reason: String) -> DataError { DataError(path: path, reason: "IDX file \(reason)") }
        guard bytes.count >= 4 else { throw fail("is truncated: \(bytes.count) bytes, shorter than the 4-byte magic number") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            let hint = bytes[0] == 0x1f && bytes[1] == 0x8b ? " (it is gzip-compressed; read it with IDX.read)" : ""
            throw fail("has a bad magic number \(hex(bytes[0..<4])): it must start with two zero bytes\(hint)")
        }
        guard bytes[2] == 0x08 else {
            let names: [UInt8: String] = [0x09: "int8", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"]
            throw fail("has element type 0x\(hex(bytes[2..<3]))\(names[bytes[2]].map { " (\($0))" } ?? ""); only unsigned bytes (0x08) are supported")
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else { throw fail("has 0 dimensions in its magic number; expected at least 1") }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw fail("is truncated: \(bytes.count) bytes, shorter than the \(headerSize)-byte header of \(rank) dimensions")
        }
        var shape: [Int] = [], total = 1, overflow = false
        for d in 0..<rank {
            let o = 4 + 4 * d
            let n = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            shape.append(n)
            let (p, o2) = total.multipliedReportingOverflow(by: n)
            total = p
            overflow = overflow || o2
        }
        let available = bytes.count - headerSize
        guard !overflow, total == available else {
            let need = overflow ? "more than \(Int.max)" : "\(total)"
            let what = overflow || total > available ? "is truncated" : "has the wrong size"
            throw fail("\(what): dimensions \(shape) need \(need) bytes of data but the file holds \(available)")
        }
        return IDXArray(shape: shape, bytes: Array(bytes[headerSize...]))
    }

    /// Reads an IDX file, inflating it first when it is gzip-compressed (as Debian ships them).
    public static func read(_ url: URL, limit: Int = Zlib.defaultLimit) throws -> IDXArray {
        let raw = try readFile(url)
        let bytes = raw.count >= 2 && raw[0] == 0x1f && raw[1] == 0x8b
            ? try Zlib.gunzip(raw, path: url.path, limit: limit) : raw
        return try parse(bytes, path: url.path)
    }

    /// The file bytes of `array` in IDX format (unsigned bytes), e.g. to write test data.
    public static func serialize(_ array: IDXArray) -> [UInt8] {
        precondition((1...255).contains(array.shape.count) && array.shape.allSatisfy { $0 <= Int(UInt32.max) },
                     "IDX stores 1 to 255 dimensions of at most 2^32-1, got \(array.shape)")
        var out: [UInt8] = [0, 0, 0x08, UInt8(array.shape.count)]
        for n in array.shape { out += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: n >> $0) } }
        return out + array.bytes
    }
}

/// Space-separated hex of a few bytes, for error messages.
func hex(_ bytes: ArraySlice<UInt8>) -> String {
    bytes.map { b in (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true) }.joined(separator: " ")
}

/// The bytes of a file, or an error naming it that says why it cannot be read.
func readFile(_ url: URL) throws -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw DataError(path: url.path, reason: "no such file")
    }
    guard !isDirectory.boolValue else { throw DataError(path: url.path, reason: "is a directory, not a file") }
    do { return [UInt8](try Data(contentsOf: url)) } catch {
        throw DataError(path: url.path, reason: "cannot be read (\(error.localizedDescription))")
    }
}
