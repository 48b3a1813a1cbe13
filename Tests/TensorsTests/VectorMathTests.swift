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
}
