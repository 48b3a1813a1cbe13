import NN
import Tensors

/// GENIE-M's activation quantizer (docs/METHOD.md, "The activation quantizer"): per-tensor, symmetric, one learnable
/// step size (LSQ forward with a plain straight-through round, no gradient scale), signed or unsigned decided from the
/// first tensor it sees, and QDrop: in training mode each element keeps its full-precision value with probability `dropProbability` (GENIE's 1/2).
public final class ActivationQuantizer {
    public let bits: Int
    /// The learned step size; nil until the first tensor initializes it.
    public private(set) var scale: Parameter?
    /// Whether the grid is [−2^(b−1), 2^(b−1)−1] (signed) or [0, 2^b−1].
    public private(set) var signed = false
    /// QDrop mode (reconstruction of the unit containing it); hard quantization otherwise.
    public var training = false
    /// In QDrop mode, the probability that an element keeps its full-precision value (0: always quantized).
    public var dropProbability: Float = 0.5
    /// QDrop masks used, in call order, before any is drawn (1 where the quantized value is taken), so that a
    /// test can replay a reference implementation's masks. Empty in normal use.
    public var presetMasks: [Tensor] = []
    private var rng: SeededGenerator

    public init(bits: Int, seed: UInt64) {
        precondition((2...8).contains(bits), "activation bits must be in 2...8, got \(bits)")
        self.bits = bits
        rng = SeededGenerator(seed: seed)
    }

    /// Restores a quantizer from stored values (a quantized-model file).
    public init(bits: Int, scale: Float, signed: Bool) {
        self.bits = bits
        self.scale = Parameter(Tensor(scale))
        self.signed = signed
        rng = SeededGenerator(seed: 0)
    }

    /// What makes the quantizer unfit for a quantized-model file, if anything: a step size that is not positive
    /// and finite. The one rule for the file's writer and its reader (as `WeightQuantizer.invalidity`).
    public var invalidity: String? {
        guard let s = scale?.value.item, !(s.isFinite && s > 0) else { return nil }
        return "activation step size \(s) is not positive and finite"
    }

    /// Restarts the QDrop mask stream.
    public func reseed(_ seed: UInt64) { rng = SeededGenerator(seed: seed) }

    /// The integer range (Qn, Qp).
    public var range: (lower: Float, upper: Float) {
        signed ? (-Float(1 << (bits - 1)), Float((1 << (bits - 1)) - 1)) : (0, Float((1 << bits) - 1))
    }

    /// Sets `signed` from `x` and the step size by the Lp(2.4) search over 100 clipping ratios of max|x|.
    public func initialize(from x: Tensor) {
        let values = x.scalars
        signed = (values.min() ?? 0) < 0
        let maxAbs = values.map(abs).max() ?? 0
        let levels = Float((1 << bits) - 1), (qn, qp) = range
        let factor: Float = signed ? 2 : 1, unit = factor * maxAbs / levels
        let step = { (i: Int) in factor * (Float(100 - i) / 100) * maxAbs / levels }
        // Zeros (half of a ReLU output) quantize exactly and add nothing to an error: leave them out.
        let nonzero = values.filter { $0 != 0 }
        let errors = parallelMap(100, costPerItem: nonzero.count) { i -> Float in
            let s = step(i)
            guard s.isNormal else { return .infinity }
            return quantizationError(nonzero[...], step: s, lower: qn, upper: qp, norm: searchNorm)
        }
        // An all-zero (or denormal-only) tensor keeps step 1; min-max stays if every error overflows.
        var best = (Float.infinity, unit.isNormal ? unit : 1)
        for i in 0..<100 where errors[i] < best.0 { best = (errors[i], step(i)) }
        scale = Parameter(Tensor(best.1))
    }

    /// Quantizes `x` (initializing on first use); in training mode mixes in full-precision values (QDrop).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if scale == nil { initialize(from: x.detached()) }
        let s = scale!.value, (qn, qp) = range
        guard training, dropProbability > 0 else { return x.fakeQuantized(step: s, lower: qn, upper: qp) }
        let keep = presetMasks.isEmpty
            ? Tensor.bernoulli(x.shape, probability: 1 - dropProbability, layout: x.layout, using: &rng)
            : presetMasks.removeFirst()
        return x.fakeQuantized(step: s, lower: qn, upper: qp, keep: keep)
    }
}
