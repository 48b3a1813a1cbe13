import Foundation
import Kernels
import Tensors
import Testing

/// The C loops of `VectorMath` against their naive twins, libm's `expf` and `powf`, in every variant this CPU runs:
/// random values over the whole useful range and the edges (zeros, denormals, overflow, infinities), in lengths that
/// leave vector tails. Errors are counted in ulps of the libm result; the bounds are the measured maxima (4 ulps for
/// the sigmoid, 1 for the power, computed in double) rounded up.
@Suite struct VectorMathTests {
    static let variants = VectorMath.Variant.allCases.filter(\.isSupported)

    /// `|a − b|` in units of `b`'s last place (the smallest denormal's at 0).
    static func ulps(_ a: Float, _ b: Float) -> Float {
        if a == b || (a.isNaN && b.isNaN) { return 0 }
        return abs(a - b) / max(b.ulp, Float.leastNonzeroMagnitude)
    }

    /// The largest error of `fast` against `naive` over `x`, with the value it occurs at.
    static func worst(_ fast: [Float], _ naive: [Float], _ x: [Float]) -> (ulps: Float, at: Float) {
        zip(zip(fast, naive).map(ulps), x).max { $0.0 < $1.0 }.map { (ulps: $0.0, at: $0.1) } ?? (0, 0)
    }

    @Test func theBestVariantIsTheWidestSupported() {
        #expect(VectorMath.best.isSupported && VectorMath.Variant.baseline.isSupported)
        #expect(Self.variants.allSatisfy { $0.rawValue <= VectorMath.best.rawValue })
    }

    @Test(arguments: variants)
    func sigmoidIsWithinFiveUlpsOfLibm(variant: VectorMath.Variant) {
        var rng = SeededGenerator(seed: 9)
        let edges: [Float] = [0, -0.0, 1e-30, -1e-30, .leastNonzeroMagnitude, 1, -1, 16.6, -16.6, 87.3, -87.3, 88.7,
                              -88.7, -89.5, 103.9, -103.9, 200, -200, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                              .infinity, -.infinity]
        let x = edges + (0..<100_003).map { _ in Float.random(in: -110...110, using: &rng) }
            + (0..<10_000).map { _ in Float.random(in: -3...3, using: &rng) }
        let (fast, naive) = (VectorMath.sigmoid(x, variant: variant), VectorMath.naiveSigmoid(x))
        let (error, at) = Self.worst(fast, naive, x)
        #expect(error <= 5, "\(variant): \(error) ulps at x = \(at)")
        #expect(VectorMath.sigmoid([.nan], variant: variant)[0].isNaN)
        for n in [0, 1, 7, 33] { #expect(VectorMath.sigmoid(Array(x.prefix(n)), variant: variant) == Array(fast.prefix(n))) }
    }

    @Test(arguments: variants, [Float(2), 7.5, 20, 0.5])
    func absPowerIsWithinOneUlpOfLibm(variant: VectorMath.Variant, beta: Float) {
        var rng = SeededGenerator(seed: UInt64(beta * 2))
        let edges: [Float] = [0, -0.0, 1, -1, 0.5, -0.5, 1e-30, .leastNonzeroMagnitude, .leastNormalMagnitude / 3,
                              .leastNormalMagnitude, 0.9999999, 1.0000001, 2, 1e10, .greatestFiniteMagnitude, .infinity,
                              -.infinity]
        // |2h − 1| of the regularizer lies in [0, 1]; values down to 1e-45 and up to 1e38 test the range reduction.
        let x = edges + (0..<50_003).map { _ in Float.random(in: -1...1, using: &rng) }
            + (0..<50_000).map { _ in
                Float(sign: Bool.random(using: &rng) ? .minus : .plus, exponent: Int.random(in: -149...127, using: &rng),
                      significand: Float.random(in: 1..<2, using: &rng))
            }
        let (fast, naive) = (VectorMath.absPower(x, beta, variant: variant), VectorMath.naiveAbsPower(x, beta))
        let (error, at) = Self.worst(fast, naive, x)
        #expect(error <= 1, "\(variant), beta \(beta): \(error) ulps at a = \(at)")
        #expect(fast[0] == 0 && fast[1] == 0 && fast[2] == 1 && fast[3] == 1, "0 and 1 are exact")
        #expect(VectorMath.absPower([.nan], beta, variant: variant)[0].isNaN)
        for n in [0, 1, 7, 33] { #expect(VectorMath.absPower(Array(x.prefix(n)), beta, variant: variant) == Array(fast.prefix(n))) }
    }

    /// Weight rows (zero point, grid 0...levels) and activations (no zero point, a signed grid) at step sizes from
    /// clipping most values to none, as the searches try them. The terms differ by the power's ulp, the sums by their
    /// order (the searches summed in float before; both sums here are double's).
    @Test(arguments: variants)
    func quantizationErrorIsWithinOneMillionthOfTheNaiveSum(variant: VectorMath.Variant) {
        var rng = SeededGenerator(seed: 24)
        for (count, levels, signed) in [(4608, Float(3), false), (27, 15, false), (1, 255, false), (20_000, 7, true), (1030, 1, true)] {
            let x = (0..<count).map { _ in Float.random(in: -1...1, using: &rng) * Float.random(in: 0...1, using: &rng) }
            let (lower, upper): (Float, Float) = signed ? (-(levels + 1) / 2, (levels - 1) / 2) : (0, levels)
            for r: Float in [1, 0.5, 0.13, 0.01] {
                let step = r * 2 / levels, zero: Float = signed ? 0 : ((r / step).rounded(.toNearestOrEven))
                let fast = VectorMath.quantizationError(x[...], step: step, zeroPoint: zero, lower: lower, upper: upper,
                                                        norm: 2.4, variant: variant)
                let naive = VectorMath.naiveQuantizationError(x[...], step: step, zeroPoint: zero, lower: lower, upper: upper, norm: 2.4)
                #expect(abs(fast - naive) <= 1e-6 * naive, "\(variant), \(count) values, levels \(levels), r \(r): \(fast) vs \(naive)")
            }
        }
        // Exact terms at norm 1 on the grid −1, 0, 1, 2 (step 1, zero point 1, codes 0...3), clamped at both ends.
        let x: [Float] = [0.25, 1.75, 0.625, 7, -1.25, -3]
        let terms = x.map { VectorMath.quantizationError([$0][...], step: 1, zeroPoint: 1, lower: 0, upper: 3, norm: 1, variant: variant) }
        #expect(terms == [0.25, 0.25, 0.375, 5, 0.25, 2])
    }

    /// Adam's C loop in each variant, in place and into fresh buffers, against PyTorch's rule for one scalar at a time
    /// (as in OptimizerStepTests), bit for bit: the loop fuses no product into a sum.
    @Test(arguments: variants, [false, true])
    func adamVariantGivesTheScalarRulesBits(variant: VectorMath.Variant, inPlace: Bool) {
        var rng = SeededGenerator(seed: 11)
        let count = 50_003, (lr, b1, b2, eps, wd, t): (Float, Float, Float, Float, Float, Int) = (0.01, 0.9, 0.999, 1e-8, 0.01, 3)
        let (p, g, m) = ((0..<count).map { _ in Float.random(in: -1...1, using: &rng) },
                         (0..<count).map { _ in Float.random(in: -1...1, using: &rng) },
                         (0..<count).map { _ in Float.random(in: -0.1...0.1, using: &rng) })
        let v = (0..<count).map { _ in Float.random(in: 0...0.01, using: &rng) }
        let inputs = [p, g, m, v].map(FloatBuffer.init)
        let outputs = inPlace ? [inputs[0], inputs[2], inputs[3]] : (0..<3).map { _ in FloatBuffer(capacity: count) }
        OptimizerKernels.adam(parameter: inputs[0], gradient: inputs[1], firstMoment: inputs[2], secondMoment: inputs[3],
                              newParameter: outputs[0], newFirstMoment: outputs[1], newSecondMoment: outputs[2], count: count,
                              learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd, step: t, variant: variant)
        let bias1 = 1 - powf(b1, Float(t)), bias2 = 1 - powf(b2, Float(t))
        var naive = (p: p, m: m, v: v)
        for i in 0..<count {
            let d = g[i] + wd * p[i]
            naive.m[i] = b1 * m[i] + (1 - b1) * d
            naive.v[i] = b2 * v[i] + (1 - b2) * d * d
            naive.p[i] = p[i] - (lr / bias1) * naive.m[i] / (naive.v[i].squareRoot() / bias2.squareRoot() + eps)
        }
        #expect(outputs.map { $0.scalars(count: count) } == [naive.p, naive.m, naive.v], "\(variant)")
    }
}
