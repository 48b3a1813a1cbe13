import Genie
import NN
import Testing
import Tensors

/// The fused soft weight quantizer and rounding regularizer against their naive twins, the same formulas composed of
/// elementwise tensor ops: values and gradients over shapes, bit widths and betas, with channels whose weights are all
/// equal (a zero channel, a constant one) and softbits spread wide enough to reach every clamp.
@Suite struct FusedQuantizerTests {
    /// A quantizer of a random weight of `shape` with channel 0 all zero and channel 1 constant, its softbits and step
    /// sizes moved off their initial values (some softbits far past the rectified sigmoid's flat ends).
    static func quantizer(_ shape: [Int], bits: Int, seed: UInt64) -> WeightQuantizer {
        var rng = SeededGenerator(seed: seed)
        var w = Tensor.randomNormal(shape, std: 0.2, using: &rng).scalars
        let row = w.count / shape[0]
        for i in 0..<row { w[i] = 0; w[row + i] = 0.37 }
        let q = WeightQuantizer(weight: Tensor(shape: shape, scalars: w), bits: bits)
        q.soft = true
        q.softbits.value = q.softbits.value + Tensor.randomNormal(shape, std: 3, using: &rng)
        q.scale.value = q.scale.value * Tensor.randomUniform(q.scale.value.shape, lower: 0.5, upper: 1.5, using: &rng)
        return q
    }

    static let shapes = [[6, 3, 3, 3], [4, 40, 1, 1], [10, 24], [3, 1, 1, 1]]

    @Test(arguments: shapes, [2, 4, 8])
    func softWeightAndItsGradientsEqualTheComposedOps(shape: [Int], bits: Int) {
        let q = Self.quantizer(shape, bits: bits, seed: UInt64(bits * 100 + shape.count))
        var rng = SeededGenerator(seed: 7)
        let probe = Tensor.randomNormal(shape, using: &rng)
        let (fused, dFused) = valueAndGradients(of: [q.softbits, q.scale]) { (q() * probe).sum() }
        let (composed, dComposed) = valueAndGradients(of: [q.softbits, q.scale]) { (q.composedSoftWeight() * probe).sum() }
        // No longer the same bits: the fused sigmoid is VectorMath's, within a few ulp of the composed ops' libm expf.
        let weight = q.composedSoftWeight(), softbitScale = dComposed[0].scalars.map(abs).max()!
        #expect(maxAbsDifference(q(), weight) <= 1e-5 * max(weight.scalars.map(abs).max()!, 1e-3), "weight")
        #expect(maxAbsDifference(dFused[0], dComposed[0]) <= 1e-5 * max(softbitScale, 1e-3), "softbit gradient")
        #expect(abs(fused.item - composed.item) <= 1e-5 * max(1, abs(composed.item)))
        // The step-size gradient is a per-channel sum, added up in another order.
        let scale = dComposed[1].scalars.map(abs).max()!
        #expect(maxAbsDifference(dFused[1], dComposed[1]) <= 1e-5 * max(scale, 1e-3), "step-size gradient \(dFused[1]) vs \(dComposed[1])")
        #expect(dComposed[0].scalars.contains(0) && dComposed[0].scalars.contains { $0 != 0 }, "the clamps should both pass and stop gradients")
    }

    @Test(arguments: shapes, [Float(20), 7.5, 2])
    func roundingLossAndItsGradientEqualTheComposedOps(shape: [Int], beta: Float) {
        let q = Self.quantizer(shape, bits: 2, seed: UInt64(beta * 10))
        for weight: Float in [1, 0.25] {
            let (fused, dFused) = valueAndGradients(of: [q.softbits]) { q.roundingLoss(beta: beta) * weight }
            let (composed, dComposed) = valueAndGradients(of: [q.softbits]) { q.composedRoundingLoss(beta: beta) * weight }
            #expect(abs(fused.item - composed.item) <= 1e-5 * max(1, abs(composed.item)), "value \(fused.item) vs \(composed.item)")
            // The fused gradient of |u|^β is β·|u|^β/|u| where the composed ops call powf for β·|u|^(β−1): float rounding.
            let largest = dComposed[0].scalars.map(abs).max()!
            #expect(maxAbsDifference(dFused[0], dComposed[0]) <= 1e-5 * max(largest, 1e-3), "beta \(beta), weight \(weight)")
        }
    }

    @Test func hardWeightIgnoresTheFusedPath() {
        let q = Self.quantizer([4, 2, 3, 3], bits: 4, seed: 3)
        q.soft = false
        let codes = q.codes
        #expect(q().scalars == (q.scale.value * (codes - q.zeroPoint)).scalars)
    }
}
