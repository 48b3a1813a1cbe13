import Kernels
#if canImport(Glibc)
import Glibc
#endif

extension Tensor {
    /// `f(self, other)` with broadcasting; fast paths for equal shapes, scalars and per-channel vectors
    /// (in either layout), a strided loop otherwise.
    @inline(__always)
    func binary<F: BinaryFunction>(_ other: Tensor, _ f: F) -> Tensor {
        let a = self, b = other
        if a.shape == b.shape {
            let bb = b.converted(to: a.layout)
            let out = Tensor(uninitializedShape: a.shape, layout: a.layout)
            Loops.zip(a.buffer, bb.buffer, out.buffer, a.count, f)
            return out
        }
        let shape = broadcastShape(a.shape, b.shape)
        if b.count == 1 && shape == a.shape {
            let out = Tensor(uninitializedShape: shape, layout: a.layout)
            Loops.map(a.buffer, out.buffer, a.count, BindRight(f: f, s: b.item))
            return out
        }
        if a.count == 1 && shape == b.shape {
            let out = Tensor(uninitializedShape: shape, layout: b.layout)
            Loops.map(b.buffer, out.buffer, b.count, BindLeft(f: f, s: a.item))
            return out
        }
        // A per-channel vector ([1,C,1,1], [C,1,1], [D0,1,...]) stores its channels in order in either layout.
        if let s = a.channelGeometry(forVector: b.shape) {
            let out = Tensor(uninitializedShape: shape, layout: a.layout)
            Loops.channelZip(a.buffer, b.buffer, out.buffer, batch: s.batch, channels: s.channels, spatial: s.spatial,
                             inner: s.inner, f)
            return out
        }
        if let s = b.channelGeometry(forVector: a.shape) {
            let out = Tensor(uninitializedShape: shape, layout: b.layout)
            Loops.channelZip(b.buffer, a.buffer, out.buffer, batch: s.batch, channels: s.channels, spatial: s.spatial,
                             inner: s.inner, Flipped(f: f))
            return out
        }
        let pa = a.converted(to: .plain), pb = b.converted(to: .plain)
        let out = Tensor(uninitializedShape: shape)
        BroadcastKernels.zip(pa.buffer, pb.buffer, out.buffer, shape: shape,
                             strides: (broadcastStrides(a.shape, to: shape), broadcastStrides(b.shape, to: shape)), f)
        return out
    }

    /// `f(self)` elementwise, layout kept, without graph.
    @inline(__always)
    func mapped<F: UnaryFunction>(_ f: F) -> Tensor {
        let out = Tensor(uninitializedShape: shape, layout: layout)
        Loops.map(buffer, out.buffer, count, f)
        return out
    }

    /// `f(self)` elementwise, layout kept, with the constant derivative `slope`.
    @inline(__always)
    func unary<F: UnaryFunction>(_ f: F, slope: Float) -> Tensor {
        let shape = self.shape, layout = self.layout
        return mapped(f).recording([self]) { g, _ in
            switch slope {
            case 1: return [g]
            case 0: return [Tensor(repeating: 0, shape: shape, layout: layout)]
            default: return [g.mapped(BindRight(f: Multiply(), s: slope))]
            }
        }
    }

    /// `f(self)` elementwise, layout kept, with the input gradient `gradient(g, x)` for input `x`.
    @inline(__always)
    func unary<F: UnaryFunction, G: BinaryFunction>(_ f: F, gradientFromInput gradient: G) -> Tensor {
        let x = self
        return mapped(f).recording([self]) { g, _ in [g.zipped(x, gradient)] }
    }

    /// `f(self)` elementwise, layout kept, with the input gradient `gradient(g, y)` for output `y`.
    @inline(__always)
    func unary<F: UnaryFunction, G: BinaryFunction>(_ f: F, gradientFromOutput gradient: G) -> Tensor {
        let out = mapped(f)
        return out.recording([self]) { g, _ in [g.zipped(out, gradient)] }
    }

    /// `f(self, other)` elementwise for equal shapes, in `other`'s layout, without graph.
    @inline(__always)
    func zipped<F: BinaryFunction>(_ other: Tensor, _ f: F) -> Tensor {
        let a = converted(to: other.layout)
        let out = Tensor(uninitializedShape: other.shape, layout: other.layout)
        Loops.zip(a.buffer, other.buffer, out.buffer, count, f)
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        a.binary(b, Add()).recording([a, b]) { g, need in
            [need[0] ? g.sum(toShape: a.shape) : nil, need[1] ? g.sum(toShape: b.shape) : nil]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        a.binary(b, Subtract()).recording([a, b]) { g, need in
            [need[0] ? g.sum(toShape: a.shape) : nil, need[1] ? -g.sum(toShape: b.shape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        a.binary(b, Multiply()).recording([a, b]) { g, need in
            [need[0] ? productSum(g, b, toShape: a.shape) : nil, need[1] ? productSum(g, a, toShape: b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        a.binary(b, Divide()).recording([a, b]) { g, need in
            let db: Tensor? = !need[1] ? nil : a.shape == b.shape
                ? g.zipped3(a, b, QuotientDivisorGradient())
                : -productSum(g, a, toShape: b.shape) / (b * b)
            return [need[0] ? (g / b).sum(toShape: a.shape) : nil, db]
        }
    }

    /// `(g * x).sum(toShape: target)`, the gradient of a factor of shape `target`; in one pass without
    /// the product tensor when `x` has `g`'s shape and `target` is a scalar or per-channel shape.
    static func productSum(_ g: Tensor, _ x: Tensor, toShape target: [Int]) -> Tensor {
        guard target != g.shape && x.shape == g.shape else { return (g * x).sum(toShape: target) }
        if target.reduce(1, *) == 1 {
            let xx = x.converted(to: g.layout)
            return Tensor(shape: target, scalars: [Float(Loops.dot(g.buffer, xx.buffer, g.count))])
        }
        let gg = Tensor.isChannelVector(target, for: g.shape) ? g : g.converted(to: .plain)
        guard let s = gg.channelGeometry(forVector: target) else { return (g * x).sum(toShape: target) }
        let xx = x.converted(to: gg.layout)
        let dots = BatchNormKernels.dotSums(gg.buffer, xx.buffer, s, center: [Float](repeating: 0, count: s.channels)).dots
        var sums = [Double](repeating: 0, count: s.channels)
        for n in 0..<s.batch {
            for c in 0..<s.channels { sums[c] += Double(dots[n * s.channels + c]) }
        }
        return Tensor(shape: target, scalars: sums.map { Float($0) })
    }

    /// `f(self, b, c)` elementwise for equal shapes, in `c`'s layout, without graph.
    func zipped3<F: TernaryFunction>(_ b: Tensor, _ c: Tensor, _ f: F) -> Tensor {
        let a = converted(to: c.layout), b = b.converted(to: c.layout)
        let out = Tensor(uninitializedShape: c.shape, layout: c.layout)
        Loops.zip3(a.buffer, b.buffer, c.buffer, out.buffer, count, f)
        return out
    }

    public static prefix func - (a: Tensor) -> Tensor { a.unary(Negate(), slope: -1) }

    public static func + (a: Tensor, s: Float) -> Tensor { a.unary(BindRight(f: Add(), s: s), slope: 1) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.unary(BindRight(f: Subtract(), s: s), slope: 1) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.unary(BindRight(f: Multiply(), s: s), slope: s) }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func - (s: Float, a: Tensor) -> Tensor { a.unary(BindLeft(f: Subtract(), s: s), slope: -1) }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static func / (s: Float, a: Tensor) -> Tensor {
        a.unary(BindLeft(f: Divide(), s: s), gradientFromOutput: ReciprocalGradient(s: s))
    }

    /// Elementwise `e^x`.
    public func exp() -> Tensor { unary(Exp(), gradientFromOutput: Multiply()) }
    /// Elementwise natural logarithm.
    public func log() -> Tensor { unary(Log(), gradientFromInput: Divide()) }
    /// Elementwise square root.
    public func sqrt() -> Tensor { unary(SquareRoot(), gradientFromOutput: SquareRootGradient()) }
    /// Elementwise `x * x`.
    public func squared() -> Tensor { unary(Square(), gradientFromInput: SquareGradient()) }
    /// Elementwise absolute value (gradient 0 at 0, as PyTorch's sign).
    public func abs() -> Tensor { unary(Absolute(), gradientFromInput: AbsoluteGradient()) }
    /// Elementwise `x^p` for a scalar exponent (PyTorch's `pow`).
    public func pow(_ p: Float) -> Tensor { unary(Power(p: p), gradientFromInput: PowerGradient(p: p)) }

    /// Elementwise `max(x, 0)`.
    public func relu() -> Tensor { unary(Relu(), gradientFromInput: ReluGradient()) }
    /// Elementwise `min(max(x, 0), 6)`.
    public func relu6() -> Tensor {
        unary(Clamp(lower: 0, upper: 6), gradientFromInput: PassBetween(lower: 0, upper: 6, inclusive: false))
    }
    /// Elementwise `x` for positive `x`, `slope * x` otherwise.
    public func leakyRelu(slope: Float = 0.01) -> Tensor {
        unary(LeakyRelu(slope: slope), gradientFromInput: LeakyReluGradient(slope: slope))
    }
    /// Elementwise hyperbolic tangent.
    public func tanh() -> Tensor { unary(Tanh(), gradientFromOutput: TanhGradient()) }
    /// Elementwise logistic sigmoid.
    public func sigmoid() -> Tensor { unary(Sigmoid(), gradientFromOutput: SigmoidGradient()) }

    /// Elementwise clamp to `[lower, upper]`; gradient 1 inside, 0 where clamped (PyTorch's).
    public func clamped(_ lower: Float, _ upper: Float) -> Tensor {
        unary(Clamp(lower: lower, upper: upper), gradientFromInput: PassBetween(lower: lower, upper: upper, inclusive: true))
    }

    /// Round half to even (PyTorch's `round`); gradient zero.
    public func rounded() -> Tensor { unary(RoundEven(), slope: 0) }
    /// Round half to even with a straight-through gradient of 1.
    public func roundedSTE() -> Tensor { unary(RoundEven(), slope: 1) }
    /// Floor; gradient zero.
    public func floored() -> Tensor { unary(Floor(), slope: 0) }
    /// Floor with a straight-through gradient of 1.
    public func flooredSTE() -> Tensor { unary(Floor(), slope: 1) }

    /// Elementwise `mask != 0 ? a : b` (PyTorch's `torch.where`); `mask` is a constant of the same shape.
    public static func select(_ mask: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(mask.shape == a.shape && a.shape == b.shape,
                     "select needs equal shapes, got mask \(mask.shape), \(a.shape), \(b.shape)")
        let m = mask.converted(to: a.layout), bb = b.converted(to: a.layout)
        let out = Tensor(uninitializedShape: a.shape, layout: a.layout)
        Loops.zip3(m.buffer, a.buffer, bb.buffer, out.buffer, a.count, Select())
        return out.recording([a, b]) { g, need in
            [need[0] ? mask.zipped(g, Masked(whereZero: false)) : nil, need[1] ? mask.zipped(g, Masked(whereZero: true)) : nil]
        }
    }
}
