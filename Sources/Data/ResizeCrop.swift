extension PNGImage {
    /// The image resized to `height` x `width` as PIL's `Image.resize(size, BILINEAR)` computes it (what
    /// torchvision's `Resize` does to PIL images): a triangle filter widened by the scale when shrinking
    /// (antialiasing), coefficients normalized per output pixel and rounded to 22-bit fixed point, a
    /// horizontal pass to 8 bits, then a vertical pass, each rounding and clipping as PIL's `Resample.c`.
    public func resizedBilinear(height newHeight: Int, width newWidth: Int) -> PNGImage {
        precondition(newHeight > 0 && newWidth > 0, "cannot resize to \(newHeight)x\(newWidth)")
        var image = self
        if newWidth != width {
            let plan = ResamplePlan(from: width, to: newWidth)
            var out = [UInt8](repeating: 0, count: height * newWidth * channels)
            for y in 0..<height {
                plan.apply(image.pixels, base: y * width * channels, step: channels, channels: channels,
                           into: &out, outBase: y * newWidth * channels, outStep: channels)
            }
            image = PNGImage(width: newWidth, height: height, channels: channels, pixels: out)
        }
        if newHeight != height {
            let plan = ResamplePlan(from: height, to: newHeight)
            let row = newWidth * channels
            var out = [UInt8](repeating: 0, count: newHeight * row)
            for i in 0..<row {
                plan.apply(image.pixels, base: i, step: row, channels: 1, into: &out, outBase: i, outStep: row)
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
struct ResamplePlan {
    static let precisionBits = 22  // PIL's 32 - 8 - 2
    /// The first source index and the count of taps of each output index.
    var bounds: [(first: Int, count: Int)] = []
    /// Fixed-point taps, `taps` per output index.
    var coefficients: [Int] = []
    var taps = 0

    init(from inSize: Int, to outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale  // the bilinear (triangle) filter's support is 1
        taps = Int(support.rounded(.up)) * 2 + 1
        coefficients = [Int](repeating: 0, count: outSize * taps)
        for o in 0..<outSize {
            let center = (Double(o) + 0.5) * scale
            let first = max(0, Int(center - support + 0.5))
            let count = min(inSize, Int(center + support + 0.5)) - first
            let reciprocal = 1.0 / filterScale  // PIL multiplies by the reciprocal: the same rounding
            var weights = (0..<max(count, 0)).map { k -> Double in
                let x = abs((Double(k + first) - center + 0.5) * reciprocal)
                return x < 1 ? 1 - x : 0
            }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            for (k, w) in weights.enumerated() {
                let fixed = w * Double(1 << ResamplePlan.precisionBits)
                coefficients[o * taps + k] = Int(w < 0 ? fixed - 0.5 : fixed + 0.5)
            }
            bounds.append((first, max(count, 0)))
        }
    }

    /// Resamples the samples `source[base + i * step + c]` (`c < channels`) into `out[outBase + o * outStep + c]`.
    func apply(_ source: [UInt8], base: Int, step: Int, channels: Int, into out: inout [UInt8], outBase: Int, outStep: Int) {
        let bits = ResamplePlan.precisionBits
        for (o, (first, count)) in bounds.enumerated() {
            for c in 0..<channels {
                var sum = 1 << (bits - 1)
                for k in 0..<count { sum += Int(source[base + (first + k) * step + c]) * coefficients[o * taps + k] }
                out[outBase + o * outStep + c] = sum <= 0 ? 0 : sum >= 256 << bits ? 255 : UInt8(sum >> bits)
            }
        }
    }
}
