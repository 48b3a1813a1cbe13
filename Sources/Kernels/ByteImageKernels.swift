/// The image codecs' per-pixel byte loops (Data's PNG decoding, channel conversion and PIL's bilinear resize), over
/// byte arrays, never tensor storage. They run on raw pointers because bounds-checked arrays stop them from
/// vectorizing (15-50% slower, BENCHMARKS.md, "The image codecs on safe arrays"); Data reaches them through
/// Tensors' `ImageBytes`. Pixels are 8-bit samples, row-major, channels interleaved.
public enum ByteImageKernels {
    /// PNG's per-row filters undone: `raw` holds `height` rows of a filter-type byte and `rowBytes` bytes. The
    /// result has a leading zero row (the "row above" the first), so row `y` starts at `(y + 1) * rowBytes`; `bad`
    /// names the first row whose filter type is not 0 to 4 (the rows after it are left zero).
    public static func unfilterPNG(_ raw: [UInt8], height: Int, rowBytes n: Int, filterStride bpp: Int)
        -> (rows: [UInt8], bad: (row: Int, filter: UInt8)?) {
        precondition(raw.count >= height * (n + 1), "PNG rows: \(raw.count) bytes for \(height) rows of \(n + 1)")
        var out = [UInt8](repeating: 0, count: (height + 1) * n)
        var bad: (row: Int, filter: UInt8)?
        raw.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let line = src.baseAddress! + y &* (n &+ 1)
                    let filter = line[0], x = line + 1
                    let row = dst.baseAddress! + (y &+ 1) &* n, up = row - n
                    switch filter {
                    case 0: row.update(from: x, count: n)
                    case 1: for i in 0..<n { row[i] = x[i] &+ (i >= bpp ? row[i &- bpp] : 0) }
                    case 2: for i in 0..<n { row[i] = x[i] &+ up[i] }
                    case 3:
                        for i in 0..<n {
                            let a = i >= bpp ? UInt16(row[i &- bpp]) : 0
                            row[i] = x[i] &+ UInt8(truncatingIfNeeded: (a &+ UInt16(up[i])) >> 1)
                        }
                    case 4:
                        for i in 0..<n {
                            let a = i >= bpp ? row[i &- bpp] : 0, c = i >= bpp ? up[i &- bpp] : 0
                            row[i] = x[i] &+ paeth(a, up[i], c)
                        }
                    default:
                        bad = (y, filter)
                        return
                    }
                }
            }
        }
        return (out, bad)
    }

    /// The Paeth predictor of PNG's filter type 4: whichever of left `a`, up `b`, upper-left `c` is nearest
    /// `a + b - c`, ties in that order.
    @inline(__always)
    public static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let pa = abs(Int(b) &- Int(c)), pb = abs(Int(a) &- Int(c)), pc = abs(Int(a) &+ Int(b) &- 2 &* Int(c))
        return pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
    }

    /// 8-bit samples from unfiltered PNG rows (as `unfilterPNG` returns them) of `width x height` values of
    /// `bitDepth` bits: gray values scaled to 0...255 when `palette` is empty, else palette indices looked up into
    /// `channels` (3, or 4 with the `alpha` values, 255 past them). `badIndex` is the first index past the palette.
    public static func expandPNG(_ rows: [UInt8], width: Int, height: Int, rowBytes n: Int, bitDepth depth: Int,
                                 palette: [UInt8], alpha: [UInt8], channels: Int) -> (pixels: [UInt8], badIndex: Int?) {
        precondition(rows.count >= (height + 1) * n && n * 8 >= width * depth, "PNG rows: \(rows.count) bytes for \(height) rows of \(n)")
        var out = [UInt8](repeating: 0, count: width * height * channels)
        let gray = palette.isEmpty, entries = palette.count / 3, mask = (1 << depth) - 1, scale = 255 / mask
        var badIndex: Int?
        rows.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                var o = 0
                for y in 0..<height {
                    let row = src.baseAddress! + (y &+ 1) &* n
                    for x in 0..<width {
                        let bit = x &* depth
                        let v = depth == 8 ? Int(row[x]) : Int(row[bit >> 3]) >> (8 &- depth &- (bit & 7)) & mask
                        if gray {
                            dst[o] = UInt8(truncatingIfNeeded: v &* scale); o &+= 1
                        } else {
                            guard v < entries else { badIndex = v; return }
                            dst[o] = palette[3 &* v]; dst[o &+ 1] = palette[3 &* v &+ 1]; dst[o &+ 2] = palette[3 &* v &+ 2]
                            if channels == 4 { dst[o &+ 3] = v < alpha.count ? alpha[v] : 255 }
                            o &+= channels
                        }
                    }
                }
            }
        }
        return (out, badIndex)
    }

    /// `count` pixels of `channels` samples converted to `target` (1 or 3) channels as PIL's `convert("L")` and
    /// `convert("RGB")` do: alpha dropped, gray replicated, RGB to gray by `(19595 R + 38470 G + 7471 B + 32768) >> 16`.
    public static func convertChannels(_ pixels: [UInt8], count n: Int, from c: Int, to target: Int) -> [UInt8] {
        precondition(pixels.count >= n * c && (1...4).contains(c) && (target == 1 || target == 3), "channel conversion \(c) -> \(target)")
        var out = [UInt8](repeating: 0, count: n * target)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let p = src.baseAddress! + i &* c
                    if c >= 3 {  // RGB or RGBA
                        if target == 1 {
                            let luma = (19595 &* Int(p[0]) &+ 38470 &* Int(p[1]) &+ 7471 &* Int(p[2]) &+ 0x8000) >> 16
                            dst[i] = UInt8(truncatingIfNeeded: luma)
                        } else {
                            dst[3 &* i] = p[0]; dst[3 &* i &+ 1] = p[1]; dst[3 &* i &+ 2] = p[2]
                        }
                    } else {  // gray or gray + alpha
                        for k in 0..<target { dst[target &* i &+ k] = p[0] }
                    }
                }
            }
        }
        return out
    }

    /// The fractional bits of resampling coefficients: PIL's 32 - 8 - 2, so that sums of 8-bit samples fit an Int32.
    /// A constant, so that rounding and clipping compile to constant shifts.
    public static let precisionBits: Int32 = 22
    static let half: Int32 = 1 << (precisionBits - 1)

    /// PIL's `clip8`: the rounded fixed-point sum as a byte.
    @inline(__always) static func clip(_ sum: Int32) -> UInt8 {
        sum <= 0 ? 0 : sum >= 256 << precisionBits ? 255 : UInt8(truncatingIfNeeded: sum >> precisionBits)
    }

    /// Fixed-point filter taps along one axis (PIL's resampling): output index `o` sums the inputs
    /// `bounds[o].first ..< first + count` weighted by `coefficients[o * taps ..< o * taps + count]`, with
    /// `precisionBits` fractional bits, rounded and clipped to a byte.
    public struct Taps: Sendable {
        public var bounds: [(first: Int, count: Int)]
        public var coefficients: [Int32]
        public var taps: Int

        public init(bounds: [(first: Int, count: Int)], coefficients: [Int32], taps: Int) {
            precondition(coefficients.count == bounds.count * taps && bounds.allSatisfy { $0.count <= taps },
                         "\(coefficients.count) coefficients for \(bounds.count) outputs of \(taps) taps")
            (self.bounds, self.coefficients, self.taps) = (bounds, coefficients, taps)
        }
    }

    /// Resamples each of `height` rows of `width` pixels of `channels` samples to `taps.bounds.count` pixels.
    public static func resampleRows(_ pixels: [UInt8], height: Int, width: Int, channels c: Int, _ taps: Taps) -> [UInt8] {
        let newWidth = taps.bounds.count
        precondition(pixels.count >= height * width * c && taps.bounds.allSatisfy { $0.first >= 0 && $0.first + $0.count <= width },
                     "resampling \(height) rows of \(width) pixels")
        var out = [UInt8](repeating: 0, count: height * newWidth * c)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                taps.coefficients.withUnsafeBufferPointer { coefficients in
                    for y in 0..<height {
                        let row = src.baseAddress! + y &* width &* c, outRow = dst.baseAddress! + y &* newWidth &* c
                        for o in 0..<newWidth {
                            let (first, count) = taps.bounds[o], w = coefficients.baseAddress! + o &* taps.taps
                            for k in 0..<c {
                                var sum = half
                                for t in 0..<count { sum &+= Int32(row[(first &+ t) &* c &+ k]) &* w[t] }
                                outRow[o &* c &+ k] = clip(sum)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Resamples rows of `rowLength` samples (whole rows at a time: contiguous, vectorizable) to
    /// `taps.bounds.count` rows.
    public static func resampleColumns(_ pixels: [UInt8], rowLength: Int, _ taps: Taps) -> [UInt8] {
        let newHeight = taps.bounds.count
        precondition(taps.bounds.allSatisfy { $0.first >= 0 && ($0.first + $0.count) * rowLength <= pixels.count },
                     "resampling rows of \(rowLength) samples")
        var out = [UInt8](repeating: 0, count: newHeight * rowLength)
        var sums = [Int32](repeating: 0, count: rowLength)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                sums.withUnsafeMutableBufferPointer { acc in
                    taps.coefficients.withUnsafeBufferPointer { coefficients in
                        for o in 0..<newHeight {
                            let (first, count) = taps.bounds[o], w = coefficients.baseAddress! + o &* taps.taps
                            acc.update(repeating: half)
                            for t in 0..<count {
                                let row = src.baseAddress! + (first &+ t) &* rowLength, weight = w[t]
                                for i in 0..<rowLength { acc[i] &+= Int32(row[i]) &* weight }
                            }
                            let outRow = dst.baseAddress! + o &* rowLength
                            for i in 0..<rowLength { outRow[i] = clip(acc[i]) }
                        }
                    }
                }
            }
        }
        return out
    }
}
