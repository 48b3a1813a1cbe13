extension PNGImage {
    /// The image resized to `height` x `width` as PIL's `Image.resize(size, BILINEAR)` computes it (what
    /// torchvision's `Resize` does to PIL images): a triangle filter widened by the scale when shrinking
    /// (antialiasing), coefficients normalized per output pixel and rounded to 22-bit fixed point, a
    /// horizontal pass to 8 bits, then a vertical pass, each rounding and clipping as PIL's `Resample.c`.
    public func resizedBilinear(height newHeight: Int, width newWidth: Int) -> PNGImage {
        precondition(newHeight > 0 && newWidth > 0, "cannot resize to \(newHeight)x\(newWidth)")
        var image = self
        if newWidth != width {
            let plan = ResamplePlan(from: width, to: newWidth), c = channels
            var out = [UInt8](repeating: 0, count: height * newWidth * c)
            image.pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<height {
                        let row = src.baseAddress! + y &* width &* c, outRow = dst.baseAddress! + y &* newWidth &* c
                        for o in 0..<newWidth {
                            let (first, count) = plan.bounds[o], w = plan.coefficients.baseAddress! + o &* plan.taps
                            for k in 0..<c {
                                var sum = ResamplePlan.half
                                for t in 0..<count { sum &+= Int32(row[(first &+ t) &* c &+ k]) &* w[t] }
                                outRow[o &* c &+ k] = ResamplePlan.clip(sum)
                            }
                        }
                    }
                }
            }
            image = PNGImage(width: newWidth, height: height, channels: c, pixels: out)
        }
        if newHeight != height {
            let plan = ResamplePlan(from: height, to: newHeight), rowLength = newWidth * channels
            var out = [UInt8](repeating: 0, count: newHeight * rowLength)
            var sums = [Int32](repeating: 0, count: rowLength)
            image.pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    sums.withUnsafeMutableBufferPointer { acc in
                        for o in 0..<newHeight {  // whole rows at a time: contiguous, vectorizable
                            let (first, count) = plan.bounds[o], w = plan.coefficients.baseAddress! + o &* plan.taps
                            acc.update(repeating: ResamplePlan.half)
                            for t in 0..<count {
                                let row = src.baseAddress! + (first &+ t) &* rowLength, weight = w[t]
                                for i in 0..<rowLength { acc[i] &+= Int32(row[i]) &* weight }
                            }
                            let outRow = dst.baseAddress! + o &* rowLength
                            for i in 0..<rowLength { outRow[i] = ResamplePlan.clip(acc[i]) }
                        }
                    }
                }
            }
            image = PNGImage(width: newWidth, height: newHeight, channels: channels, pixels: out)
        }
        return image
    }

    /// The centered `n` x `n` window as torchvision's `CenterCrop(n)` takes it: top `round((h - n) / 2)`
    /// (Python's round, half to even), left likewise; an image smaller than `n` is zero-padded, left/top
    /// getting `(n - w) // 2`.
    public func centerCropped(_ n: Int) -> PNGImage {
        func offset(_ have: Int) -> Int {
            have >= n ? Int((Double(have - n) / 2).rounded(.toNearestOrEven)) : -((n - have) / 2)
        }
        let (top, left) = (offset(height), offset(width))
        var out = [UInt8](repeating: 0, count: n * n * channels)
        for y in 0..<n where (0..<height).contains(y + top) {
            for x in 0..<n where (0..<width).contains(x + left) {
                for c in 0..<channels { out[(y * n + x) * channels + c] = pixels[((y + top) * width + x + left) * channels + c] }
            }
        }
        return PNGImage(width: n, height: n, channels: channels, pixels: out)
    }
}

/// PIL's `precompute_coeffs` and `normalize_coeffs_8bpc` for the bilinear filter along one axis.
final class ResamplePlan {
    static let precisionBits: Int32 = 22  // PIL's 32 - 8 - 2: sums of 8-bit samples fit an Int32
    static let half: Int32 = 1 << (precisionBits - 1)
    /// The first source index and the count of taps of each output index.
    let bounds: [(first: Int, count: Int)]
    /// Fixed-point taps, `taps` per output index (zero past each count).
    let coefficients: UnsafeMutableBufferPointer<Int32>
    let taps: Int

    init(from inSize: Int, to outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale  // the bilinear (triangle) filter's support is 1
        let reciprocal = 1.0 / filterScale  // PIL multiplies by the reciprocal: the same rounding
        taps = Int(support.rounded(.up)) * 2 + 1
        coefficients = .allocate(capacity: outSize * taps)
        coefficients.initialize(repeating: 0)
        var bounds: [(Int, Int)] = []
        for o in 0..<outSize {
            let center = (Double(o) + 0.5) * scale
            let first = max(0, Int(center - support + 0.5))
            let count = max(0, min(inSize, Int(center + support + 0.5)) - first)
            var weights = (0..<count).map { k -> Double in
                let x = abs((Double(k + first) - center + 0.5) * reciprocal)
                return x < 1 ? 1 - x : 0
            }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            for (k, w) in weights.enumerated() {
                let fixed = w * Double(1 << ResamplePlan.precisionBits)
                coefficients[o * taps + k] = Int32(w < 0 ? fixed - 0.5 : fixed + 0.5)
            }
            bounds.append((first, count))
        }
        self.bounds = bounds
    }

    deinit { coefficients.deallocate() }

    /// PIL's `clip8`: the rounded fixed-point sum as a byte.
    @inline(__always) static func clip(_ sum: Int32) -> UInt8 {
        sum <= 0 ? 0 : sum >= 256 << precisionBits ? 255 : UInt8(truncatingIfNeeded: sum >> precisionBits)
    }
}
