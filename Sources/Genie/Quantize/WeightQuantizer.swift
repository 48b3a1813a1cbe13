#if canImport(Glibc)
import Glibc
#endif
import NN
import Tensors

/// AdaRound's rectified sigmoid h(V) = clamp(sigmoid(V)·(ζ−γ) + γ, 0, 1) with ζ = 1.1, γ = −0.1.
public enum RectifiedSigmoid {
    public static let zeta: Float = 1.1, gamma: Float = -0.1

    /// h(V), differentiable.
    public static func forward(_ v: Tensor) -> Tensor {
        (v.sigmoid() * (zeta - gamma) + gamma).clamped(0, 1)
    }

    /// h⁻¹(r) = −ln((ζ−γ)/(r−γ) − 1), so that h(h⁻¹(r)) = r for r in [0, 1).
    public static func inverse(_ r: Float) -> Float { -logf((zeta - gamma) / (r - gamma) - 1) }
}

/// The p-norm GENIE's step-size searches minimize: mean |x − Q(x)|^2.4.
let searchNorm: Float = 2.4

/// GENIE-M's per-output-channel asymmetric weight quantizer (docs/METHOD.md, "The weight quantizer"):
/// `W̃ = s · (clamp(B + h(V) + z, 0, 2^b − 1) − z)` with the integer base `B = ⌊W / s₀⌋` and the zero
/// point `z` frozen at initialization, and the step size `s` and the softbits `V` both learnable.
public final class WeightQuantizer {
    public let bits: Int
    /// The learned per-channel step size, shape `[O, 1, ...]` (broadcasts against the weight).
    public let scale: Parameter
    /// The softbits, shape of the weight.
    public let softbits: Parameter
    /// ⌊W / s₀⌋, frozen.
    public let base: Tensor
    /// The per-channel zero point, frozen, shape `[O, 1, ...]`.
    public let zeroPoint: Tensor
    /// Soft (training: h(V)) or hard (1[V ≥ 0]) rounding.
    public var soft = false

    /// Initializes s₀ and z per channel by the Lp(2.4) search over 100 clipping ratios, then B and V₀.
    public init(weight: Tensor, bits: Int) {
        precondition((2...8).contains(bits), "weight bits must be in 2...8, got \(bits)")
        self.bits = bits
        let w = weight.converted(to: .plain)
        let channels = w.shape[0], perChannel = w.count / channels
        let levels = Float((1 << bits) - 1)
        let values = w.scalars
        let found = parallelMap(channels, costPerItem: perChannel * 100) { c in
            WeightQuantizer.search(values[(c * perChannel)..<((c + 1) * perChannel)], levels: levels)
        }
        let shape = [channels] + Array(repeating: 1, count: w.rank - 1)
        let s0 = Tensor(shape: shape, scalars: found.map(\.0))
        zeroPoint = Tensor(shape: shape, scalars: found.map(\.1))
        let ratio = withoutGradients { w / s0 }
        base = ratio.floored()
        let remainder = (ratio - base).scalars.map { RectifiedSigmoid.inverse(min(max($0, 0), 0.9999999)) }
        softbits = Parameter(Tensor(shape: w.shape, scalars: remainder))
        scale = Parameter(s0)
    }

    /// A hard quantizer restored from stored integer codes (a quantized-model file): W = s · (codes − z).
    public init(codes: Tensor, scale: Tensor, zeroPoint: Tensor, bits: Int) {
        self.bits = bits
        self.scale = Parameter(scale)
        self.zeroPoint = zeroPoint
        base = codes - zeroPoint
        softbits = Parameter(Tensor(repeating: -1, shape: codes.shape))  // 1[V ≥ 0] = 0: the codes as stored
    }

    /// The (s₀, z) minimizing mean |w − Q(w)|^2.4 over r = 1.00, 0.99, …, 0.01 for one channel.
    static func search(_ row: ArraySlice<Float>, levels: Float) -> (Float, Float) {
        var wmax = row.max() ?? 0, wmin = row.min() ?? 0
        if wmax - wmin <= 0 { wmax = max(wmax, 0); wmin = min(wmin, 0) }
        // An all-zero channel has no range: any step size represents it exactly.
        guard wmax - wmin > 0 else { return (1, 0) }
        // A range past Float's largest is split; one too small for a normal step size quantizes to 0 at step 1.
        let finite = (wmax - wmin).isFinite
        let step = { (r: Float) in finite ? r * (wmax - wmin) / levels : r * (wmax / levels - wmin / levels) }
        guard step(1).isNormal else { return (1, 0) }
        // Min-max (r = 1) stays the answer if every error overflows (weights near Float's largest).
        var best = (Float.infinity, step(1), (-wmin / step(1)).rounded(.toNearestOrEven))
        for i in 0..<100 {
            let r = Float(100 - i) / 100
            let s = step(r)
            guard s.isNormal else { continue }
            let z = (-r * wmin / s).rounded(.toNearestOrEven)
            let err = quantizationError(row, step: s, zeroPoint: z, lower: 0, upper: levels, norm: searchNorm)
            if err < best.0 { best = (err, s, z) }
        }
        return (best.1, best.2)
    }

    /// The integer codes the hard quantizer stores: clamp(B + 1[V ≥ 0] + z, 0, 2^b − 1).
    public var codes: Tensor {
        withoutGradients { hardIntegers() }
    }

    /// The hard integers and the softbits tensor they were computed from.
    private var hardCache: (softbits: Tensor, integers: Tensor)?

    private func hardIntegers() -> Tensor {
        let key = softbits.value
        if let hardCache, hardCache.softbits.sharesStorage(with: key) { return hardCache.integers }
        let up = Tensor(shape: softbits.value.shape, scalars: softbits.value.scalars.map { $0 >= 0 ? 1 : 0 })
        let integers = (base + up + zeroPoint).clamped(0, levels)
        hardCache = (key, integers)
        return integers
    }

    /// The largest integer code, 2^b − 1.
    private var levels: Float { Float((1 << bits) - 1) }

    /// The quantized weight: soft (differentiable in s and V, one fused pass) or hard (differentiable in s).
    public func callAsFunction() -> Tensor {
        guard soft else { return scale.value * (withoutGradients { hardIntegers() } - zeroPoint) }
        return Tensor.softQuantizedWeight(softbits: softbits.value, base: base, scale: scale.value, zeroPoint: zeroPoint,
                                          levels: levels, zeta: RectifiedSigmoid.zeta, gamma: RectifiedSigmoid.gamma)
    }

    /// AdaRound's regularizer Σ (1 − |2h(V) − 1|^β), pushing every softbit to 0 or 1 (value and gradient in one pass).
    public func roundingLoss(beta: Float) -> Tensor {
        Tensor.roundingRegularizer(softbits: softbits.value, beta: beta, zeta: RectifiedSigmoid.zeta, gamma: RectifiedSigmoid.gamma)
    }

    /// The soft quantized weight composed of elementwise tensor ops: the naive twin the fused `callAsFunction` is tested
    /// against.
    public func composedSoftWeight() -> Tensor {
        scale.value * ((base + RectifiedSigmoid.forward(softbits.value) + zeroPoint).clamped(0, levels) - zeroPoint)
    }

    /// `roundingLoss(beta:)` composed of elementwise tensor ops: its naive twin.
    public func composedRoundingLoss(beta: Float) -> Tensor {
        (1 - (RectifiedSigmoid.forward(softbits.value) * 2 - 1).abs().pow(beta)).sum()
    }

    /// The hard quantizer of the weight `a[o] · W[o]` (one factor per output channel) with every step size
    /// positive: step size `|a·s|`, and where `a·s < 0` the codes and the zero point mirrored (`q → 2^b − 1 − q`,
    /// `z → 2^b − 1 − z`), since `s·(q − z) = (−s)·((2^b − 1 − q) − (2^b − 1 − z))`. With `a = 1` the weight is
    /// unchanged bit for bit.
    public func scaled(by a: [Double]) -> WeightQuantizer {
        let channels = scale.value.count, shape = softbits.value.shape, perChannel = shape.reduce(1, *) / channels
        var codes = self.codes.scalars, zero = zeroPoint.scalars, step = scale.value.scalars
        for o in 0..<channels {
            let product = a[o] * Double(step[o])
            step[o] = Float(Swift.abs(product))
            if product < 0 {
                zero[o] = levels - zero[o]
                for i in (o * perChannel)..<((o + 1) * perChannel) { codes[i] = levels - codes[i] }
            }
        }
        return WeightQuantizer(codes: Tensor(shape: shape, scalars: codes), scale: Tensor(shape: scale.value.shape, scalars: step),
                               zeroPoint: Tensor(shape: zeroPoint.shape, scalars: zero), bits: bits)
    }

    /// What makes the quantizer unfit for a quantized-model file, if anything: the first channel whose step
    /// size is not positive and finite, or whose zero point is not a finite integer. The one definition of
    /// validity, for the file's writer and its reader alike (the codes are clamped to `0...2^b − 1` by
    /// construction).
    public var invalidity: String? {
        for (o, (s, z)) in zip(scale.value.scalars, zeroPoint.scalars).enumerated() {
            guard s.isFinite, s > 0 else { return "channel \(o): step size \(s) is not positive and finite" }
            guard z.isFinite, z == z.rounded() else { return "channel \(o): zero point \(z) is not an integer" }
        }
        return nil
    }
}
