import Testing
import Tensors

/// Gradient checks of the fused soft-quantizer ops (their values are tested against the composed ops in
/// Tests/GenieTests/FusedQuantizerTests.swift), and the fused fake quantizer against its composed ops. The points stay off the kinks: softbits with |V| in [0.3, 2] keep the
/// rectified sigmoid inside (0, 1) and away from h = 0.5, and the base keeps B + h + z inside the integer grid.
@Suite struct SoftQuantizerTests {
    var rng = SeededGenerator(seed: 18)
    let zeta: Float = 1.1, gamma: Float = -0.1

    /// Softbits of `shape` with magnitudes in [0.3, 2] and random signs.
    mutating func softbits(_ shape: [Int]) -> Tensor {
        let magnitude = Tensor.randomUniform(shape, lower: 0.3, upper: 2, using: &rng).scalars
        let sign = Tensor.randomUniform(shape, using: &rng).scalars
        return Tensor(shape: shape, scalars: zip(magnitude, sign).map { $1 < 0.5 ? -$0 : $0 })
    }

    @Test(arguments: [[4, 3, 2, 2], [5, 7]])
    mutating func softQuantizedWeightGradientChecks(shape: [Int]) {
        let channel = [shape[0]] + Array(repeating: 1, count: shape.count - 1)
        let v = softbits(shape)
        let base = Tensor.randomUniform(shape, lower: 2, upper: 10, using: &rng).floored()
        let scale = Tensor.randomUniform(channel, lower: 0.05, upper: 0.5, using: &rng)
        let zero = Tensor.randomUniform(channel, lower: 0, upper: 3, using: &rng).floored()
        checkGradients([v, scale]) {
            Tensor.softQuantizedWeight(softbits: $0[0], base: base, scale: $0[1], zeroPoint: zero, levels: 15, zeta: zeta, gamma: gamma)
        }
    }

    @Test(arguments: [Float(2), 3.5])
    mutating func roundingRegularizerGradientChecks(beta: Float) {
        let v = softbits([3, 4, 2])
        checkGradients([v]) { Tensor.roundingRegularizer(softbits: $0[0], beta: beta, zeta: zeta, gamma: gamma) }
        // A loss weight other than 1 scales the gradient computed with the value.
        checkGradients([v]) { Tensor.roundingRegularizer(softbits: $0[0], beta: beta, zeta: zeta, gamma: gamma) * 0.3 }
    }

    /// The fake quantizer's naive twin: the composed ops it fuses.
    static func composedFakeQuantized(_ x: Tensor, step: Tensor, lower: Float, upper: Float, keep: Tensor?) -> Tensor {
        let quantized = (x / step).clamped(lower, upper).roundedSTE() * step
        return keep.map { Tensor.select($0, quantized, x) } ?? quantized
    }

    @Test(arguments: [(Float(-8), Float(7)), (0, 15)])
    mutating func fakeQuantizedEqualsItsComposedOpsInValueAndGradient(lower: Float, upper: Float) {
        // Steps of 0.25 make some x/s land exactly on the bounds and on ties; the rest spread past both bounds.
        let shape = [2, 32, 3, 5], step: Float = 0.25
        let onGrid = Tensor.randomUniform(shape, lower: -12, upper: 20, using: &rng).rounded() * (step / 2)
        let spread = Tensor.randomNormal(shape, std: 3, using: &rng)
        let pick = Tensor.bernoulli(shape, probability: 0.5, using: &rng)
        let x = Tensor.select(pick, onGrid, spread), g = Tensor.randomNormal(shape, using: &rng)
        for layout in bothLayouts {
            for keep in [nil, Tensor.bernoulli(shape, probability: 0.5, layout: layout, using: &rng)] {
                let xl = x.converted(to: layout).requiringGradient(), s = Tensor(step).requiringGradient()
                let fused = xl.fakeQuantized(step: s, lower: lower, upper: upper, keep: keep)
                let composed = Self.composedFakeQuantized(xl, step: s, lower: lower, upper: upper, keep: keep)
                #expect(fused.layout == layout && fused.scalars == composed.scalars, "\(layout), keep \(keep != nil)")
                let (df, dc) = (gradients(of: (fused * g).sum(), wrt: [xl, s]), gradients(of: (composed * g).sum(), wrt: [xl, s]))
                #expect(df[0].scalars == dc[0].scalars, "input gradient, \(layout), keep \(keep != nil)")
                #expect(abs(df[1].item - dc[1].item) <= 1e-4 * max(1, abs(dc[1].item)),
                        "step gradient \(df[1].item) against \(dc[1].item), \(layout), keep \(keep != nil)")
            }
        }
    }
}
