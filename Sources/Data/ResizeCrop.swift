import Tensors

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
            image = PNGImage(width: newWidth, height: height, channels: channels, pixels: ImageBytes.resampleRows(
                image.pixels, height: height, width: width, channels: channels, bounds: plan.bounds,
                coefficients: plan.coefficients, taps: plan.taps))
        }
        if newHeight != height {
            let plan = ResamplePlan(from: height, to: newHeight)
            image = PNGImage(width: newWidth, height: newHeight, channels: channels, pixels: ImageBytes.resampleColumns(
                image.pixels, rowLength: newWidth * channels, bounds: plan.bounds,
                coefficients: plan.coefficients, taps: plan.taps))
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
    static let precisionBits = ImageBytes.resamplePrecisionBits
    /// The first source index and the count of taps of each output index.
    let bounds: [(first: Int, count: Int)]
    /// Fixed-point taps, `taps` per output index (zero past each count).
    let coefficients: [Int32]
    let taps: Int

    init(from inSize: Int, to outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale  // the bilinear (triangle) filter's support is 1
        let reciprocal = 1.0 / filterScale  // PIL multiplies by the reciprocal: the same rounding
        taps = Int(support.rounded(.up)) * 2 + 1
        var coefficients = [Int32](repeating: 0, count: outSize * taps)
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
        self.coefficients = coefficients
    }
}
