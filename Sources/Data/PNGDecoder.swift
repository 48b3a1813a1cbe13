import Tensors

extension PNG {
    /// The facts of an IHDR chunk.
    struct Header {
        var width: Int, height: Int, bitDepth: Int, colorType: Int
        /// Samples per pixel in the file (a palette index counts as one).
        var samples: Int { [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType]! }
        /// Bytes per filtered row, without the filter-type byte.
        var rowBytes: Int { (width * samples * bitDepth + 7) / 8 }
        /// The filter's byte distance to the "left" pixel (at least 1).
        var filterStride: Int { max(1, samples * bitDepth / 8) }
    }

    /// Decodes PNG bytes into an 8-bit image: gray (1, 2, 4, 8 bits), gray + alpha, RGB, RGBA and
    /// palette images (1, 2, 4, 8 bits; RGB, or RGBA when a tRNS chunk gives alpha), non-interlaced.
    /// Checks every chunk's CRC. Throws, naming `path`, for anything else or for damaged data.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws -> PNGImage {
        func fail(_ reason: String) -> DataError { DataError(path: path, reason: "PNG file \(reason)") }
        guard bytes.count >= 8, bytes[0..<8].elementsEqual(signature) else {
            let jpeg = bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8
            throw fail(jpeg ? "is a JPEG, not a PNG (only PNG is supported)" : "is not a PNG: the 8-byte PNG signature is missing")
        }
        var header: Header?
        var palette: [UInt8] = [], alpha: [UInt8] = [], data: [UInt8] = []
        var offset = 8, sawEnd = false
        while offset < bytes.count && !sawEnd {
            guard bytes.count - offset >= 12 else {
                throw fail("is truncated: the chunk at byte \(offset) is cut short (\(bytes.count - offset) bytes left)")
            }
            let length = readBE32(bytes, offset)
            let typeBytes = bytes[(offset + 4)..<(offset + 8)]
            guard typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else {
                throw fail("is corrupt: the chunk at byte \(offset) has an invalid type (\(hex(typeBytes)))")
            }
            let name = String(decoding: typeBytes, as: UTF8.self)
            guard length <= 0x7fff_ffff, length <= bytes.count - offset - 12 else {
                throw fail("is truncated: chunk \(name) at byte \(offset) declares \(length) bytes but \(bytes.count - offset - 12) remain")
            }
            let end = offset + 8 + length
            let stored = UInt32(readBE32(bytes, end)), computed = Zlib.crc32(bytes[(offset + 4)..<end])
            guard stored == computed else {
                throw fail("is corrupt: chunk \(name) at byte \(offset) has a bad CRC (stored \(stored), computed \(computed))")
            }
            let body = bytes[(offset + 8)..<end]
            if header == nil && name != "IHDR" { throw fail("is corrupt: the first chunk is \(name), not IHDR") }
            switch name {
            case "IHDR":
                guard header == nil else { throw fail("is corrupt: it has a second IHDR chunk") }
                header = try parseHeader(body, fail)
            case "PLTE":
                guard body.count % 3 == 0, (3...768).contains(body.count) else {
                    throw fail("is corrupt: its PLTE chunk has \(body.count) bytes, not 1 to 256 RGB entries")
                }
                guard data.isEmpty else { throw fail("is corrupt: its PLTE chunk comes after image data") }
                palette = Array(body)
            case "tRNS" where header?.colorType == 3:
                guard body.count <= palette.count / 3 else {
                    throw fail("is corrupt: its tRNS chunk has \(body.count) alpha values for \(palette.count / 3) palette entries")
                }
                alpha = Array(body)
            case "IDAT":
                data += body
            case "IEND":
                sawEnd = true
            default:
                // Ancillary chunks (lowercase first letter) carry optional information and are skipped.
                guard typeBytes.first! & 0x20 != 0 else { throw fail("has an unsupported critical chunk \(name)") }
            }
            offset = end + 4
        }
        guard let header else { throw fail("is truncated: it has no IHDR chunk") }
        guard sawEnd else { throw fail("is truncated: it ends before its IEND chunk") }
        guard !data.isEmpty else { throw fail("is corrupt: it has no image data (IDAT chunk)") }
        if header.colorType == 3 && palette.isEmpty { throw fail("is corrupt: a palette image without a PLTE chunk") }

        let channels = header.colorType == 3 ? (alpha.isEmpty ? 3 : 4) : header.samples
        let (rows, o1) = header.height.multipliedReportingOverflow(by: header.rowBytes + 1)
        let (pixelCount, o2) = header.width.multipliedReportingOverflow(by: header.height)
        let (outCount, o3) = pixelCount.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, !o3, rows <= maxImageBytes + header.height, outCount <= maxImageBytes else {
            throw fail("is too large: \(header.width)x\(header.height) exceeds the \(maxImageBytes)-byte limit")
        }
        guard rows <= 1100 * data.count + 1024 else {  // deflate cannot expand more than 1032:1
            throw fail("is truncated: \(data.count) bytes of compressed data cannot hold a \(header.width)x\(header.height) image")
        }
        let raw = try Zlib.inflate(data, exactCount: rows, path: path, what: "PNG file's image data")
        let plain = try unfilter(raw, header, fail)
        return try expand(plain, header, palette: palette, alpha: alpha, channels: channels, fail)
    }

    static func readBE32(_ b: [UInt8], _ o: Int) -> Int {
        Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3])
    }

    static func parseHeader(_ body: ArraySlice<UInt8>, _ fail: (String) -> DataError) throws -> Header {
        guard body.count == 13 else { throw fail("is corrupt: its IHDR chunk has \(body.count) bytes, not 13") }
        let b = Array(body)
        let width = readBE32(b, 0), height = readBE32(b, 4)
        let depth = Int(b[8]), color = Int(b[9])
        guard (1...0x7fff_ffff).contains(width), (1...0x7fff_ffff).contains(height) else {
            throw fail("is corrupt: its size \(width)x\(height) is not between 1 and 2^31-1")
        }
        let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
        guard let depths = allowed[color] else { throw fail("is corrupt: color type \(color) does not exist") }
        guard depths.contains(depth) else { throw fail("is corrupt: bit depth \(depth) is invalid for color type \(color)") }
        guard depth != 16 else {
            throw fail("has 16 bits per sample, which is not supported: save it with 8 bits per sample")
        }
        guard b[10] == 0, b[11] == 0 else { throw fail("is corrupt: unknown compression or filter method") }
        guard b[12] == 0 else {
            throw fail(b[12] == 1 ? "is interlaced (Adam7), which is not supported: save it without interlacing"
                                  : "is corrupt: unknown interlace method \(b[12])")
        }
        return Header(width: width, height: height, bitDepth: depth, colorType: color)
    }

    /// Undoes the per-row filters. The result has a leading zero row (the "row above" the first),
    /// so row `y` starts at `(y + 1) * rowBytes`.
    static func unfilter(_ raw: [UInt8], _ h: Header, _ fail: (String) -> DataError) throws -> [UInt8] {
        let (rows, bad) = ImageBytes.unfilterPNG(raw, height: h.height, rowBytes: h.rowBytes, filterStride: h.filterStride)
        if let bad { throw fail("is corrupt: row \(bad.row) has filter type \(bad.filter) (valid: 0 to 4)") }
        return rows
    }

    /// Turns unfiltered rows into 8-bit samples: unpacks low bit depths, scales gray to 0...255 and
    /// looks palette indices up.
    static func expand(_ rows: [UInt8], _ h: Header, palette: [UInt8], alpha: [UInt8], channels: Int,
                       _ fail: (String) -> DataError) throws -> PNGImage {
        if h.colorType != 3 && h.bitDepth == 8 {
            return PNGImage(width: h.width, height: h.height, channels: channels, pixels: Array(rows[h.rowBytes...]))
        }
        let (pixels, badIndex) = ImageBytes.expandPNG(rows, width: h.width, height: h.height, rowBytes: h.rowBytes, bitDepth: h.bitDepth,
                                                      palette: h.colorType == 3 ? palette : [], alpha: alpha, channels: channels)
        if let badIndex { throw fail("is corrupt: palette index \(badIndex) is out of range (the palette has \(palette.count / 3) entries)") }
        return PNGImage(width: h.width, height: h.height, channels: channels, pixels: pixels)
    }
}
