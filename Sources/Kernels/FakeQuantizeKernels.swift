/// The activation quantizer's fake quantization with QDrop, `keep ? s·round(clamp(x/s, lower, upper)) : x`, in one
/// pass forward and one backward (the composed ops, divide, clamp, round, multiply and select, took five forward and
/// five backward). Every step is the composed ops' own float operation; the naive twin is that composition
/// (Tests/TensorsTests/SoftQuantizerTests.swift).
extension QuantizerKernels {
    /// The quantizer's grid: step `s` and integer bounds.
    public struct Grid: Sendable {
        public var step: Float, lower: Float, upper: Float
        public init(step: Float, lower: Float, upper: Float) { (self.step, self.lower, self.upper) = (step, lower, upper) }
    }

    /// `out[i] = keep[i] ≠ 0 ? s·round(clamp(x[i]/s)) : x[i]` for `i < count` (every element quantized without
    /// `keep`), rounding half to even.
    public static func fakeQuantize(_ x: FloatBuffer, keep: FloatBuffer?, grid: Grid, into out: FloatBuffer, count: Int) {
        let xp = x.pointer, kp = keep?.pointer, op = out.pointer
        withExtendedLifetime((x, keep, out)) {
            parallelChunks((count + tile - 1) / tile, costPerItem: tile * 2) { r in
                for k in r {
                    let lo = k &* tile, end = lo &+ Swift.min(tile, count &- lo)
                    for i in stride(from: lo, to: end, by: 8) {
                        let xv = load8(xp, i, end), q = rounded(clamp(xv / grid.step, grid.lower, grid.upper)) * grid.step
                        guard let kp else { store8(q, op, i, end); continue }
                        store8(xv.replacing(with: q, where: load8(kp, i, end) .!= 0), op, i, end)
                    }
                }
            }
        }
    }

    /// The pullback of `fakeQuantize` for the output's gradient `g`: into `inputGradient` (when given) `g` where the
    /// element was kept at full precision or `x/s` lies in [lower, upper] (PyTorch's clamp passes the gradient at the
    /// bounds; the round is straight-through), else 0; returns the step's gradient, the sum over quantized elements of
    /// `g·(round(clamp(x/s)) − x/s)` inside the bounds and `g·bound` outside (LSQ's, without its gradient scale).
    public static func fakeQuantizePullback(gradient: FloatBuffer, x: FloatBuffer, keep: FloatBuffer?, grid: Grid,
                                            inputGradient: FloatBuffer?, count: Int) -> Double {
        let gp = gradient.pointer, xp = x.pointer, kp = keep?.pointer, dp = inputGradient?.pointer
        let pieces = (count + tile - 1) / tile
        var partial = [Double](repeating: 0, count: pieces)
        withExtendedLifetime((gradient, x, keep, inputGradient)) {
            partial.withUnsafeMutableBufferPointer { sums in
                let sums = sums.baseAddress!
                parallelChunks(pieces, costPerItem: tile * 3) { r in
                    for k in r {
                        let lo = k &* tile, end = lo &+ Swift.min(tile, count &- lo)
                        var sum = SIMD8<Float>()
                        for i in stride(from: lo, to: end, by: 8) {
                            let u = load8(xp, i, end) / grid.step, g = load8(gp, i, end), c = clamp(u, grid.lower, grid.upper)
                            let inside = c .== u  // `.>=`, `.<=` and `.&` went lane by lane through memory
                            var dx = SIMD8<Float>().replacing(with: g, where: inside)
                            var ds = g * (rounded(c) - SIMD8<Float>().replacing(with: u, where: inside))
                            if let kp {
                                let quantizedHere = load8(kp, i, end) .!= 0
                                dx = g.replacing(with: dx, where: quantizedHere)
                                ds = SIMD8<Float>().replacing(with: ds, where: quantizedHere)
                            }
                            if let dp { store8(dx, dp, i, end) }
                            sum += ds
                        }
                        sums[k] = Double(sum.sum())
                    }
                }
            }
        }
        return partial.reduce(0, +)
    }

    /// Round half to even as the composed ops' `RoundEven` computes it, for magnitudes below 2²³ (a clamped value's):
    /// adding and subtracting 2²³ rounds.
    @inline(__always)
    static func rounded(_ c: SIMD8<Float>) -> SIMD8<Float> {
        let big = SIMD8<Float>(repeating: 0x1p23), negative = c .< 0
        let m = (c.replacing(with: -c, where: negative) + big) - big
        return m.replacing(with: -m, where: negative)
    }
}
