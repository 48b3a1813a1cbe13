import Foundation

/// PNG files: a reader for the common 8-bit (and low-bit gray/palette) non-interlaced images, and a
/// writer for 8-bit gray, gray + alpha, RGB and RGBA.
public enum PNG {
    /// The 8 bytes every PNG file starts with.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Images whose decoded data would exceed this many bytes are rejected (a 16384 x 16384 RGBA image).
    public static let maxImageBytes = 1 << 30

    /// Reads and decodes the PNG file at `url`; errors name the file.
    public static func read(_ url: URL) throws -> PNGImage {
        try decode(readFile(url), path: url.path)
    }

    /// The PNG file bytes of `image`: 8 bits per sample, each row filtered with the filter that
    /// minimizes the sum of absolute filtered bytes (libpng's heuristic), zlib-compressed at `level`.
    public static func encode(_ image: PNGImage, level: Int32 = 6) -> [UInt8] {
        let colorType: UInt8 = [0, 4, 2, 6][image.channels - 1]
        var ihdr = be32(image.width) + be32(image.height)
        ihdr += [8, colorType, 0, 0, 0]  // bit depth, color type, compression, filter, interlace
        let filtered = filterRows(image.pixels, rowBytes: image.width * image.channels, height: image.height,
                                  bpp: image.channels)
        var out = signature
        out += chunk("IHDR", ihdr)
        out += chunk("IDAT", Zlib.deflate(filtered, level: level))
        out += chunk("IEND", [])
        return out
    }

    /// One chunk: length, type, data, CRC of type and data.
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(data.count) + body + be32(Int(Zlib.crc32(body[...])))
    }

    static func be32(_ n: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: n >> $0) } }

    /// Prefixes each row with the filter type (0 none, 1 sub, 2 up, 3 average, 4 Paeth) that gives
    /// the smallest sum of filtered bytes read as signed values.
    static func filterRows(_ pixels: [UInt8], rowBytes: Int, height: Int, bpp: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: height * (rowBytes + 1))
        var candidate = [UInt8](repeating: 0, count: 5 * rowBytes)
        let zeros = [UInt8](repeating: 0, count: rowBytes)
        for y in 0..<height {
            var best = 0, bestCost = Int.max
            for f in 0..<5 {
                var cost = 0
                for i in 0..<rowBytes {
                    let x = pixels[y * rowBytes + i]
                    let a = i >= bpp ? pixels[y * rowBytes + i - bpp] : 0
                    let b = y > 0 ? pixels[(y - 1) * rowBytes + i] : zeros[i]
                    let c = i >= bpp && y > 0 ? pixels[(y - 1) * rowBytes + i - bpp] : 0
                    let v = x &- predictor(UInt8(f), a, b, c)
                    candidate[f * rowBytes + i] = v
                    cost += v < 128 ? Int(v) : 256 - Int(v)
                }
                if cost < bestCost { (best, bestCost) = (f, cost) }
            }
            out[y * (rowBytes + 1)] = UInt8(best)
            for i in 0..<rowBytes { out[y * (rowBytes + 1) + 1 + i] = candidate[best * rowBytes + i] }
        }
        return out
    }

    /// The PNG filter predictor of a byte from its left (`a`), upper (`b`) and upper-left (`c`) neighbours.
    @inline(__always)
    static func predictor(_ filter: UInt8, _ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        switch filter {
        case 1: return a
        case 2: return b
        case 3: return UInt8(truncatingIfNeeded: (Int(a) + Int(b)) >> 1)
        case 4:
            let pa = abs(Int(b) - Int(c)), pb = abs(Int(a) - Int(c)), pc = abs(Int(a) + Int(b) - 2 * Int(c))
            return pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
        default: return 0
        }
    }
}
